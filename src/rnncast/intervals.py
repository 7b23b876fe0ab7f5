"""Conformal prediction intervals from out-of-sample forecast errors.

Split conformal prediction (Vovk et al. 2005) per horizon step: the band at level L around a
forecast is ± the ⌈(n+1)·L⌉-th smallest of n absolute errors that a model of the same kind made
on data it had not seen. Errors live on the model's scale (after log and scaling), so one set of
errors serves series of every size, and a log model's band is relative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnncast.errors import SettingError


@dataclass
class Calibration:
    """``scores (n, h, F)``: absolute forecast errors on the model's scale, for ``h`` steps."""

    scores: np.ndarray

    @property
    def horizon(self) -> int:
        return self.scores.shape[1]

    def halfwidth(self, level: float, horizon: int | None = None) -> np.ndarray:
        """Half-width ``(horizon, F)`` of the ``level``-% band (infinite with too few errors)."""
        if not 0 < level < 100:
            raise SettingError(f"interval levels are percentages between 0 and 100, got {level:g}")
        horizon = horizon or self.horizon
        if horizon > self.horizon:
            raise SettingError(f"intervals were calibrated for {self.horizon} steps, not {horizon}; "
                             "calibrate again with the longer horizon")
        steps = self.scores[:, :horizon].astype(np.float64)  # (n, horizon, F)
        out = np.full(steps.shape[1:], np.inf)
        for (t, f), _ in np.ndenumerate(out):
            errors = np.sort(steps[:, t, f][np.isfinite(steps[:, t, f])])
            rank = math.ceil((len(errors) + 1) * level / 100)  # the finite-sample correction
            if rank <= len(errors):
                out[t, f] = errors[rank - 1]
        return out


    def highest_level(self, horizon: int | None = None) -> float:
        """The highest level (%) whose band is finite at every step: with n errors, n/(n+1)."""
        horizon = horizon or self.horizon
        finite = np.isfinite(self.scores[:, :horizon]).sum(axis=0)  # (horizon, F)
        n = int(finite.min())
        return 100 * n / (n + 1)


def coverage(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of the finite points of ``truth`` inside ``[lo, hi]``."""
    truth, lo, hi = (np.asarray(a, dtype=np.float64) for a in (truth, lo, hi))
    ok = np.isfinite(truth)
    return float(np.mean((truth[ok] >= lo[ok]) & (truth[ok] <= hi[ok])))
