"""Data shipped with the package, so examples and the demo run without a network."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd


def sine_wave(points: int = 501, end: float = 50.0) -> np.ndarray:
    """The deck's sine wave: ``sin(x)`` at ``points`` evenly spaced x in ``[0, end]``."""
    return np.sin(np.linspace(0.0, end, points))


def air_passengers() -> pd.Series:
    """Monthly international airline passengers (thousands), January 1949 to December 1960."""
    with resources.files("rnncast").joinpath("data/airpassengers.csv").open() as handle:
        frame = pd.read_csv(handle, parse_dates=["month"], index_col="month")
    series = frame["passengers"].astype(np.float64)
    series.index.freq = "MS"
    return series


def adding_problem(n: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997), a long-memory task.

    Inputs ``(n, length, 2)``: a value drawn from U(0, 1) and a marker that is 1 at exactly two
    steps, one in the first half and one in the second; target ``(n, 1, 1)``: the sum of the two
    marked values. The first marker lies up to ``length`` steps back from the answer, so a model
    must carry it through time. Always predicting the mean scores an MSE of 1/6.
    """
    if length < 2:
        raise ValueError(f"length must be >= 2, got {length}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, length))
    markers = np.zeros((n, length))
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    rows = np.arange(n)
    markers[rows, first] = markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=2), target[:, None, None]
