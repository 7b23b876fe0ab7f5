"""Networks: a recurrent layer with a linear output layer, in the deck's three shapes.

- ``head="last"`` (many-to-one): the last step's ``h_T`` → the next value, ``(B, 1, F_out)``.
- ``head="sequence"`` (many-to-many): every ``h_t`` → the value at ``t + 1``, ``(B, T, F_out)``;
  ``skip`` drops the first steps from the output (those that may not be scored).
- ``head="direct"`` (many-to-one vector): ``h_T`` → the next ``horizon`` values at once,
  ``(B, horizon, F_out)``. With ``known`` inputs (future covariates), the input also holds the
  ``horizon`` forecast steps' known channels after the window, and a small decoder adds, step by
  step, what they tell: ``MLP([context_k(h_T), x_{T+k}])`` (NeuralForecast's RNN decoder).
  With quantile ``levels``, one output per level: ``(B, horizon, F_out, Q)``, in order
  (:func:`rnncast.quantiles.ordered`), trained on the pinball loss.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from rnncast.cells import ACTIVATIONS, CELLS, INITS
from rnncast.errors import SettingError, bounded
from rnncast.quantiles import ordered, pinball
from rnncast.recurrent import Recurrent, State

HEADS = ("last", "sequence", "direct")
CONTEXT = 16  # numbers of h_T per forecast step that the decoder of known inputs reads
MAX_UNITS, MAX_LAYERS = 4096, 16


def estimate_bytes(config: ModelConfig, n_inputs: int, window: int, batch: int, outputs: int) -> int:
    """Memory one member needs to train: weights, gradients and Adam's two moments (4 copies),
    and the activations of one batch kept for backpropagation through time."""
    gates = {"rnn": 1, "gru": 3, "gru_torch": 3}.get(config.cell, 4)
    H, L = config.units, config.layers
    weights = gates * H * (n_inputs + H + 2) + (L - 1) * gates * H * (2 * H + 2) + H * outputs
    activations = batch * window * L * H * (gates + 2)
    return 4 * (4 * weights + 3 * activations)


def check_memory(config: ModelConfig, n_inputs: int, window: int, batch: int, outputs: int) -> None:
    """Refuse a network that cannot train in half this machine's memory, before allocating it."""
    need = estimate_bytes(config, n_inputs, window, batch, outputs)
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # the system does not say
        return
    if need > have // 2:
        raise SettingError(f"a network of {config.units} units x {config.layers} layers over "
                           f"windows of {window} needs about {need / 2**30:.1f} GiB to train; this "
                           f"machine has {have / 2**30:.1f} GiB: use fewer units, layers or a "
                           "smaller batch")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that shapes the network (stored in a model directory's JSON)."""

    cell: str = "lstm"
    # 32: on every part of the development collection as accurate as 64 or more, at half the
    # CPU or less (README, "The recipe")
    units: int = 32
    layers: int = 1
    dropout: float = 0.0
    activation: str = "tanh"
    init: str = "xavier"
    forget_bias: float | None = None  # None: 1.0 for xavier init, PyTorch's draw for pytorch
    layer_norm: bool = False
    fused: bool | None = None
    id_embedding: int = 0  # width of a learned per-series vector fed at every step (0: none)
    chrono: int = 0  # > 1: memory-gate biases for memories up to this many steps (see cells)

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise SettingError(f"cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        if self.activation not in ACTIVATIONS:
            raise SettingError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.init not in INITS:
            raise SettingError(f"init must be one of {INITS}, got {self.init!r}")
        bounded("units", self.units, MAX_UNITS, "wider layers do not help forecasting and can "
                "exhaust memory")
        bounded("layers", self.layers, MAX_LAYERS, "deeper stacks of recurrent layers do not "
                "train well and can exhaust memory")
        bounded("id_embedding", self.id_embedding, MAX_UNITS, "a per-series vector wider than "
                "the network is never useful", low=0)

    def to_dict(self) -> dict:
        return asdict(self)


class RecurrentNet(nn.Module):
    """``Recurrent`` layers, then a linear layer from ``units`` to the outputs."""

    def __init__(
        self,
        config: ModelConfig,
        n_inputs: int,
        n_outputs: int,
        head: str = "last",
        horizon: int = 1,
        skip: int = 0,
        n_ids: int = 0,
        known: bool = False,
        levels: tuple[float, ...] = (),
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise SettingError(f"head must be one of {HEADS}, got {head!r}")
        if head != "direct" and horizon != 1:
            raise SettingError(f"head {head!r} predicts one step; horizon must be 1, got {horizon}")
        if levels and head != "direct":
            raise SettingError("quantiles need the direct head")
        if known and head == "sequence":
            raise SettingError("inputs known over the forecast need a head that forecasts ahead "
                               "(direct, or one step for the recursive strategy)")
        self.config, self.head, self.horizon, self.skip = config, head, horizon, skip
        self.known, self.levels, Q = known, tuple(levels), max(len(levels), 1)
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        width = n_inputs
        self.embedding = None
        if config.id_embedding and n_ids:  # the last input channel holds the series' number
            self.embedding = nn.Embedding(n_ids, config.id_embedding)
            width = n_inputs - 1 + config.id_embedding
        self.recurrent = Recurrent(
            config.cell, width, config.units, config.layers, config.dropout, config.fused,
            config.activation, config.init, config.forget_bias, config.layer_norm,
            chrono=config.chrono,
        )
        self.output = nn.Linear(config.units, n_outputs * horizon * Q)
        if known:
            H = config.units
            self.context = nn.Linear(H, horizon * CONTEXT)
            self.decoder = nn.Sequential(nn.Linear(CONTEXT + width, H), nn.ReLU(),
                                         nn.Linear(H, n_outputs * Q))
            nn.init.zeros_(self.decoder[2].weight)  # starts as the plain head
            nn.init.zeros_(self.decoder[2].bias)

    def _embed(self, x: Tensor) -> Tensor:
        """Replace the series-number channel by its learned vector:
        ``(B, T, I) -> (B, T, I - 1 + E)``."""
        if self.embedding is None:
            return x
        vectors = self.embedding(x[:, 0, -1].round().long())  # (B, E), one per series
        return torch.cat([x[..., :-1], vectors[:, None].expand(-1, x.shape[1], -1)], dim=2)

    def forward(self, x: Tensor, state: State | None = None,
                trace: list[list[Tensor]] | None = None) -> Tensor:
        """``x: (B, T, n_inputs)`` -> predictions, shaped by ``head`` (see the module doc);
        ``trace``: see :meth:`Recurrent.forward`."""
        x = self._embed(x)
        if self.known:  # the window, then the forecast steps' known inputs
            x, ahead = x[:, : -self.horizon], x[:, -self.horizon :]  # (B, W, I), (B, h, I)
        out, _ = self.recurrent(x, state, trace)  # (B, T, H)
        if self.head == "sequence":
            return self.output(out[:, self.skip :])  # (B, T - skip, F_out)
        h_T = out[:, -1]  # (B, H)
        y = self.output(h_T).view(x.shape[0], self.horizon, -1)  # (B, h, F_out·Q)
        if self.known:
            context = self.context(h_T).view(x.shape[0], self.horizon, CONTEXT)
            y = y + self.decoder(torch.cat([context, ahead], dim=2))
        if self.levels:
            return ordered(y.view(x.shape[0], self.horizon, self.n_outputs, -1),
                           self.levels.index(0.5))  # (B, h, F, Q)
        return y  # (B, h, F_out)

    def loss_fn(self, pred: Tensor, target: Tensor) -> Tensor:
        """The pinball loss of this network's quantile levels (what it trains on)."""
        return pinball(pred, target, pred.new_tensor(self.levels))

    def step(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Run ``x: (B, T, I)`` from ``state``; the next-value prediction ``(B, F_out)`` and the
        state after the last step (for state-carrying recursive forecasts)."""
        out, state = self.recurrent(self._embed(x), state)
        return self.output(out[:, -1]), state
