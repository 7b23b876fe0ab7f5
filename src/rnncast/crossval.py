"""Forecasts from rolling origins (NeuralForecast's ``cross_validation``): at each origin a model
trained on everything before it (or once, before the first) forecasts the points after it, and
nothing after an origin is seen by the forecast made from it. :func:`cross_validation` gives them
as one long table beside the truth; :func:`rnncast.backtesting.backtest` scores the same folds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnncast import stacking
from rnncast.data import Panel, truncate
from rnncast.errors import DataError
from rnncast.quantiles import quantile_columns


@dataclass
class Fold:
    """One origin: ``history`` (every series up to it, the model's layout), ``truth`` (the
    ``test`` points after it) and the ``forecast (N, test, targets)`` of ``model`` (original
    units; NaN for a series the model skipped as too short)."""

    number: int
    drop: int  # points after this fold's test range
    history: Panel
    truth: Panel
    model: object
    forecast: np.ndarray


def drops(panel: Panel, folds: int, test: int, step: int) -> list[int]:
    """Points after each fold's test range, oldest origin first; an error when the series
    cannot hold them."""
    if folds < 1 or test < 1:
        raise DataError(f"folds and test must be positive integers, got {folds} and {test}")
    shortest = int(panel.lengths.min())
    if shortest <= test + (folds - 1) * step:
        raise DataError(f"series of {shortest} points cannot hold {folds} folds of {test} points, "
                        f"{step} apart; use fewer folds or a shorter test range")
    return [(folds - 1 - k) * step for k in range(folds)]


def forecast_of(model, history: Panel, steps: int, own_history: bool, truth: Panel | None = None
                ) -> np.ndarray:
    """``model``'s forecast ``(N, steps, targets)`` past each series of ``history`` (from the
    data it was fitted on with ``own_history``, which a skip policy may have thinned: NaN rows
    for the series it dropped). ``truth``: the rows after ``history``, whose future covariates
    the forecast reads (known ex post)."""
    if truth is not None and own_history and len(model.panel) < len(history) \
            and not model.plan.stacked:
        truth = truth.take([history.ids.index(key) for key in model.panel.ids])
    frame = model.predict(steps, y=None if own_history else history, future=truth)
    targets = stacking.target_names(model.plan, model.panel, model.n_targets)
    targets = [*targets, *quantile_columns(targets, model.plan.quantiles)]  # then the levels
    if history.single:
        frame = frame.to_frame() if isinstance(frame, pd.Series) else frame
        return frame[targets].to_numpy()[None]
    out = np.full((len(history), steps, len(targets)), np.nan)
    by_id = {key: g[targets].to_numpy() for key, g in frame.groupby(history.id_name, sort=False)}
    for k, key in enumerate(history.ids):
        if key in by_id:
            out[k] = by_id[key]
    return out


def folds(panel: Panel, count: int, test: int, make_model: Callable[[int], object],
          step: int | None = None, refit: bool = True, callback=None, calibrate: bool = False
          ) -> Iterator[Fold]:
    """The folds of ``panel`` (laid out by the model, targets first), oldest first: a new model
    ``make_model(k)`` fitted before each origin (its plan resolved once, on that history), or
    with ``refit=False`` one model fitted before the first. ``calibrate``: each new model also
    learns its interval errors on its own history first."""
    first = None
    for k, drop in enumerate(drops(panel, count, test, step or test)):
        history, truth = truncate(panel, drop).split(test)
        if refit or first is None:
            model = make_model(k)
            plan = model.resolve(history, test=test)
            if calibrate:
                model.calibrate(history, test, plan=plan)
            model.fit(history, callback=callback, plan=plan)
            first, own = model, True
        else:
            model, own = first, False
        yield Fold(k, drop, history, truth, model, forecast_of(model, history, test, own, truth))


def cross_validation(model, data, h: int, n_windows: int = 1, step_size: int | None = None,
                     refit: bool = True, callback=None) -> pd.DataFrame:
    """Every origin's forecast of ``h`` steps by copies of ``model`` (a Forecaster, left as it
    is) beside the truth, one row per series, step and origin: the id, the time, ``cutoff``
    (the origin's last seen stamp), the forecast (``rnncast``, or ``rnncast-<target>`` for
    several targets; then ``rnncast-q-10`` … with quantiles) and the truth (each target's own
    name)."""
    panel = stacking.unstacked(model.layout(data))
    parts = []
    for fold in folds(panel, n_windows, h, lambda k: model.unfitted_copy(), step_size, refit,
                      callback):
        targets = stacking.target_names(fold.model.plan, fold.model.panel, fold.model.n_targets)
        names = ["rnncast"] if len(targets) == 1 else [f"rnncast-{t}" for t in targets]
        names += [f"rnncast-{c}" for c in quantile_columns(targets, fold.model.plan.quantiles)]
        N = len(fold.history)
        columns = {fold.history.time_name or "time": fold.truth.clock.labels(np.zeros(N), h),
                   "cutoff": np.repeat(fold.history.clock.labels(fold.history.lengths - 1, 1), h)}
        if not panel.single:
            columns = {panel.id_name: np.repeat(np.asarray(panel.ids, dtype=object), h), **columns}
        truth = fold.truth.with_columns(targets).values
        columns |= dict(zip(names, fold.forecast.reshape(N * h, -1).T, strict=True))
        columns |= dict(zip(targets, truth.T, strict=True))
        parts.append(pd.DataFrame(columns))
    return pd.concat(parts, ignore_index=True)
