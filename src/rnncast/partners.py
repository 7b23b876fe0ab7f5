"""The classical partners the plan chooses for the network: which of Theta, ETS and MSTL join
its forecast, judged on the ends of the training series before anything is trained."""

from __future__ import annotations

import numpy as np

from rnncast.baselines import RIDGE_LAGS, RIDGE_ORIGINS
from rnncast.classical import LABELS, SAMPLE, classical_check
from rnncast.panel import Panel

CHECK_STEPS = 6  # the fewest steps the classical methods are compared over without a season
COMBINE_SERIES = 20_000  # most series for an automatic combination (Theta: ~2 ms a series)
# the Theta that partners the network: statsforecast's dynamic optimised Theta, which on M3's
# development ends beat the classical Theta alone at every frequency and beside the network on
# three of four ("other" 0.9% worse), at a fifth to a tenth of its cost (docs/experiments.md)
THETA = "dotm"
MSTL_SERIES, MSTL_SAMPLE = 200, 20  # MSTL fits take ~0.5 s a series: checked on 20 of at most 200
RIDGE_SERIES = 200  # most series for the ridge beside future columns (~0.2 s a series a forecast)


def auto_combine(panel: Panel, past: tuple[str, ...], future: tuple[str, ...], head: int,
                 season: int, seasons: tuple[int, ...] = ()) -> tuple[tuple[str, ...], str]:
    """Average with the classical methods that are worth it. Beside future columns, the ridge
    that reads them (:func:`~rnncast.baselines.ridge_x`) for one target in a small panel of
    series that hold :data:`RIDGE_ORIGINS` seasons or more (hourly prices, daily demand: where it
    was measured); the judgement after training may drop it. Otherwise for one target without
    covariates (a univariate method would dilute what the other columns tell the network), in a panel
    small enough for their fits. Theta (:data:`THETA`) joins when it beats the seasonal naive
    forecast over the last ``head`` points of a sample of training series; without a season,
    where its fits are cheap, ETS joins too when it beats Theta there; with two ``seasons``
    (daily, hourly data) in a small panel, MSTL takes Theta's place where it beats it there;
    where the seasonal naive forecast beats them there, it is the partner. Nothing the network
    learnt decides; :func:`~rnncast.combination.judge` looks again after training."""
    if future and panel.values.shape[1] == 1 + len(past) + len(future) and season > 1 \
            and len(panel) <= RIDGE_SERIES and ridge_fits(panel, season, seasons):
        return ("ridge_x",), (
            f"combine ridge_x: the mean of the network's forecast and a ridge regression's on the "
            f"last {RIDGE_LAGS} seasons and the future columns, one per step (as LEAR forecasts "
            "day-ahead prices), unless the held-out ends say otherwise after training")
    if past or future or panel.values.shape[1] > 1:
        return (), ("combine none: the network reads other columns too, which a univariate "
                    "method cannot (--combine theta to force)")
    if len(panel) > COMBINE_SERIES:
        return (), (f"combine none: {len(panel):,} series are more than the {COMBINE_SERIES:,} "
                    "for which per-series Theta fits stay cheap (--combine theta to force)")
    two = len(seasons) > 1 and len(panel) <= MSTL_SERIES
    methods = (THETA, "ets") if season <= 1 else (THETA, "mstl") if two else (THETA,)
    # a season is the natural span to compare over; without one, one step says little
    steps = head if season > 1 else max(head, CHECK_STEPS)
    check = classical_check(panel, steps, season, methods, seasons if two else (),
                            MSTL_SAMPLE if two else SAMPLE)
    if check is None:
        return (THETA,), (f"combine {THETA}: the mean of the network's and the "
                          f"{LABELS[THETA]}'s forecasts, series by series (the series are too "
                          "short to check it first)")
    scores, n = check
    said = (f"on the last {steps} points of {n} training series, MASE "
            + ", ".join(f"{LABELS[name]} {score:.3f}" for name, score in scores.items()))
    best = "mstl" if two and scores["mstl"] < scores[THETA] else THETA
    chosen = (best,) if scores[best] < scores["seasonal_naive"] else \
        ("seasonal_naive",) if season > 1 else ()
    if chosen and "ets" in scores and scores["ets"] < scores[THETA]:
        chosen = (THETA, "ets")
    if not chosen:
        return (), f"combine none: {said} (--combine theta to force)"
    names = ["the network's", *(LABELS[name] + "'s" for name in chosen)]
    names = ", ".join(names[:-1]) + " and " + names[-1]
    return chosen, f"combine {','.join(chosen)}: the mean of {names} forecasts; {said}"


def ridge_fits(panel: Panel, season: int, seasons: tuple[int, ...]) -> bool:
    """Whether most series hold :data:`RIDGE_ORIGINS` origins a season apart for the ridge."""
    need = RIDGE_LAGS * season + (seasons[-1] if seasons else 0) + RIDGE_ORIGINS * season
    return bool(np.median(panel.lengths) >= need)
