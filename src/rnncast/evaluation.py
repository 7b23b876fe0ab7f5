"""Honest evaluation: hold out the end of every series, train on the rest, score the network and
the baselines on the same range. The held-out part is never seen before the final scoring."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rnncast import crossval, metrics, quantiles, stacking
from rnncast.baselines import BUDGET, CHEAP, KNOWN, NAMES, RECENT, SEASONAL, SEASONS, default_names
from rnncast.baselines import run as run_baseline
from rnncast.classical import median_strength, spread
from rnncast.cores import one_blas_thread
from rnncast.data import Panel, SeriesData
from rnncast.errors import DataError
from rnncast.forecaster import Forecaster
from rnncast.intervals import coverage
from rnncast.plan import Plan
from rnncast.progress import Stages
from rnncast.training import EpochInfo

log = logging.getLogger(__name__)


DRAWN = 6  # series of a panel its pictures draw (evaluate's and forecast's)


@dataclass
class Evaluation:
    """Scores of the network and the baselines on the held-out range (means over series);
    the first series' data and forecasts, for the plots."""

    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    forecast: pd.DataFrame
    truth: pd.DataFrame
    train: pd.DataFrame
    baseline_forecasts: dict[str, np.ndarray]
    season: int
    model: Forecaster
    series: int = 1
    skipped: list[str] = field(default_factory=list)
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # baselines left out, and why
    baseline_seconds: dict[str, float] = field(default_factory=dict)  # wall time of each
    # median over (up to 100) series of the training parts: the plan's, or measured for the
    # verdict's advice when a baseline won and the season was left in
    season_strength: float | None = None
    per_series: pd.DataFrame | None = None  # sMAPE and MASE of each model on each series
    per_target: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # t→model→
    # what the headline metric averages, per unit (step or series) and model: for the verdict's noise
    units: dict[str, np.ndarray] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)  # baselines over the budget
    shown: str | None = None  # the id of the series the plots show (the first scored)
    # how well the bands are calibrated: "quantiles 10-90" and "conformal 80" → coverage, MSIS
    bands: dict[str, dict[str, float]] = field(default_factory=dict)
    # per model, with a season and a test of one or more: first season's MASE, last one's bias %
    season_ends: dict[str, dict[str, float]] = field(default_factory=dict)
    # a panel's series to draw, from the network's best MASE to its worst: id, that MASE, train,
    # truth, forecast
    drawn: list[tuple[str, float, pd.DataFrame, pd.DataFrame, pd.DataFrame]] = field(
        default_factory=list)

    @property
    def targets(self) -> int:
        return len(self.truth.columns)

    @property
    def metric(self) -> str:
        return headline_metric(self.series, self.targets)

    def losers_to(self, metric: str | None = None) -> list[str]:
        """Baselines more accurate than the network on ``metric`` (default: :attr:`metric`)."""
        metric = metric or self.metric
        mine = self.metrics[metric]
        return [name for name, s in self.baselines.items() if s[metric] < mine]


def headline_metric(series: int, targets: int = 1) -> str:
    """What a verdict compares: RMSE on one series of one target; else MASE, as errors in each
    series' and each target's own units do not add up."""
    return "rmse" if series == 1 and targets == 1 else "mase"


def _units(truths: list[np.ndarray], forecasts: list[np.ndarray], trains: list[np.ndarray],
           season: int, series_scores: list[list[dict[str, float]]]) -> np.ndarray:
    """What the headline metric averages, unit by unit: each step's squared error for one
    series of one target (RMSE), each step's scaled absolute error over the targets for one
    series of several, each series' MASE for a panel."""
    if len(truths) > 1:
        return np.array([np.nanmean([t["mase"] for t in targets]) if targets else np.nan
                         for targets in series_scores])
    truth, forecast, train = truths[0], forecasts[0], trains[0]
    if truth.shape[1] == 1:
        return (forecast[:, 0] - truth[:, 0]) ** 2
    m = season if len(train) > season else 1
    scale = np.mean(np.abs(train[m:] - train[:-m]), axis=0)  # (F,): in-sample seasonal naive
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nanmean(np.abs(forecast - truth) / np.where(scale > 0, scale, np.nan), axis=1)


