"""Quantile forecasts: a head with one output per level trained on the pinball loss, the levels
kept in order by construction, and the scores that say how well calibrated a band is (pinball
loss, coverage, the interval score MSIS). Arrays in, arrays out; the loss and the ordering also
take torch tensors."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from rnncast.errors import SettingError

MEDIAN = 0.5


def levels_of(percents) -> tuple[float, ...]:
    """Quantile levels from percentages (``10,50,90`` → ``(0.1, 0.5, 0.9)``), sorted, with the
    median added (it is the point forecast)."""
    values = sorted({float(p) for p in percents})
    if not values or any(not 0 < p < 100 for p in values):
        raise SettingError(f"quantiles are percentages between 0 and 100, got {list(percents)}")
    return tuple(sorted({p / 100 for p in values} | {MEDIAN}))


def ordered(raw: Tensor) -> Tensor:
    """Raw outputs ``(..., Q)`` → quantiles that never cross: the first, then increments
    through a softplus (each level at least the one below)."""
    return torch.cat([raw[..., :1], raw[..., :1] + torch.cumsum(F.softplus(raw[..., 1:]), -1)], -1)


def pinball(pred: Tensor, target: Tensor, levels: Tensor) -> Tensor:
    """Mean pinball loss of quantile forecasts ``pred (..., F, Q)`` of ``target (..., F)`` at
    ``levels (Q,)`` (at the median: half the absolute error)."""
    error = target[..., None] - pred
    return torch.maximum(levels * error, (levels - 1) * error).mean()


def name(level: float) -> str:
    """A level's column: ``q-10`` for 0.1."""
    return f"q-{100 * level:g}"


def with_quantiles(values: np.ndarray, columns: list[str], bands: list[np.ndarray],
                   levels: tuple[float, ...], targets: list[str]) -> tuple[np.ndarray, list[str]]:
    """The forecast ``(B, h, K)`` and its columns, then each level's ``(B, h, F)`` in ``bands``
    as columns ``q-10 …`` (``<target>-q-10 …`` for several ``targets``)."""
    return np.concatenate([values, *bands], axis=2), [*columns, *quantile_columns(targets, levels)]


def quantile_columns(targets: list[str], levels: tuple[float, ...]) -> list[str]:
    """The quantile columns of a forecast of ``targets``, level by level."""
    return [name(q) if len(targets) == 1 else f"{c}-{name(q)}" for q in levels for c in targets]


def scores(truth: np.ndarray, bands: np.ndarray, levels: tuple[float, ...], train: np.ndarray,
           season: int) -> dict[str, float]:
    """How well the quantile forecasts ``bands (h, F, Q)`` of ``truth (h, F)`` are calibrated:
    the mean pinball loss scaled by the in-sample seasonal naive error (comparable across
    series), and for the outermost band its coverage and its interval score (MSIS)."""
    m = season if len(train) > season else 1
    scale = np.mean(np.abs(train[m:] - train[:-m]), axis=0)  # (F,)
    scale = np.where(scale > 0, scale, np.nan)
    q = np.asarray(levels)
    error = truth[..., None] - bands
    loss = np.maximum(q * error, (q - 1) * error).mean(axis=(0, 2)) / scale  # (F,)
    lo, hi = bands[..., 0], bands[..., -1]
    alpha = 1 - (q[-1] - q[0])
    msis = (hi - lo + 2 / alpha * ((lo - truth) * (truth < lo) + (truth - hi) * (truth > hi)))
    return {"scaled_pinball": float(np.nanmean(loss)),
            "coverage": float(np.mean((truth >= lo) & (truth <= hi))),
            "msis": float(np.nanmean(msis.mean(axis=0) / scale))}


def interval_scores(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float,
                    train: np.ndarray, season: int) -> dict[str, float]:
    """Coverage and MSIS of a band ``[lo, hi] (h, F)`` at ``level`` (e.g. 0.8), for comparing
    the conformal bands with the quantile ones on the same points."""
    return {k: v for k, v in scores(truth, np.stack([lo, hi], -1), ((1 - level) / 2,
                                                                    (1 + level) / 2),
                                    train, season).items() if k != "scaled_pinball"}
