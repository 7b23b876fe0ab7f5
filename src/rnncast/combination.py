"""The final forecast from the network's: the equal-weight mean with classical forecasts (for
instance Theta), series by series, and zeros where a series has stopped. Combinations of unlike
methods were the most reliable gain of the M3 and M4 competitions; the development collection
agrees (benchmarks/results/)."""

from __future__ import annotations

import logging

import numpy as np

from rnncast import metrics
from rnncast.baselines import KNOWN, SEASONS
from rnncast.classical import LABELS, classical_forecasts, spread
from rnncast.panel import Panel
from rnncast.partners import THETA
from rnncast.plan import Plan
from rnncast.quantiles import MEDIAN
from rnncast.rules import zero_run

log = logging.getLogger(__name__)

JUDGED = 300  # series whose held-out ends judge an automatic combination (spread over the panel)
COSTLY, COSTLY_SAMPLE = ("mstl", "ridge_x"), 20  # ~0.2-0.5 s a fit: quantiles see 20 series
# how much better the network alone must be there to drop it. Early stopping chose its epochs on
# those same points, which flatters it: on the M3 training parts it looked up to 3% better there
# (yearly 1.151 against 1.187; quarterly 0.838 / 0.846; monthly 0.731 / 0.729) while the
# combination was 2-3% better on the points after them
MARGIN = 0.10


def combined(network: np.ndarray, classical: np.ndarray) -> np.ndarray:
    """The mean of the network's ``(N, h, F)`` forecast and the classical ``(M, N, h', F)`` ones
    over their first ``min(h, h')`` steps (the network alone past them and where one is NaN)."""
    out = network.copy()
    steps = min(network.shape[1], classical.shape[2])
    parts = np.concatenate([network[None, :, :steps], classical[:, :, :steps]], axis=0)
    mean = np.nanmean(parts, axis=0)  # the network is never NaN: no empty slice
    out[:, :steps] = mean
    return out


def classical_for(plan: Plan, panel: Panel, targets: int, steps: int | None = None
                  ) -> np.ndarray | None:
    """The classical forecasts the plan averages in, ``(methods, N, steps, targets)`` (None: it
    combines none, or one that reads the future covariates, known at forecast time only); by
    default as many steps as a forecast is likely to ask for, which a saved model keeps."""
    if not plan.combine or set(plan.combine) & set(KNOWN):
        return None
    steps = steps or max(2 * plan.head, 2 * plan.season, 24)
    return classical_forecasts(panel, plan.combine, steps, partners_season(plan), targets)


def partners_season(plan: Plan) -> int | tuple[int, ...]:
    """What the classical partners read: the season, or both seasons when MSTL or the ridge is
    one."""
    two = set(SEASONS) & set(plan.combine) and len(plan.seasons) > 1
    return plan.seasons if two else plan.season


def final(network: np.ndarray, panel: Panel, plan: Plan, stored: np.ndarray | None,
          loaded: bool, ahead: np.ndarray | None = None) -> np.ndarray:
    """The network's forecast ``(N, h, F)`` of ``panel`` averaged with the classical ones the
    plan names: those made at fit time (``stored``) where they cover the steps, else new ones
    (for a loaded model, from the tails it keeps: said); ``ahead``: the future covariates over
    the forecast (their units), for a partner that reads them."""
    if not plan.combine:
        return network
    if stored is None or stored.shape[2] < network.shape[1]:
        if stored is not None and loaded:
            log.warning("this saved model holds classical forecasts for %d steps; the longer "
                        "forecast combines ones fitted to the stored tails only", stored.shape[2])
        stored = classical_forecasts(panel, plan.combine, network.shape[1], partners_season(plan),
                                     network.shape[2], ahead)
    return combined(network, stored)


def judged_rows(panel: Panel, plan: Plan) -> np.ndarray | None:
    """The sample of series whose held-out ends judge an automatic combination (None: none
    to judge, or no series long enough)."""
    return held_rows(panel, plan) if plan.combine else None


def held_rows(panel: Panel, plan: Plan) -> np.ndarray | None:
    """A sample of series whose ends, held out for early stopping, are long enough to judge
    on (None: no validation, or no series long enough)."""
    if not plan.validation:
        return None
    rows = spread(len(panel), JUDGED)
    rows = rows[panel.lengths[rows] - plan.validation >= plan.max_window]
    return rows if len(rows) else None