def holdout(
    data,
    test: int,
    model: Forecaster,
    season: int | None = None,
    watch: bool = False,
    callback: Callable[[EpochInfo], None] | None = None,
    baselines: list[str] | None = None,
    budget: float = BUDGET,
    plan: Plan | None = None,
    stages: Stages | None = None,
    levels: tuple[float, ...] | None = None,
) -> Evaluation:
    """Train ``model`` on all but the last ``test`` points of every series, forecast them, and
    score the network and the ``baselines`` on the same points. ``plan``: the model's plan for
    the training part and this test range (:meth:`Forecaster.resolve`; default: resolved here).
    ``stages``: times each stage (and announces it). ``levels`` (e.g. ``(80,)``): conformal
    intervals calibrated on the training part too, scored beside any quantile bands.

    ``watch``: also forecast the test range from the network being trained at epochs 1, 2, 4,
    8, … (first ensemble member), for the picture of the forecast improving while training.
    """
    stages = stages or Stages()
    panel = stacking.unstacked(model.layout(data))  # scored per target
    train, truth = panel.split(test)
    if plan is None:
        with stages("recipe", "choosing the recipe from the training part"):
            plan = model.resolve(train, test=test)  # on the training part only, once
    check_known(baselines or [], bool(plan.future)
                and panel.values.shape[1] - len(plan.inputs_only) == 1)  # before training
    shortest = int(panel.lengths.min())
    if shortest < plan.max_window + test + 1 and (panel.single or plan.short == "error"):
        raise DataError(f"series of {shortest} points is too short for window {plan.max_window} "
                        f"+ test {test}; use a shorter window or test range")
    snapshots: list[tuple[int, np.ndarray]] = []

    watch = watch and not plan.future  # (the snapshots would need the test's future values)

    def report(info: EpochInfo) -> None:
        if watch and info.member == 0 and not info.refit and info.epoch & (info.epoch - 1) == 0:
            snapshots.append((info.epoch, model.forecast_with(info.net, test)[:, 0]))
        if callback is not None:
            callback(info)

    if levels:
        with stages("calibrating", f"calibrating intervals over {test} steps"):
            model.calibrate(train, test, plan=plan)
    with stages("training", plan.training_line(train, model.ensemble)):
        model.fit(train, callback=report, plan=plan)
    with stages("forecasting", f"forecasting {test} steps"):
        forecast = crossval.forecast_of(model, train, test, own_history=True, truth=truth)
    evaluation = score_forecast(model, train, truth, forecast, season, baselines, budget, stages)
    evaluation.snapshots = snapshots
    for level, scores in (band_scores(model, train, truth, levels, evaluation.season)
                          if levels else {}).items():
        evaluation.bands[f"conformal {level}"] = scores
    if plan.given_future:
        evaluation.notes.append(f"the network read the recorded values of {', '.join(plan.given_future)} "
                                "over the test range (ex-post: a real forecast reads forecasts of "
                                "them)")
    return evaluation


