"""Gradient flow through time: how much the loss at the end still "hears" each step.

For a network and a batch, :func:`gradient_flow` measures ‖∂loss/∂h_t‖ for every time step t of
each recurrent layer (the total derivative, through every later step) and the norm of every
layer's weight gradient. Vanishing gradients show as norms falling by orders of magnitude from
the last step back to the first; exploding ones as norms growing.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from rnncast.data import as_panel
from rnncast.datasets import adding_problem
from rnncast.errors import TrainingDiverged
from rnncast.features import Channels, laid_out
from rnncast.networks import ModelConfig, RecurrentNet
from rnncast.plan import keep_long_enough, resolve
from rnncast.sampling import training_windows
from rnncast.settings import SeriesConfig
from rnncast.training import LOSSES, EpochInfo, TrainConfig, evaluate_loss, seed_everything, train
from rnncast.transforms import Transforms


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
    """Gradient norms through time and per parameter for one batch ``X (B, T, I)``, ``Y``, with
    the training ``loss`` (:data:`rnncast.training.LOSSES`).

    The network runs its explicit path with a trace (the same equations as the fused kernels),
    so that every ``h_t`` is a tensor autograd can differentiate against; leaves ``net``'s
    gradients set."""
    was_training = net.training
    net.eval()  # no dropout: measure the function itself
    net.zero_grad(set_to_none=True)
    hidden: list[list[Tensor]] = []  # per layer, h_t of every step
    value = LOSSES[loss](net(X, trace=hidden), Y)
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


# -- probing a configuration: gradients at initialisation, then a short training run ------------
@dataclass
class Probe:
    """One configuration trained briefly on one data set.

    ``flow``: gradient flow at initialisation (float64, so vanished gradients stay measurable);
    ``layer_norms[e]``: each layer's weight-gradient norm on a fixed batch after epoch ``e + 1``;
    ``final_loss``: validation MSE after training (NaN when it diverged); ``baseline_loss``:
    validation MSE of always predicting the training targets' mean.
    """

    flow: GradientFlow
    layer_norms: list[dict[str, float]]
    final_loss: float
    baseline_loss: float
    diverged: bool
    clipped_fraction: float
    skipped_steps: int
    epochs: int
    seconds: float

    @property
    def gradient_ratio(self) -> float:
        return self.flow.ratio

    @property
    def reduction(self) -> float:
        """Share of the best possible error reduction reached: 1 − final / baseline."""
        return 1.0 - self.final_loss / self.baseline_loss

    def to_dict(self) -> dict:
        return {"gradient_ratio": self.gradient_ratio, "final_loss": self.final_loss,
                "baseline_loss": self.baseline_loss, "reduction": self.reduction,
                "diverged": self.diverged, "clipped_fraction": self.clipped_fraction,
                "skipped_steps": self.skipped_steps, "epochs": self.epochs,
                "seconds": self.seconds}


def layer_norms(weights: dict[str, float]) -> dict[str, float]:
    """Gradient norms per parameter grouped per layer (``layer 1``, …, ``output``)."""
    squares: dict[str, float] = {}
    for name, norm in weights.items():
        parts = name.split(".")
        layer = f"layer {int(parts[2]) + 1}" if parts[:2] == ["recurrent", "cells"] else parts[0]
        squares[layer] = squares.get(layer, 0.0) + norm**2
    return {layer: float(np.sqrt(value)) for layer, value in squares.items()}


def probe(data: tuple[Tensor, Tensor, Tensor, Tensor], model: ModelConfig, config: TrainConfig,
          flow_batch: int = 256) -> Probe:
    """Measure the gradient flow of a fresh network on ``data = (X, Y, Xv, Yv)`` (``X: (N, T, I)``,
    ``Y: (N, h, F)``), then train it with ``config`` and score it on the validation pairs."""
    X, Y, Xv, Yv = data
    seed_everything(config.seed)
    net = RecurrentNet(model, X.shape[2], Y.shape[2], head="direct", horizon=Y.shape[1])
    Xb, Yb = X[:flow_batch], Y[:flow_batch]
    flow = gradient_flow(copy.deepcopy(net).double(), Xb.double(), Yb.double(), config.loss)
    norms: list[dict[str, float]] = []

    def record(info: EpochInfo) -> None:
        norms.append(layer_norms(gradient_flow(info.net, Xb, Yb, config.loss).weights))

    start = time.perf_counter()
    try:
        history, diverged = train(net, X, Y, config, (Xv, Yv), record), False
    except TrainingDiverged as error:
        history, diverged = error.history, True
    final = float("nan") if diverged else evaluate_loss(net, Xv, Yv, "mse")
    diverged = diverged or not math.isfinite(final)
    baseline = float(torch.mean((Yv - Y.mean(dim=0)) ** 2))
    return Probe(flow, norms, final, baseline, diverged,
                 history.clipped_steps / max(1, history.steps), history.skipped_steps,
                 len(history.loss), time.perf_counter() - start)


def pairs(y, settings: SeriesConfig, window: int | None = None) -> tuple[Tensor, ...]:
    """The level-normalised tensors ``(X, Y, Xv, Yv)`` that one member of a forecaster with
    ``settings`` trains on from the data ``y``, for input length ``window`` (default: the
    plan's first)."""
    inputs = (*settings.covariates, *settings.future)
    panel = laid_out(as_panel(y, inputs), settings)
    plan = resolve(panel, settings)
    panel = keep_long_enough(panel, plan)
    channels = Channels.of(panel, plan, False)
    Z = Transforms.fit_checked(panel, plan).forward_panel(panel)
    window = window or plan.windows[0]
    data, val = training_windows(Z, panel, plan, [window], channels)[window]
    return (*data.all(), *val.all())


def adding_data(length: int, n_train: int = 10_000, n_val: int = 1_000, seed: int = 0):
    """The adding problem as ``(X, Y, Xv, Yv)`` float32 tensors (independent draws)."""
    X, Y = adding_problem(n_train + n_val, length, seed=seed)
    X, Y = torch.tensor(X, dtype=torch.float32), torch.tensor(Y, dtype=torch.float32)
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]


