"""The remedies for exploding gradients that act on each step: clipping by norm or by value,
and skipping a step whose gradient norm spikes (the deck's vanishing/exploding section)."""

from __future__ import annotations

import math
import statistics

import torch
from torch import Tensor, nn


class SpikeGuard:
    """Flags a step whose gradient norm is not finite, or exceeds ``factor`` times the median
    of the last 50 finite norms (after 20 steps), so the step can be skipped instead of taken.

    Skipped norms still enter the window: a lasting rise of the gradient scale (as when a model
    leaves a plateau) is accepted once it fills half the window, while a lone spike never moves
    the median."""

    def __init__(self, factor: float | None, window: int = 50, warmup: int = 20) -> None:
        self.factor, self.window, self.warmup = factor, window, warmup
        self.norms: list[float] = []  # the last `window` finite norms
        self.seen = 0  # finite norms seen so far
        self.last = self.median = float("nan")

    def should_skip(self, norm: float) -> bool:
        """``norm``: this step's total gradient norm."""
        self.last = norm
        if not math.isfinite(norm):
            return True
        self.median = statistics.median(self.norms) if self.norms else float("nan")  # 50 floats
        spike = (self.factor is not None and self.seen >= self.warmup
                 and norm > self.factor * self.median)
        self.norms = [*self.norms[-(self.window - 1) :], norm]  # the last `window` norms
        self.seen += 1
        return spike


def clip(net: nn.Module, grads: list[Tensor], norm: float, clip_value: float | None,
         clip_norm: float | None) -> int:
    """Clip gradients by value, then by norm (None: not that way); 1 when this step was
    clipped, else 0. ``norm`` is the total norm of ``grads`` before any clipping."""
    clipped = 0
    if clip_value is not None:
        clipped = int(any(g.abs().max() > clip_value for g in grads))
        nn.utils.clip_grad_value_(net.parameters(), clip_value)  # in place: grads too
        if clipped:
            norm = float(nn.utils.get_total_norm(grads))  # the value clip changed it
    if clip_norm is not None and norm > clip_norm:
        nn.utils.clip_grads_with_norm_(net.parameters(), clip_norm, torch.tensor(norm))
        clipped = 1
    return clipped
