"""Scaling fitted on the training part only, and per-window level normalisation.

A scaler fitted on the past cannot represent a level the series has not reached yet, so a
trending series leaves its range. Normalising every window by its own recent level (the mean of
its last season, after a log for multiplicative series) makes windows alike across time.
Everything here is NumPy in, NumPy out (the level functions also take torch tensors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnncast.errors import SettingError

SCALERS = ("standard", "minmax", "none", "asinh", "step")
ASINH = "asinh"  # asinh((y - median) / MAD) per series: a log for data of both signs (prices)
STEP = "step"  # (y - mean) / mean |y_t - y_(t-m)| per series: one typical (seasonal) step is 1
LOG1P = "log1p"  # log(1 + y): for data with zeros but none below


@dataclass
class Scaler:
    """Per-feature affine scaling, optional log first: ``z = (log?(y) - shift) / scale``.

    ``kind``: ``"standard"`` (mean 0, std 1), ``"minmax"`` (to [0, 1], the deck's choice) or
    ``"none"``. A constant feature gets scale 1 instead of dividing by zero.
    """

    kind: str = "standard"
    log: bool = False
    shift: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))

    def __post_init__(self) -> None:
        if self.kind not in SCALERS[:3]:
            raise SettingError(f"scaler must be one of {SCALERS[:3]}, got {self.kind!r}")

    def fit(self, train: np.ndarray) -> Scaler:
        """Fit on the training part ``(T, F)`` (or ``(T,)``) only."""
        data = self._pre(np.asarray(train, dtype=np.float64))
        data = data.reshape(len(data), -1)
        if self.kind == "standard":
            shift, scale = data.mean(0), data.std(0)
        elif self.kind == "minmax":
            shift, scale = data.min(0), data.max(0) - data.min(0)
        else:
            shift, scale = np.zeros(data.shape[1]), np.ones(data.shape[1])
        self.shift, self.scale = shift, np.where(scale > 1e-12 * np.maximum(1, abs(shift)), scale, 1.0)
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        y = self._pre(np.asarray(y, dtype=np.float64))
        return (y - self.shift) / self.scale  # (T, F) or (..., F); (T,) when F == 1

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        y = z * self.scale + self.shift
        return np.exp(y) if self.log else y

    def _pre(self, y: np.ndarray) -> np.ndarray:
        if not self.log:
            return y
        if np.any(y <= 0):
            raise SettingError("log scaling needs strictly positive values; turn it off (log=False, "
                             "--log no)")
        return np.log(y)

    def state(self) -> dict:
        """A JSON-able description, enough to rebuild this scaler."""
        return {"kind": self.kind, "log": self.log, "shift": self.shift.tolist(),
                "scale": self.scale.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> Scaler:
        return cls(state["kind"], bool(state["log"]), np.asarray(state["shift"], dtype=np.float64),
                   np.asarray(state["scale"], dtype=np.float64))


def window_level(x, span: int):
    """Level of each window: the mean of its last ``span`` steps; ``(B, W, F) -> (B, 1, F)``."""
    return x[:, -span:].mean(1)[:, None]


def first_level(x, span: int):
    """Level from each window's *first* ``span`` steps (causal for every later step)."""
    return x[:, :span].mean(1)[:, None]


def seasonal_indices(y: np.ndarray, season: int, confidence: float = 1.645) -> np.ndarray:
    """Classical multiplicative seasonal indices ``(season,)``, by position ``t % season``.

    As in the M3 competition's Naive2 and Theta: the series counts as seasonal when its
    autocorrelation at lag ``season`` passes a 90% test; then the indices are the mean ratios of
    the series to its centred 2×season moving average, normalised to mean 1. Otherwise (or for
    non-positive or short data) all ones.
    """
    y = np.asarray(y, dtype=np.float64)
    ones = np.ones(max(season, 1))
    n = len(y)
    if season < 2 or n < 3 * season or np.any(y <= 0):
        return ones
    centred = y - y.mean()
    denom = np.sum(centred**2)
    if denom == 0:
        return ones
    r = np.array([np.sum(centred[k:] * centred[: n - k]) / denom for k in range(season + 1)])
    limit = confidence * np.sqrt((1 + 2 * np.sum(r[1:season] ** 2)) / n)
    if abs(r[season]) <= limit:
        return ones
    weights = np.r_[0.5, np.ones(season - 1), 0.5] / season
    trend = np.convolve(y, weights, mode="valid")  # centred moving average, n - season points
    offset = season // 2
    ratio = y[offset : offset + len(trend)] / trend
    position = (np.arange(len(ratio)) + offset) % season
    indices = np.array([ratio[position == k].mean() for k in range(season)])
    return indices / indices.mean()
