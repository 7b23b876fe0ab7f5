"""The final forecast from the network's: the equal-weight mean with classical forecasts (for
instance Theta), series by series, and zeros where a series has stopped. Combinations of unlike
methods were the most reliable gain of the M3 and M4 competitions; the development collection
agrees (benchmarks/results/)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace

import numpy as np
import torch

from rnncast import baselines, metrics
from rnncast.ensemble import combine
from rnncast.panel import Panel

log = logging.getLogger(__name__)

COMBINABLE = ("theta", "ets", "naive2", "seasonal_naive")
LABELS = {"theta": "Theta", "ets": "ETS", "naive2": "Naive2", "seasonal_naive": "seasonal naive"}
SAMPLE = 100  # series the recipe's checks before training look at (spread over the panel)
JUDGED = 300  # series whose held-out ends judge an automatic combination (spread over the panel)
# how much better the network alone must be there to drop it. Early stopping chose its epochs on
# those same points, which flatters it: on the M3 training parts it looked up to 3% better there
# (yearly 1.151 against 1.187; quarterly 0.838 / 0.846; monthly 0.731 / 0.729) while the
# combination was 2-3% better on the points after them
MARGIN = 0.10


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


def spread(n: int, most: int = SAMPLE) -> np.ndarray:
    """Up to ``most`` of ``n`` series' indices, spread evenly from the first to the last: the
    sample the recipe's checks look at."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).astype(int))


def judged_rows(panel: Panel, cfg) -> np.ndarray | None:
    """The sample of series whose held-out ends judge an automatic combination (None: none
    to judge, or no series long enough)."""
    if not cfg.combine or not cfg.validation:
        return None
    rows = spread(len(panel), JUDGED)
    rows = rows[panel.lengths[rows] - cfg.validation >= cfg.max_window]
    return rows if len(rows) else None


def judged(model, rows: np.ndarray, early: list[np.ndarray]):
    """``model``'s fitted settings without its automatic combination where, on the held-out
    ends of ``rows``, the early-stopped networks alone (forecasts ``early``, on the model's
    scale: :meth:`~rnncast.forecaster.Forecaster.net_forecast`) beat it by
    :data:`MARGIN`; and the line that says so."""
    cfg, steps, targets = model.fitted_config, early[0].shape[1], model.n_targets
    scaled = combine([torch.from_numpy(e) for e in early], model.aggregate).numpy()
    taken = model.panel.take(rows)
    head = taken.head(cfg.validation)
    network = model.transforms.inverse_all(scaled[..., :targets], head.ends, rows)
    truth = taken.tail(cfg.validation).values.reshape(len(rows), cfg.validation, -1)
    classical = classical_forecasts(head, cfg.combine, steps, cfg.season or 1, targets)
    alone, mean = held_out_scores(network, classical, truth[:, :steps, :targets], head,
                                  cfg.season or 1)
    drop = alone < (1 - MARGIN) * mean
    said = (f"combine {'none' if drop else 'kept'} after training: on the last {steps} held-out "
            f"points of {len(rows)} series the network alone scored MASE {alone:.3f}, its mean "
            f"with {' and '.join(map(LABELS.get, cfg.combine))} {mean:.3f}")
    return replace(cfg, combine=()) if drop else cfg, said


def held_out_scores(network: np.ndarray, classical: np.ndarray, truth: np.ndarray,
                    history: Panel, season: int) -> tuple[float, float]:
    """The mean MASE over series of the network's forecast ``(S, h, F)`` and of its mean with
    the ``classical`` ones ``(M, S, h, F)``, against ``truth (S, h, F)``, each series scaled by
    its ``history`` (the rows before the forecast): how :func:`combined` would have done."""
    both = combined(network, classical)
    scores = np.array([[metrics.mase(truth[k, :, j], forecast[k, :, j], history.rows(k)[:, j],
                                     season) for forecast in (network, both)]
                       for k in range(len(network)) for j in range(truth.shape[2])])
    alone, mean = np.nanmean(scores, axis=0) if np.isfinite(scores).any() else (np.nan, np.nan)
    return float(alone), float(mean)


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
