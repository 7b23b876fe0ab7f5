"""Honest evaluation: hold out the end of a series, train on the rest, score the network and the
baselines on the same range. The held-out part is never seen before the final scoring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from rnncast import baselines as base
from rnncast.data import SeriesData, as_panel
from rnncast.errors import DataError
from rnncast.forecaster import Forecaster
from rnncast.metrics import score
from rnncast.training import EpochInfo


@dataclass
class Evaluation:
    """Scores of the network and the baselines on one held-out range."""

    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    forecast: pd.DataFrame
    truth: pd.DataFrame
    train: pd.DataFrame
    baseline_forecasts: dict[str, np.ndarray]
    season: int
    model: Forecaster
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)

    def losers_to(self, metric: str = "rmse") -> list[str]:
        """Baselines more accurate than the network on ``metric``."""
        mine = self.metrics[metric]
        return [name for name, s in self.baselines.items() if s[metric] < mine]


def split(data: SeriesData, test: int) -> tuple[SeriesData, SeriesData]:
    """Training part and the last ``test`` points, with their time index."""
    n = len(data.values)
    if test < 1:
        raise DataError(f"test size must be a positive integer, got {test}")
    if test >= n:
        raise DataError(f"test size {test} leaves no training data in a series of {n} points")
    index = data.index if data.index is not None else pd.RangeIndex(n)
    part = lambda rows: replace(data, values=data.values[rows], index=index[rows])  # noqa: E731
    return part(slice(0, n - test)), part(slice(n - test, n))


def holdout(
    data: SeriesData,
    test: int,
    model: Forecaster,
    season: int | None = None,
    watch: bool = False,
    callback: Callable[[EpochInfo], None] | None = None,
) -> Evaluation:
    """Train ``model`` on all but the last ``test`` points, forecast them, score everything.

    ``watch``: also forecast the test range from the network being trained at epochs 1, 2, 4,
    8, … (first ensemble member), for the picture of the forecast improving while training.
    """
    train, truth = split(data, test)
    window = model.series_config.resolved(as_panel(train)).max_window
    if len(data.values) < window + test + 1:
        raise DataError(f"series of {len(data.values)} points is too short for window {window} "
                        f"+ test {test}; use a shorter window or test range")
    snapshots: list[tuple[int, np.ndarray]] = []

    def watch(info: EpochInfo) -> None:
        if watch and info.member == 0 and info.epoch & (info.epoch - 1) == 0:  # powers of two
            snapshots.append((info.epoch, model.forecast_with(info.net, test)[:, 0]))
        if callback is not None:
            callback(info)

    model.fit(train, callback=watch)
    forecast = model.predict(test)
    forecast = forecast.to_frame() if isinstance(forecast, pd.Series) else forecast
    forecast.index = truth.index
    m = season or model.fitted_config.season or 1
    baseline_forecasts = {
        "naive": np.column_stack([base.naive(col, test) for col in train.values.T]),
        "seasonal_naive": np.column_stack([base.seasonal_naive(col, test, m)
                                           for col in train.values.T]),
    }
    scores = {name: _score(truth.values, values, train.values, m)
              for name, values in baseline_forecasts.items()}
    return Evaluation(
        metrics=_score(truth.values, forecast.to_numpy(), train.values, m),
        baselines=scores,
        forecast=forecast,
        truth=_frame(truth),
        train=_frame(train),
        baseline_forecasts=baseline_forecasts,
        season=m,
        model=model,
        snapshots=snapshots,
    )


def _score(truth: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season: int) -> dict:
    """Metrics over all targets: the mean of each column's score."""
    per_column = [score(truth[:, k], forecast[:, k], insample[:, k], season)
                  for k in range(truth.shape[1])]
    return {key: float(np.mean([s[key] for s in per_column])) for key in per_column[0]}


def _frame(data: SeriesData) -> pd.DataFrame:
    return pd.DataFrame(data.values, index=data.index, columns=data.columns)
