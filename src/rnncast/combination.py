"""The final forecast from the network's: the equal-weight mean with classical forecasts (for
instance Theta), series by series, and zeros where a series has stopped. Combinations of unlike
methods were the most reliable gain of the M3 and M4 competitions; the development collection
agrees (benchmarks/results/)."""

from __future__ import annotations

import logging
import warnings

import numpy as np

from rnncast import baselines
from rnncast.panel import Panel

log = logging.getLogger(__name__)

COMBINABLE = ("theta", "ets", "naive2", "seasonal_naive")


def classical_forecasts(panel: Panel, names: tuple[str, ...], steps: int, season: int,
                        targets: int) -> np.ndarray:
    """``(methods, N, steps, targets)``: each method's forecast of each series' target columns
    from all of its data; NaN where a method cannot forecast a series (too short, no fit)."""
    out = np.full((len(names), len(panel), steps, targets), np.nan)
    failed = 0
    for k in range(len(panel)):
        rows = panel.rows(k)
        for j in range(targets):
            y = rows[:, j]
            y = y[np.isfinite(y)]
            for i, name in enumerate(names):
                out[i, k, :, j] = one_forecast(name, y, steps, season)
        failed += bool(np.isnan(out[:, k]).any())
    if failed:
        log.info("a classical forecast failed for %d series; the network's forecast stands alone "
                 "there", failed)
    return out


def one_forecast(name: str, y: np.ndarray, steps: int, season: int) -> np.ndarray:
    """One classical method's forecast of ``y`` (1-D, finite); NaN where it cannot fit."""
    if len(y) < 4 or np.ptp(y) == 0:  # too little to fit, or a constant: repeat the last value
        return np.full(steps, y[-1] if len(y) else np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            forecast = np.asarray(getattr(baselines, name)(y, steps, season), dtype=np.float64)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, IndexError):
            return np.full(steps, np.nan)
    return forecast if np.isfinite(forecast).all() else np.full(steps, np.nan)


def combined(network: np.ndarray, classical: np.ndarray) -> np.ndarray:
    """The mean of the network's ``(N, h, F)`` forecast and the classical ``(M, N, h', F)`` ones
    over their first ``min(h, h')`` steps (the network alone past them and where one is NaN)."""
    out = network.copy()
    steps = min(network.shape[1], classical.shape[2])
    parts = np.concatenate([network[None, :, :steps], classical[:, :, :steps]], axis=0)
    mean = np.nanmean(parts, axis=0)  # the network is never NaN: no empty slice
    out[:, :steps] = mean
    return out


def zero_tails(panel: Panel, targets: int, run: int) -> np.ndarray:
    """``(N, targets)``: which series' target columns end in at least ``run`` exact zeros (a
    discontinued item, a closed store), whose forecast is then zero as well."""
    values = panel.values[:, :targets]
    position = np.where(values != 0, np.arange(len(values))[:, None], -1)
    last = np.maximum.reduceat(position, panel.offsets[:-1], axis=0)  # last non-zero, or -1
    first = panel.offsets[:-1, None]
    trailing = panel.offsets[1:, None] - np.maximum(last + 1, first)  # zeros at each end
    return trailing >= run


def zero_run(season: int | None) -> int:
    """How many trailing zeros mean a series has stopped: a season, at least 3."""
    return max(season or 1, 3)


def stopped_at_zero(values: np.ndarray, panel: Panel, season: int | None) -> np.ndarray:
    """The forecast ``values (N, h, F)`` with zeros for the series that have stopped."""
    stopped = zero_tails(panel, values.shape[2], zero_run(season))
    return np.where(stopped[:, None, :], 0.0, values)
