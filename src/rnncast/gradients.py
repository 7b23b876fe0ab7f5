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


def flatten(net: nn.Module) -> nn.Parameter | None:
    """All of ``net``'s weights as views of one parameter, their gradients as views of its
    ``.grad``, so the optimizer steps one tensor instead of one per weight (5% of the CPU of a
    fit of small networks). Each element's arithmetic is unchanged: the same numbers, bit for
    bit. None when the weights differ in dtype or device."""
    params = [p for p in net.parameters() if p.requires_grad]
    if not params or len({(p.dtype, p.device) for p in params}) > 1:
        return None
    values = params[0].new_empty(sum(p.numel() for p in params))
    at = 0
    with torch.no_grad():
        for p in params:
            values[at : at + p.numel()].copy_(p.reshape(-1))
            p.data = values[at : at + p.numel()].view_as(p)
            at += p.numel()
    whole = nn.Parameter(values)
    whole.grad = torch.zeros_like(values)
    regrad(net, whole.grad)
    return whole


def regrad(net: nn.Module, grads: Tensor) -> None:
    """Point each weight's gradient of a :func:`flatten`-ed ``net`` at its part of ``grads``
    again (after something set them to None, as ``zero_grad`` does); backward adds into them."""
    at = 0
    for p in net.parameters():
        if p.requires_grad:
            p.grad = grads[at : at + p.numel()].view_as(p)
            at += p.numel()


def unflatten(net: nn.Module) -> None:
    """Give each weight of a :func:`flatten`-ed ``net`` its own storage again, without gradients."""
    with torch.no_grad():
        for p in net.parameters():
            p.data = p.data.clone()
            p.grad = None