def score_forecast(model: Forecaster, history: Panel, truth: Panel, forecast: np.ndarray,
                   season: int | None, baselines: list[str] | None, budget: float = BUDGET,
                   stages: Stages | None = None) -> Evaluation:
    """Score ``model``'s ``forecast (N, test, targets)`` of ``truth``'s rows after ``history``
    (NaN rows: series it skipped, left out) and the baselines' forecasts of the same points."""
    targets = stacking.target_names(model.plan, model.panel, model.n_targets)  # covariates are not scored
    known = [*targets, *model.plan.future] if len(targets) == 1 and model.plan.future else None
    full = history, truth  # with the future columns, for the baselines that read them
    truth, history = truth.with_columns(targets), history.with_columns(targets)
    bands, levels, F = None, model.plan.quantiles, len(targets)
    if levels:  # the quantiles' columns follow the targets', level by level
        shape = (*forecast.shape[:2], len(levels), F)
        forecast, bands = forecast[..., :F], forecast[..., F:].reshape(shape).transpose(0, 1, 3, 2)
    test = int(truth.lengths[0])
    m = season or model.plan.season
    kept = [k for k in range(len(history)) if np.isfinite(forecast[k]).all()]
    skipped = [history.ids[k] for k in range(len(history)) if k not in kept] if history.ids else []
    forecasts = [forecast[k] for k in kept]
    truths, trains = [truth.rows(k) for k in kept], [history.rows(k) for k in kept]
    seasons = model.plan.seasons if m == model.plan.season else (m,)
    names = baselines if baselines is not None else default_names(history, seasons, bool(known))
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        raise DataError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(NAMES)}")
    check_known(names, bool(known))
    if baselines is None and m <= 1:
        names = [name for name in names if name not in SEASONAL]  # rows that repeat naive
    notes, left_out = [], []
    baseline_forecasts, seconds = {}, {}
    stages = stages or Stages()
    for name in names:
        start = time.perf_counter()
        with one_blas_thread(), stages("baselines", f"baseline {name.replace('_', ' ')}"):
            values = run_baseline(name, with_future(*full, known, kept) if name in KNOWN else trains,
                                  test, seasons if name in SEASONS else m, budget)
        seconds[name] = time.perf_counter() - start
        if values is None:
            left_out.append(name)
            notes.append(f"{name} left out: {len(trains)} series take longer than the "
                         f"baseline budget of {budget:g} s (--baseline-budget)")
        else:
            baseline_forecasts[name] = values
    longer = sum(len(train) > RECENT for train in trains)
    if longer and set(names) - set(CHEAP):
        notes.append(f"the fitted baselines saw the last {RECENT:,} points of "
                     + ("the series" if len(trains) == 1 else f"{longer} longer series")
                     + " (their cost grows with the length)")
    first_truth, first_train = _frame(truth.series_at(kept[0])), _frame(history.series_at(kept[0]))
    ids = [history.ids[k] for k in kept] if history.ids is not None else kept
    every = {"network": forecasts, **baseline_forecasts}
    scores = {name: _scores(truths, values, trains, m) for name, values in every.items()}
    evaluation = Evaluation(
        metrics=_mean_score(scores["network"]),
        baselines={name: _mean_score(scores[name]) for name in baseline_forecasts},
        forecast=pd.DataFrame(forecasts[0], index=first_truth.index, columns=first_truth.columns),
        truth=first_truth,
        train=first_train,
        baseline_forecasts={name: values[0] for name, values in baseline_forecasts.items()},
        season=m,
        model=model,
        series=len(forecasts),
        skipped=skipped,
        notes=notes,
        baseline_seconds=seconds,
        per_series=_per_series(ids, scores),
        season_strength=model.plan.season_strength,
        per_target={t: {name: _mean_score([[series[j]] for series in table])
                        for name, table in scores.items()} for j, t in enumerate(targets)},
        units={name: _units(truths, values, trains, m, scores[name])
               for name, values in every.items()},
        left_out=left_out,
        shown=None if history.ids is None else history.ids[kept[0]],
        season_ends={name: mean_of([metrics.season_ends(t[:, j], f[:, j], tr[:, j], m)
                                     for t, f, tr in zip(truths, values, trains, strict=True)
                                     for j in range(F)])
                     for name, values in every.items()} if 1 < m <= test else {},
        drawn=_drawn(history, truth, kept, ids, forecasts, scores["network"]),
    )
    if bands is not None:
        name = f"quantiles {100 * levels[0]:g}-{100 * levels[-1]:g}"
        evaluation.bands[name] = mean_of([quantiles.scores(truths[j], bands[k], levels,
                                                            trains[j], m)
                                           for j, k in enumerate(kept)])
    if (evaluation.season_strength is None and not model.plan.deseasonalize and m > 1
            and evaluation.losers_to()):
        evaluation.season_strength = median_strength([trains[k][:, 0] for k in spread(len(trains))],
                                                     m)
    return evaluation


def check_known(names: list[str], known: bool) -> None:
    if set(names) & set(KNOWN) and not known:
        raise DataError("the arima_x baseline needs one target and future covariates (--future)")


def with_future(history: Panel, truth: Panel, columns: list[str], kept: list[int]
                ) -> list[np.ndarray]:
    """Per series: the training rows of ``columns`` (the target, then the future covariates)
    and the test's future covariates (its target NaN)."""
    history, truth = history.with_columns(columns), truth.with_columns(columns)
    return [np.r_[history.rows(k), np.c_[np.full(truth.lengths[k], np.nan), truth.rows(k)[:, 1:]]]
            for k in kept]


