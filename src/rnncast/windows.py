"""Cut series into (window → horizon) training pairs, as zero-copy strided views.

A series is ``(T,)`` or ``(T, F)``; windows come out as ``X: (N, window, F)`` and
``Y: (N, horizon, F)``, where pair ``k`` is ``series[k·stride : k·stride + window]`` →
``series[k·stride + window : k·stride + window + horizon]`` (the deck's sequence batches).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def as_2d(series: np.ndarray) -> np.ndarray:
    """``(T,) -> (T, 1)``; ``(T, F)`` unchanged (a view either way)."""
    series = np.asarray(series)
    if series.ndim == 1:
        return series[:, None]
    if series.ndim != 2:
        raise ValueError(f"a series must be (time,) or (time, features), got shape {series.shape}")
    return series


def count_windows(length: int, window: int, horizon: int, stride: int = 1) -> int:
    """How many full (window → horizon) pairs a series of ``length`` points holds."""
    span = window + horizon
    return 0 if length < span else (length - span) // stride + 1


def make_windows(
    series: np.ndarray, window: int, horizon: int = 1, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """All (window → horizon) pairs of one series, as read-only views into it.

    >>> X, Y = make_windows(np.arange(10), window=4, horizon=1)
    >>> X[0, :, 0].tolist(), Y[0, :, 0].tolist()
    ([0, 1, 2, 3], [4])
    """
    for name, value in (("window", window), ("horizon", horizon), ("stride", stride)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    data = as_2d(series)
    n = count_windows(len(data), window, horizon, stride)
    if n == 0:
        raise ValueError(
            f"series of length {len(data)} is shorter than window + horizon = {window + horizon}"
        )
    # (T - span + 1, F, span) -> (N, span, F): one view, no copy
    spans = sliding_window_view(data, window + horizon, axis=0)[::stride][:n].transpose(0, 2, 1)
    return spans[:, :window], spans[:, window:]


def holdout_split(series: np.ndarray, test: int) -> tuple[np.ndarray, np.ndarray]:
    """Split off the last ``test`` points: ``(train, test)``, both views."""
    if int(test) != test or test < 1:
        raise ValueError(f"test size must be a positive integer, got {test!r}")
    if test >= len(series):
        raise ValueError(f"test size {test} leaves no training data in a series of {len(series)}")
    return series[:-test], series[-test:]
