"""Classical forecasts as the recipe uses them: each method on each series of a panel, the
checks the recipe makes before training (which method beats seasonal naive on the training
series' ends) and the seasonal strength it reports. NumPy and the classical libraries only."""

from __future__ import annotations

import logging
import warnings

import numpy as np

from rnncast import baselines, metrics
from rnncast.panel import Panel

log = logging.getLogger(__name__)

COMBINABLE = ("theta", "dotm", "ets", "naive2", "seasonal_naive", "mstl", "ridge_x")
LABELS = {"theta": "Theta", "dotm": "dynamic optimised Theta", "ets": "ETS", "naive2": "Naive2",
          "seasonal_naive": "seasonal naive",
          "mstl": "MSTL", "ridge_x": "the ridge with the future columns"}
SAMPLE = 100  # series the recipe's checks before training look at (spread over the panel)


def spread(n: int, most: int = SAMPLE) -> np.ndarray:
    """Up to ``most`` of ``n`` series' indices, spread evenly from the first to the last: the
    sample the recipe's checks look at."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).astype(int))


def one_forecast(name: str, y: np.ndarray, steps: int, season: int | tuple[int, ...]
                 ) -> np.ndarray:
    """One classical method's forecast of ``y`` (1-D, finite); NaN where it cannot fit.
    ``season``: the season, or the seasons (MSTL reads them all, the others the first)."""
    y = baselines.fitted_part(name, y)
    if len(y) < 4 or np.ptp(y) == 0:  # too little to fit, or a constant: repeat the last value
        return np.full(steps, y[-1] if len(y) else np.nan)
    return _guarded(getattr(baselines, name), name, y, steps, season)


def _guarded(method, name: str, data: np.ndarray, steps: int, season: int | tuple[int, ...]
             ) -> np.ndarray:
    """``method(data, steps, season)`` given the season(s) ``name`` reads, quietly; NaN where
    it cannot fit or gives a value that is not finite."""
    seasons = season if isinstance(season, tuple) else (season,)
    season = seasons if name in baselines.SEASONS else seasons[0] if seasons else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            forecast = np.asarray(method(data, steps, season), dtype=np.float64)
        # statsforecast's ETS raises NotImplementedError on series of 4-6 points
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, IndexError,
                NotImplementedError):
            return np.full(steps, np.nan)
    return forecast if np.isfinite(forecast).all() else np.full(steps, np.nan)


def classical_forecasts(panel: Panel, names: tuple[str, ...], steps: int,
                        season: int | tuple[int, ...], targets: int,
                        ahead: np.ndarray | None = None) -> np.ndarray:
    """``(methods, N, steps, targets)``: each method's forecast of each series' target columns
    from all of its data; NaN where a method cannot forecast a series (too short, no fit).
    ``ahead (N, steps, K)``: the future covariates over the forecast, for a method that reads
    them (:data:`~rnncast.baselines.KNOWN`; their past: the panel's last K columns)."""
    out = np.full((len(names), len(panel), steps, targets), np.nan)
    failed = 0
    for k in range(len(panel)):
        rows = panel.rows(k)
        for j in range(targets):
            y = rows[:, j]
            seen = np.isfinite(y)
            for i, name in enumerate(names):
                out[i, k, :, j] = (known_forecast(name, rows[seen], ahead[k], steps, season)
                                   if name in baselines.KNOWN else
                                   one_forecast(name, y[seen], steps, season))
        failed += bool(np.isnan(out[:, k]).any())
    if failed:
        log.info("a classical forecast failed for %d series; the network's forecast stands alone "
                 "there", failed)
    return out


def known_forecast(name: str, rows: np.ndarray, ahead: np.ndarray, steps: int,
                   season: int | tuple[int, ...]) -> np.ndarray:
    """A method with future covariates (:data:`~rnncast.baselines.KNOWN`): its forecast of the
    first column of ``rows (T, C)`` from it and the last K columns, given their values
    ``ahead (steps, K)``; NaN where it cannot fit."""
    K = ahead.shape[1]
    data = np.r_[np.c_[rows[:, :1], rows[:, -K:]], np.c_[np.full(steps, np.nan), ahead]]
    return _guarded(baselines.WITH_KNOWN[name], name, baselines.fitted_part(name, data), steps,
                    season)


def classical_check(panel: Panel, horizon: int, season: int, methods: tuple[str, ...] = ("theta",),
                    seasons: tuple[int, ...] = (), sample: int = SAMPLE
                    ) -> tuple[dict[str, float], int] | None:
    """Mean MASE of each method and of the seasonal naive forecast on the last ``horizon``
    points of up to ``sample`` series spread over the panel, and how many series that was;
    None when too few series are long enough. ``seasons``: every season, for MSTL."""
    rows = spread(len(panel), sample)
    scores = []
    for k in rows:
        y = panel.rows(k)[:, 0]
        y = y[np.isfinite(y)]
        if len(y) < horizon + max(2 * season, 4) + 1:
            continue
        past, future = y[:-horizon], y[-horizon:]
        forecasts = [one_forecast(name, past, horizon, seasons or season) for name in methods]
        forecasts.append(baselines.seasonal_naive(past, horizon, season))
        row = [metrics.mase(future, f, past, season) for f in forecasts]
        if np.isfinite(row).all():
            scores.append(row)
    if len(scores) < min(len(rows), 5):
        return None
    means = np.mean(scores, axis=0)
    return dict(zip((*methods, "seasonal_naive"), map(float, means), strict=True)), len(scores)


def seasonal_strength(y: np.ndarray, season: int) -> float | None:
    """How much of a series' variation its season explains, from 0 to 1 (Wang, Smith & Hyndman,
    2006): 1 − Var(remainder) / Var(season + remainder) of a robust STL decomposition, on logs
    when the values are positive. None without a season or two full cycles."""
    from statsmodels.tsa.seasonal import STL

    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    if season <= 1 or len(y) < 2 * season + 1 or np.ptp(y) == 0:
        return None
    if (y > 0).all():
        y = np.log(y)
    parts = STL(y, period=season, robust=True).fit()
    both = np.var(parts.seasonal + parts.resid)
    return float(max(0.0, 1 - np.var(parts.resid) / both)) if both > 0 else None


def median_strength(columns: list[np.ndarray], season: int) -> float | None:
    """The median seasonal strength of the series ``columns`` (1-D arrays, a sample such as
    :func:`spread` picks); None without a season or long enough series."""
    strengths = [seasonal_strength(column, season) for column in columns] if season > 1 else []
    strengths = [s for s in strengths if s is not None]
    return float(np.median(strengths)) if strengths else None
