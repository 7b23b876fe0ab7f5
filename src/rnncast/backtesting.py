"""Rolling-origin evaluation: the network and the baselines scored from several forecast origins
at the end of the data (one test range can flatter any model), the folds of
:func:`rnncast.crossval.folds`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rnncast import crossval
from rnncast.baselines import BUDGET
from rnncast.data import as_panel
from rnncast.evaluation import band_scores, mean_of, score_forecast
from rnncast.forecaster import Forecaster
from rnncast.panel import Panel
from rnncast.training import EpochInfo


@dataclass
class Backtest:
    """Rolling-origin evaluation: one :class:`Evaluation`-style score table per fold, oldest
    first, and their means."""

    folds: list[dict]
    mean: dict

    def to_dict(self) -> dict:
        return {"folds": self.folds, "mean": self.mean}


def backtest(
    data,
    folds: int,
    test: int,
    make_model: Callable[[int], Forecaster],
    step: int | None = None,
    refit: bool = True,
    season: int | None = None,
    baselines: list[str] | None = None,
    callback: Callable[[EpochInfo], None] | None = None,
    levels: tuple[float, ...] | list[float] | None = None,
    budget: float = BUDGET,
) -> Backtest:
    """Score the network and the baselines on the folds of :func:`rnncast.crossval.folds`:
    ``test`` points forecast from ``folds`` origins at the end of the data, ``step`` apart
    (default ``test``), a new model ``make_model(k)`` trained before each (``refit``) or one
    before the first. ``levels`` (e.g. ``(80, 95)``): each model also calibrates intervals on
    its own training part, and every fold reports the share of its points inside them.
    """
    panel = as_panel(data)
    results = []
    for fold in crossval.folds(panel, folds, test, make_model, step, refit, callback,
                               calibrate=bool(levels)):
        evaluation = score_forecast(fold.model, fold.history, fold.truth, fold.forecast, season,
                                    baselines, budget)
        result = {"fold": fold.number, "origin_from_end": fold.drop + test,
                  "metrics": evaluation.metrics, "baselines": evaluation.baselines}
        if levels:
            result["coverage"] = interval_coverage(fold.model, fold.history, fold.truth, levels)
        results.append(result)
    everywhere = [n for n in results[0]["baselines"] if all(n in r["baselines"] for r in results)]
    mean = {"metrics": mean_of([r["metrics"] for r in results]),
            "baselines": {name: mean_of([r["baselines"][name] for r in results])
                          for name in everywhere}}  # those that ran within budget on every fold
    if levels:
        mean["coverage"] = mean_of([r["coverage"] for r in results])
    return Backtest(results, mean)


def interval_coverage(model: Forecaster, history: Panel, truth: Panel, levels) -> dict[str, float]:
    """Share of ``truth``'s points (the rows after ``history``) inside ``model``'s intervals."""
    return {level: None if scores is None else scores["coverage"]
            for level, scores in band_scores(model, history, truth, levels).items()}
