"""Choosing settings by backtest: a grid, or an Optuna search, ranked by a mean fold score.
Give these the training part only: nothing here holds out a final test range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnncast.backtesting import backtest
from rnncast.errors import DataError
from rnncast.forecaster import Forecaster
from rnncast.training import EpochInfo


@dataclass
class Tuning:
    """Configurations ranked by their mean backtest ``metric`` (best first)."""

    metric: str
    rows: list[dict]  # {"settings": {...}, "score": float, "folds": [...], "metrics": {...}}
    trials: int | None = None  # of a search: how many it ran (it ends once all are scored)

    @property
    def best(self) -> dict:
        return self.rows[0]["settings"]

    def to_dict(self) -> dict:
        return {"metric": self.metric, "best": self.best, "rows": self.rows, "trials": self.trials}


def grid(choices: dict[str, list]) -> list[dict]:
    """Every combination of ``choices`` (name → values), in order."""
    combos: list[dict] = [{}]
    for name, values in choices.items():
        combos = [{**c, name: v} for c in combos for v in values]
    return combos


def tune(
    data,
    configurations: list[dict],
    make_model: Callable[[dict], Forecaster],
    folds: int,
    test: int,
    step: int | None = None,
    metric: str = "rmse",
    season: int | None = None,
    callback: Callable[[EpochInfo], None] | None = None,
) -> Tuning:
    """Backtest every configuration (``make_model(settings)``) on ``data`` and rank them by the
    mean of ``metric`` over the folds. Give only the training part: nothing here holds out a
    final test range."""
    rows = []
    for settings in configurations:
        result = backtest(data, folds, test, lambda k, s=settings: make_model(s), step,
                          season=season, baselines=[], callback=callback)
        rows.append({"settings": settings, "score": result.mean["metrics"][metric],
                     "folds": [f["metrics"][metric] for f in result.folds],
                     "metrics": result.mean["metrics"]})
    rows.sort(key=lambda r: (np.isnan(r["score"]), r["score"]))
    return Tuning(metric, rows)


def search(
    data,
    choices: dict[str, list],
    make_model: Callable[[dict], Forecaster],
    trials: int,
    folds: int,
    test: int,
    step: int | None = None,
    metric: str = "rmse",
    season: int | None = None,
    seed: int = 0,
    callback: Callable[[EpochInfo], None] | None = None,
) -> Tuning:
    """Like :func:`tune`, but ``trials`` configurations proposed by Optuna's TPE sampler from
    ``choices`` instead of the whole grid (a configuration proposed twice is backtested once;
    the search ends once every configuration is scored)."""
    try:
        import optuna
    except ImportError:
        raise DataError("a search with --trials needs Optuna: pip install optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    done: dict[tuple, dict] = {}

    def objective(trial) -> float:
        settings = {name: trial.suggest_categorical(name, values) for name, values in choices.items()}
        key = tuple(settings.items())
        if key not in done:
            done[key] = tune(data, [settings], make_model, folds, test, step, metric, season,
                             callback).rows[0]
        score = done[key]["score"]
        return float("inf") if np.isnan(score) else score

    configurations = len(grid(choices))

    def all_scored(study, trial) -> None:  # more trials would only propose them again
        if len(done) >= configurations:
            study.stop()

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials, callbacks=[all_scored])
    rows = sorted(done.values(), key=lambda r: (np.isnan(r["score"]), r["score"]))
    return Tuning(metric, rows, len(study.trials))
