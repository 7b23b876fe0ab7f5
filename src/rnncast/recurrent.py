"""A recurrent layer: unrolls any cell over time, stacks layers, and uses a fused kernel where
the cell's math is exactly PyTorch's (``nn.RNN``/``nn.LSTM``/``nn.GRU``; cuDNN on a GPU).

Shapes: input ``(B, T, I)``; output ``(B, T, H)`` (the top layer's ``h_t`` at every step);
state: a tuple of ``(layers, B, H)`` tensors, ``(h,)`` or ``(h, C)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnncast.cells import Cell, make_cell
from rnncast.errors import SettingError

State = tuple[Tensor, ...]

# Cells whose equations equal a fused PyTorch kernel (the ops behind torch.nn.RNN/LSTM/GRU,
# public in the torch namespace), and the activations it supports. A torch without one of them
# runs that cell on the explicit path: slower, same numbers.
_KERNELS = {("rnn", "tanh"): "rnn_tanh", ("rnn", "relu"): "rnn_relu", ("lstm", "tanh"): "lstm",
            ("gru_torch", "tanh"): "gru"}
_FUSED = {key: getattr(torch, name) for key, name in _KERNELS.items() if hasattr(torch, name)}


def fusable(cell: str, activation: str = "tanh", layer_norm: bool = False, bias: bool = True) -> bool:
    """True when a fused kernel computes exactly these equations."""
    return (cell, activation) in _FUSED and not layer_norm and bias


class Recurrent(nn.Module):
    """``layers`` stacked recurrent layers of ``units`` cells each, dropout between layers.

    ``fused=None`` picks the fused kernel whenever :func:`fusable` says it is exact; ``False``
    forces the explicit loop over time (the reference), ``True`` insists on the kernel. Both paths
    read the same parameters, so a model trained on one runs on the other.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        units: int,
        layers: int = 1,
        dropout: float = 0.0,
        fused: bool | None = None,
        activation: str = "tanh",
        init: str = "xavier",
        forget_bias: float | None = None,
        layer_norm: bool = False,
        bias: bool = True,
        chrono: int = 0,
    ) -> None:
        super().__init__()
        if layers < 1:
            raise SettingError(f"layers must be >= 1, got {layers}")
        if not 0.0 <= dropout < 1.0:
            raise SettingError(f"dropout must be in [0, 1), got {dropout}")
        can_fuse = fusable(cell, activation, layer_norm, bias)
        if fused and not can_fuse:
            raise SettingError(
                f"no fused kernel computes cell={cell!r} with activation={activation!r}, "
                f"layer_norm={layer_norm}, bias={bias}; use fused=None or False"
            )
        self.kind, self.units, self.num_layers, self.dropout = cell, units, layers, dropout
        self.fused = can_fuse if fused is None else fused
        options = dict(
            activation=activation, init=init, forget_bias=forget_bias, layer_norm=layer_norm,
            bias=bias, chrono=chrono,
        )
        self.cells = nn.ModuleList(
            make_cell(cell, input_size if k == 0 else units, units, **options) for k in range(layers)
        )
        self._kernel = _FUSED.get((cell, activation))

    @property
    def state_size(self) -> int:
        return self.cells[0].state_size

    def initial_state(self, batch: int, like: Tensor) -> State:
        zeros = like.new_zeros(self.num_layers, batch, self.units)
        return tuple(zeros for _ in range(self.state_size))

    def forward(self, x: Tensor, state: State | None = None,
                trace: list[list[Tensor]] | None = None) -> tuple[Tensor, State]:
        """Run the whole sequence ``x: (B, T, I)`` from ``state`` (zeros when None). ``trace``:
        a list that receives, per layer, the ``h_t`` of every step as the tensors the recurrence
        itself used (so that autograd can differentiate the loss against each; the explicit path
        runs then)."""
        if x.dim() != 3:
            raise ValueError(f"expected input of shape (batch, time, features), got {tuple(x.shape)}")
        if state is None:
            state = self.initial_state(x.shape[0], x)
        if self.fused and trace is None:
            return self._forward_fused(x, state)
        return self._forward_explicit(x, state, trace)

    def _forward_explicit(self, x: Tensor, state: State, trace: list[list[Tensor]] | None = None
                          ) -> tuple[Tensor, State]:
        final: list[State] = []
        for k, cell in enumerate(self.cells):
            if k > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            steps: list[Tensor] = []
            x, last = unroll(cell, x, tuple(s[k] for s in state), steps)
            final.append(last)
            if trace is not None:
                trace.append(steps)
        # per-layer states (layers × state_size × (B, H)) -> state_size × (layers, B, H)
        return x, tuple(torch.stack(parts) for parts in zip(*final, strict=True))

    def _forward_fused(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        weights: list[Tensor] = []
        for cell in self.cells:
            bias_hh = getattr(cell, "bias_hh", None)
            if bias_hh is None:  # one bias in the equations; the kernel adds a second, zero one
                bias_hh = torch.zeros_like(cell.bias)
            weights += [cell.weight_ih, cell.weight_hh, cell.bias, bias_hh]
        hx = state if self.kind == "lstm" else state[0]
        out, *last = self._kernel(
            x, hx, weights, True, self.num_layers, self.dropout, self.training, False, True
        )
        return out, tuple(last)

    def extra_repr(self) -> str:
        return f"{self.kind}, units={self.units}, layers={self.num_layers}, fused={self.fused}"


def unroll(cell: Cell, x: Tensor, state: State, outputs: list[Tensor] | None = None
           ) -> tuple[Tensor, State]:
    """Apply one cell along time: ``x: (B, T, I) -> (B, T, H)``, plus the last state;
    ``outputs`` (a list) receives each step's ``h_t``."""
    xw = cell.project_input(x)  # all input products in one matmul: (B, T, G·H)
    outputs = [] if outputs is None else outputs
    for t in range(x.shape[1]):
        state = cell.step(xw[:, t], state)
        outputs.append(state[0])
    return torch.stack(outputs, dim=1), state
