"""Per-series transforms of many series at once: classical seasonal indices, a log, an affine
scale. Each series' are fitted on its own training data; forward and back they apply by
position, so a series' phase in its season comes from where its values stand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnncast.scaling import Scaler, seasonal_indices


@dataclass
class Transforms:
    """``z = (log?(y / seasonal[phase]) - shift) / scale`` for series ``k`` at position ``t``
    (phase ``t mod m``). ``shift, scale: (N, F)``; ``seasonal: (N, m, F)`` or None."""

    kind: str
    log: bool
    shift: np.ndarray
    scale: np.ndarray
    seasonal: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.shift)

    @classmethod
    def fit(cls, series: list[np.ndarray], kind: str, log: bool, season: int = 1,
            deseasonalize: bool = False) -> Transforms:
        """Fit on each series ``(T_k, F)`` (its training data, from position 0)."""
        seasonal = None
        if deseasonalize and season > 1:
            seasonal = np.stack([np.stack([seasonal_indices(col, season) for col in s.T], axis=1)
                                 for s in series])  # (N, m, F)
        fitted = cls(kind, log, np.zeros((len(series), 0)), np.zeros((len(series), 0)), seasonal)
        scalers = [Scaler(kind, log).fit(fitted.deseason(k, s, 0)) for k, s in enumerate(series)]
        fitted.shift = np.stack([s.shift for s in scalers])
        fitted.scale = np.stack([s.scale for s in scalers])
        return fitted

    def not_finite(self) -> np.ndarray:
        """The series whose fitted shift or scale overflowed (indices)."""
        ok = np.isfinite(self.shift).all(axis=1) & np.isfinite(self.scale).all(axis=1)
        return np.flatnonzero(~ok)

    def deseason(self, k: int, values: np.ndarray, start: int) -> np.ndarray:
        """Series ``k``'s values ``(T, F)`` at positions ``start, start+1, …`` divided by its
        seasonal indices."""
        if self.seasonal is None:
            return values
        si = self.seasonal[k]  # (m, F)
        return values / si[(start + np.arange(len(values))) % len(si)]

    def forward(self, k: int, values: np.ndarray, start: int) -> np.ndarray:
        """Series ``k``'s values ``(T, F)`` from position ``start`` on the model's scale."""
        z = self.deseason(k, values, start)
        if self.log:
            z = np.log(z)
        return (z - self.shift[k]) / self.scale[k]

    def forward_all(self, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """``(B, h, F)`` values of every series (the first ``F`` columns), series ``b`` from
        position ``starts[b]``, on the model's scale; NaN where a log meets a value ≤ 0."""
        F = values.shape[2]
        if self.seasonal is not None:
            values = values / self._indices(np.arange(len(values)), starts, values.shape[1], F)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
        return (values - self.shift[:, None, :F]) / self.scale[:, None, :F]

    def inverse_all(self, scaled: np.ndarray, starts: np.ndarray, rows=slice(None)) -> np.ndarray:
        """:meth:`forward_all` backwards for the series ``rows`` (all by default)."""
        F = scaled.shape[2]
        values = scaled * self.scale[rows][:, None, :F] + self.shift[rows][:, None, :F]
        if self.log:
            values = np.exp(values)
        if self.seasonal is not None:
            values = values * self._indices(rows, starts, scaled.shape[1], F)
        return values

    def _indices(self, rows, starts: np.ndarray, steps: int, F: int) -> np.ndarray:
        m = self.seasonal.shape[1]
        phase = (np.asarray(starts)[:, None] + np.arange(steps)) % m  # (B, h)
        return np.take_along_axis(self.seasonal[rows][..., :F], phase[:, :, None], axis=1)