def _per_series(ids: list, scores: dict[str, list[list[dict[str, float]]]]) -> pd.DataFrame:
    """One row per series and model: its sMAPE and MASE (means over targets)."""
    return pd.DataFrame([{"series": key, "model": model,
                          "smape": _nanmean([s["smape"] for s in targets]),
                          "mase": _nanmean([s["mase"] for s in targets])}
                         for model, table in scores.items()
                         for key, targets in zip(ids, table, strict=True)])


def _scores(truth: list[np.ndarray], forecasts: list[np.ndarray], train: list[np.ndarray],
            season: int) -> list[list[dict[str, float]]]:
    """Every metric of each series (outer list) and target (inner list)."""
    return [[metrics.score(t[:, k], f[:, k], tr[:, k], season) for k in range(t.shape[1])]
            for t, f, tr in zip(truth, forecasts, train, strict=True)]


def _mean_score(scores: list[list[dict[str, float]]]) -> dict[str, float]:
    """Every metric, averaged over the targets and series of :func:`_scores`."""
    flat = [s for targets in scores for s in targets]
    return {key: _nanmean([s[key] for s in flat]) for key in flat[0]}


def _nanmean(values: list[float]) -> float:
    """Mean of the defined values (MAPE and MASE are undefined on some series); NaN if none."""
    finite = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _drawn(history: Panel, truth: Panel, kept: list[int], ids: list, forecasts: list[np.ndarray],
           scores: list[list[dict[str, float]]]) -> list[tuple]:
    """Up to :data:`DRAWN` series of a panel spread over the ranks of the network's MASE, best
    first: where it does well and where it does not, seen rather than read (none for one)."""
    if len(kept) < 2:
        return []
    mase = np.array([_nanmean([s["mase"] for s in targets]) for targets in scores])
    order = np.argsort(np.where(np.isfinite(mase), mase, np.inf), kind="stable")
    drawn = []
    for i in order[spread(len(order), DRAWN)]:
        truth_part = _frame(truth.series_at(kept[i]))
        drawn.append((str(ids[i]), float(mase[i]), _frame(history.series_at(kept[i])), truth_part,
                      pd.DataFrame(forecasts[i], index=truth_part.index, columns=truth_part.columns)))
    return drawn


def _frame(data: SeriesData) -> pd.DataFrame:
    return pd.DataFrame(data.values, index=data.index, columns=data.columns)


def band_scores(model: Forecaster, history: Panel, truth: Panel, levels, season: int | None = None
                ) -> dict[str, dict[str, float] | None]:
    """Per level: the share of ``truth``'s points (the rows after ``history``) inside
    ``model``'s conformal intervals, and their interval score (MSIS, scaled per series)."""
    horizon = int(truth.lengths[0])
    top = model.calibration.highest_level(horizon)
    out = {f"{level:g}": None for level in levels}  # None: too few errors for a bounded band
    levels = [level for level in levels if level <= top]
    if not levels:
        return out
    frame = model.predict(horizon, y=history, levels=levels, future=truth)
    targets = stacking.target_names(model.plan, model.panel, model.n_targets)
    shape = (len(truth), horizon, len(targets))
    truth = truth.with_columns(targets).values.reshape(shape)
    history = history.with_columns(targets)
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    for level in levels:
        names = [(f"lo-{level:g}", f"hi-{level:g}")] if len(targets) == 1 else \
            [(f"{c}-lo-{level:g}", f"{c}-hi-{level:g}") for c in targets]
        lo = np.column_stack([frame[a].to_numpy() for a, _ in names]).reshape(shape)
        hi = np.column_stack([frame[b].to_numpy() for _, b in names]).reshape(shape)
        msis = [quantiles.interval_scores(truth[k], lo[k], hi[k], level / 100, history.rows(k),
                                          season or model.plan.season)["msis"]
                for k in range(len(truth))]
        out[f"{level:g}"] = {"coverage": coverage(truth, lo, hi), "msis": _nanmean(msis)}
    return out


def mean_of(tables: list[dict[str, float]]) -> dict[str, float]:
    return {key: _nanmean([t[key] for t in tables]) for key in tables[0]}