# The remedies the deck names, each switched on alone over a plain starting point.
REMEDIES: dict[str, tuple[dict, dict]] = {  # name: (ModelConfig changes, TrainConfig changes)
    "plain (tanh, PyTorch init)": ({}, {}),
    "relu": ({"activation": "relu"}, {}),
    "leaky_relu": ({"activation": "leaky_relu"}, {}),
    "elu": ({"activation": "elu"}, {}),
    "xavier init": ({"init": "xavier"}, {}),
    "layer norm": ({"layer_norm": True}, {}),
    "clip value 1": ({}, {"clip_value": 1.0}),
    "clip norm 1": ({}, {"clip_norm": 1.0}),
}


def remedies(data, cell: str, model: ModelConfig, config: TrainConfig,
             explode_lr: float | None = None) -> dict[str, Probe]:
    """Probe ``cell`` with each remedy alone on ``data``, starting from ``model`` with PyTorch's
    init and ``config`` without clipping or spike guard, so each row shows one switch's effect.

    ``explode_lr``: also train with plain SGD at this learning rate, without and with clipping
    by norm — the exploding-gradient case the clipping remedy is for.
    """
    plain_model = replace(model, cell=cell, init="pytorch", activation="tanh", layer_norm=False)
    plain = replace(config, clip_norm=None, clip_value=None, spike_guard=None)
    rows = {}
    for name, (model_changes, train_changes) in REMEDIES.items():
        rows[name] = probe(data, replace(plain_model, **model_changes), replace(plain, **train_changes))
    if explode_lr is not None:
        sgd = replace(plain, optimizer="sgd", lr=explode_lr)
        rows[f"SGD lr {explode_lr:g}, no clipping"] = probe(data, plain_model, sgd)
        rows[f"SGD lr {explode_lr:g}, clip norm 1"] = probe(data, plain_model,
                                                            replace(sgd, clip_norm=1.0))
    return rows
