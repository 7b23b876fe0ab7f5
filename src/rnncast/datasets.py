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


def air_passengers_path() -> str:
    """Path of the shipped CSV (columns ``month, passengers``), for the command line."""
    return str(resources.files("rnncast").joinpath("data/airpassengers.csv"))
