"""Forecasting strategies over a trained network, each batched over many series at once.

All functions work on normalised tensors ``(B, W, F)`` (B series, or B origins) and a
``normalise`` pair of functions supplied by the caller; they never loop over series.

- :func:`recursive_rolling`: the deck's walk-through. Predict one step from the window, append
  the prediction, drop the oldest value, predict again. Re-runs the whole window each step.
- :func:`recursive_stateful`: the same recursion, but the recurrent state is carried: after the
  window, each step feeds only the newest value (``O(W + h)`` cell steps instead of ``O(W·h)``).
- :func:`direct`: one pass, the network emits all ``horizon`` values; longer horizons are
  covered block by block.
- :func:`one_to_many`: from a single vector, unroll the network on its own outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rnncast.networks import RecurrentNet

# level(window) -> offset subtracted from inputs and added back to outputs, (B, 1, F)
LevelFn = Callable[[Tensor], Tensor]


def no_level(window: Tensor) -> Tensor:
    """No level normalisation: a zero offset of the right shape."""
    return window.new_zeros(window.shape[0], 1, window.shape[2])


@torch.no_grad()
def recursive_rolling(
    net: RecurrentNet, window: Tensor, steps: int, level: LevelFn = no_level
) -> Tensor:
    """``window: (B, W, F)`` -> ``(B, steps, F)`` by the deck's append-and-drop recursion."""
    net.eval()
    preds = []
    for _ in range(steps):
        offset = level(window)  # (B, 1, F)
        nxt = net(window - offset)[:, -1:] + offset  # (B, 1, F)
        preds.append(nxt)
        window = torch.cat([window[:, 1:], nxt], dim=1)  # drop the oldest, append the newest
    return torch.cat(preds, dim=1)


@torch.no_grad()
def recursive_stateful(
    net: RecurrentNet, window: Tensor, steps: int, level: LevelFn = no_level
) -> Tensor:
    """Like :func:`recursive_rolling`, carrying the recurrent state; the level stays the one of
    the forecast origin's window."""
    net.eval()
    offset = level(window)  # (B, 1, F), fixed at the origin
    nxt, state = net.step(window - offset)  # (B, F)
    preds = [nxt]
    for _ in range(steps - 1):
        nxt, state = net.step(nxt[:, None], state)  # feed back the newest value only
        preds.append(nxt)
    return torch.stack(preds, dim=1) + offset


@torch.no_grad()
def direct(net: RecurrentNet, window: Tensor, steps: int, level: LevelFn = no_level) -> Tensor:
    """All steps from one pass per ``net.horizon`` block: ``(B, W, F) -> (B, steps, F)``."""
    net.eval()
    blocks, done = [], 0
    while done < steps:
        offset = level(window)
        block = net(window - offset) + offset  # (B, horizon, F)
        blocks.append(block)
        done += block.shape[1]
        window = torch.cat([window, block], dim=1)[:, -window.shape[1]:]
    return torch.cat(blocks, dim=1)[:, :steps]


@torch.no_grad()
def one_to_many(net: RecurrentNet, x: Tensor, steps: int) -> Tensor:
    """From one vector per series, ``x: (B, F)``, produce ``(B, steps, F)`` by feeding the
    network its own outputs (the deck's vector-to-sequence shape)."""
    return recursive_stateful(net, x[:, None], steps)


STRATEGIES = {"recursive": recursive_rolling, "stateful": recursive_stateful, "direct": direct}
