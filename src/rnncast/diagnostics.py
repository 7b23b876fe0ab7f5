"""Gradient flow through time: how much the loss at the end still "hears" each step.

For a network and a batch, :func:`gradient_flow` measures ‖∂loss/∂h_t‖ for every time step t of
each recurrent layer (the total derivative, through every later step) and the norm of every
layer's weight gradient. Vanishing gradients show as norms falling by orders of magnitude from
the last step back to the first; exploding ones as norms growing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnncast.networks import RecurrentNet


@dataclass
class GradientFlow:
    """``through_time[k][t]``: mean over the batch of ‖∂loss/∂h_t‖ in layer ``k`` (t = 0 is the
    first step); ``weights``: the gradient norm of each named parameter; ``loss``."""

    through_time: list[np.ndarray]
    weights: dict[str, float]
    loss: float

    @property
    def ratio(self) -> float:
        """‖∂loss/∂h_1‖ / ‖∂loss/∂h_T‖ in the first layer: 1 keeps memory, ≪ 1 vanishes."""
        first = self.through_time[0]
        return float(first[0] / first[-1]) if first[-1] > 0 else float("nan")


def gradient_flow(net: RecurrentNet, X: Tensor, Y: Tensor, loss: str = "mse") -> GradientFlow:
    """Gradient norms through time and per parameter for one batch ``X (B, T, I)``, ``Y``.

    Unrolls the cells explicitly (the same equations as the fused kernels) so that every
    ``h_t`` is a tensor autograd can differentiate against; leaves ``net``'s gradients set.
    """
    layer = net.recurrent
    was_training = net.training
    net.eval()  # no dropout: measure the function itself
    net.zero_grad(set_to_none=True)
    x, hidden = X, []
    for cell in layer.cells:
        state = cell.initial_state(X.shape[0], X)
        xw = cell.project_input(x)  # (B, T, G·H)
        steps = []
        for t in range(X.shape[1]):
            state = cell.step(xw[:, t], state)
            steps.append(state[0])
        hidden.append(steps)
        x = torch.stack(steps, dim=1)  # (B, T, H): the next layer's input
    out = x if net.head == "sequence" else x[:, -1]
    pred = net.output(out)
    pred = pred if net.head == "sequence" else pred.view(X.shape[0], net.horizon, net.n_outputs)
    value = F.l1_loss(pred, Y) if loss == "mae" else F.mse_loss(pred, Y)
    flat = [h for steps in hidden for h in steps]
    grads = torch.autograd.grad(value, flat, retain_graph=True, allow_unused=True)
    T = X.shape[1]
    through_time = []
    for k in range(len(hidden)):
        norms = [g.norm(dim=1).mean().item() if g is not None else 0.0
                 for g in grads[k * T:(k + 1) * T]]
        through_time.append(np.asarray(norms))
    value.backward()
    weights = {name: p.grad.norm().item() for name, p in net.named_parameters() if p.grad is not None}
    net.train(was_training)
    return GradientFlow(through_time, weights, value.item())