def quantile_rows(panel: Panel, plan: Plan) -> np.ndarray | None:
    """The series whose held-out ends recalibrate the quantile levels: :func:`held_rows`, a
    sample of :data:`COSTLY_SAMPLE` where a costly partner is fitted at every origin."""
    rows = held_rows(panel, plan)
    if rows is not None and set(plan.combine) & set(COSTLY):
        rows = rows[spread(len(rows), COSTLY_SAMPLE)]
    return rows


def moved(model, forecasts: list[np.ndarray], rows: np.ndarray, drops: list[int], steps: int
          ) -> np.ndarray:
    """The members' median of their held-out quantile forecasts ``forecasts`` (each ``(origins
    · B, steps, F, Q)`` on the model's scale, origin by origin from each of ``drops`` points
    before the ends of the series ``rows``) moved as the plan's combination moves the median:
    the levels are then recalibrated around the forecast the user gets."""
    bands, plan = np.median(np.stack(forecasts), axis=0), model.plan
    if not plan.combine:
        return bands
    part, B, F = model.panel.take(rows), len(rows), bands.shape[2]
    for i, drop in enumerate(drops):
        history, after = part.head(drop), part.tail(drop).head(drop - steps)
        positions = after.starts[:, None] + np.arange(steps)
        median = bands[i * B : (i + 1) * B, :, :, plan.quantiles.index(MEDIAN)]
        network = model.transforms.inverse_all(median, history.ends, rows)
        ahead = future_part(after.values.reshape(B, steps, -1), plan)
        both = combined(network, classical_forecasts(history, plan.combine, steps,
                                                     partners_season(plan), F, ahead))
        move = model.transforms.forward_rows(rows, both, positions) - median
        bands[i * B : (i + 1) * B] += np.nan_to_num(move)[..., None]
    return bands


def future_part(values: np.ndarray, plan: Plan) -> np.ndarray | None:
    """The future columns (the layout's last) of ``values (B, steps, C)``; None without."""
    return values[..., values.shape[2] - len(plan.future):] if plan.future else None


def judge(plan: Plan, network: np.ndarray, panel: Panel, rows: np.ndarray) -> Plan:
    """``plan`` with the automatic combination that did best on the held-out ends of the series
    ``rows`` of ``panel`` (:func:`candidates`), or without one where the early-stopped
    networks' forecast ``network (S, h, F)`` (original units, from the rows before the last
    ``plan.validation``) beats the best by :data:`MARGIN`; with a reason saying which and why."""
    steps, targets = network.shape[1], network.shape[2]
    taken = panel.take(rows)
    head = taken.head(plan.validation)
    truth = taken.tail(plan.validation).values.reshape(len(rows), plan.validation, -1)
    ahead = future_part(truth[:, :steps], plan)
    options = candidates(plan)
    names = tuple(dict.fromkeys(name for option in options for name in option))
    classical = classical_forecasts(head, names, steps, partners_season(plan), targets, ahead)
    scores = {option: held_out_scores(network, classical[[names.index(n) for n in option]],
                                      truth[:, :steps, :targets], head, plan.season)
              for option in options}
    alone = scores[options[0]][0]
    best = min(options, key=lambda option: scores[option][1])  # a tie keeps the plan's
    drop = alone < (1 - MARGIN) * scores[best][1]
    verdict = "none" if drop else "kept" if best == plan.combine else ",".join(best)
    said = (f"combine {verdict} after training: on the last {steps} held-out points of "
            f"{len(rows)} series the network alone scored MASE {alone:.3f}, "
            + ", ".join(f"its mean with {' and '.join(map(LABELS.get, option))} "
                        f"{scores[option][1]:.3f}" for option in options))
    return plan.with_reason(said, combine=() if drop else best)


def candidates(plan: Plan) -> list[tuple[str, ...]]:
    """The combinations judged after training, the plan's first: where it chose Theta, MSTL
    or the seasonal naive forecast before training, the others stand in too: the check before
    training looks at the classical forecasts alone, what pairs best with the network is seen
    only after."""
    seasonal = [(THETA,), ("seasonal_naive",)]
    if plan.season > 1 and plan.combine in [*seasonal, ("mstl",)]:
        return [plan.combine, *(option for option in seasonal if option != plan.combine)]
    return [plan.combine]


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


def stopped_at_zero(values: np.ndarray, panel: Panel, season: int) -> np.ndarray:
    """The forecast ``values (N, h, F)`` with zeros for the series whose target columns end in
    at least :func:`~rnncast.rules.zero_run` zeros (they have stopped)."""
    stopped = panel.trailing_zeros(values.shape[2]) >= zero_run(season)
    return np.where(stopped[:, None, :], 0.0, values)
