"""Forecast accuracy: pure functions on arrays (truth and forecast of the same shape).

sMAPE follows the M3 competition: 200·|y - ŷ| / (|y| + |ŷ|), averaged. MASE scales the mean
absolute error by the in-sample mean absolute error of the seasonal naive forecast.
"""

from __future__ import annotations

import numpy as np


def _pair(y, yhat) -> tuple[np.ndarray, np.ndarray]:
    y, yhat = np.asarray(y, dtype=np.float64), np.asarray(yhat, dtype=np.float64)
    if y.shape != yhat.shape:
        raise ValueError(f"truth and forecast differ in shape: {y.shape} vs {yhat.shape}")
    if y.size == 0:
        raise ValueError("cannot score an empty forecast")
    return y, yhat


def rmse(y, yhat) -> float:
    y, yhat = _pair(y, yhat)
    return float(np.sqrt(np.mean((y - yhat) ** 2)))


def mae(y, yhat) -> float:
    y, yhat = _pair(y, yhat)
    return float(np.mean(np.abs(y - yhat)))


def mape(y, yhat) -> float:
    """Mean absolute percentage error, in percent; NaN when the truth holds a zero."""
    y, yhat = _pair(y, yhat)
    if np.any(y == 0):
        return float("nan")
    return float(100 * np.mean(np.abs((y - yhat) / y)))


def smape(y, yhat) -> float:
    """Symmetric MAPE in percent (M3 definition); a step where both are 0 counts as 0."""
    y, yhat = _pair(y, yhat)
    denom = np.abs(y) + np.abs(yhat)
    ratio = np.divide(2 * np.abs(y - yhat), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * np.mean(ratio))


def mase(y, yhat, insample, season: int = 1) -> float:
    """Mean absolute scaled error against the in-sample seasonal naive (naive if too short)."""
    y, yhat = _pair(y, yhat)
    insample = np.asarray(insample, dtype=np.float64)
    m = season if len(insample) > season else 1
    scale = np.mean(np.abs(insample[m:] - insample[:-m])) if len(insample) > m else np.nan
    if not np.isfinite(scale) or scale == 0:
        return float("nan")
    return float(np.mean(np.abs(y - yhat)) / scale)


def score(y, yhat, insample, season: int = 1) -> dict[str, float]:
    """Every metric at once: ``rmse, mae, mape, smape, mase`` (all NaN for a missing forecast)."""
    if np.isnan(np.asarray(yhat, dtype=np.float64)).any():
        return dict.fromkeys(("rmse", "mae", "mape", "smape", "mase"), float("nan"))
    return {"rmse": rmse(y, yhat), "mae": mae(y, yhat), "mape": mape(y, yhat),
            "smape": smape(y, yhat), "mase": mase(y, yhat, insample, season)}


def season_ends(y, yhat, insample, season: int) -> dict[str, float]:
    """How a forecast of at least one ``season`` starts and ends: the MASE of its first season
    and the mean error of its last one in percent of the truth's mean level there (positive:
    above the truth). A forecast that carries an old growth forward starts well and drifts."""
    y, yhat = _pair(y, yhat)
    if season < 2 or len(y) < season:
        raise ValueError(f"need a season of 2 or more and a forecast that long, got {season} "
                         f"and {len(y)} steps")
    level = np.mean(np.abs(y[-season:]))
    bias = float(100 * np.mean(yhat[-season:] - y[-season:]) / level) if level > 0 else np.nan
    return {"first_season_mase": mase(y[:season], yhat[:season], insample, season),
            "last_season_bias": bias}
