"""One time step of each recurrent cell, written from the deck's equations.

Notation follows the deck: ``[a, b]`` is concatenation on the feature axis, ``σ`` the sigmoid,
``*`` the element-wise product. ``W · [h_{t-1}, x_t]`` is stored as two blocks,
``weight_hh · h_{t-1} + weight_ih · x_t`` (the same product, split so that the input part can be
computed for all time steps at once). Gate blocks are stacked in PyTorch's order so that the
fused kernels can use the same tensors.

Shapes: ``x_t: (B, I)``, ``h_t, C_t: (B, H)``; a state is a tuple of such tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnncast.errors import SettingError

State = tuple[Tensor, ...]

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "elu": F.elu,
}
INITS = ("xavier", "pytorch")


class Cell(nn.Module):
    """Common parameters and initialisation of a cell with ``gates`` stacked weight blocks.

    Weights: ``weight_ih: (gates·H, I)``, ``weight_hh: (gates·H, H)``, ``bias: (gates·H,)``.
    ``init="xavier"``: Glorot-uniform input blocks, orthogonal recurrent blocks, zero biases
    (the forget-gate block gets ``forget_bias``, 1.0 when None); ``init="pytorch"``:
    U(-1/√H, 1/√H) everywhere (and the forget-gate block ``forget_bias`` when one is given).
    ``chrono=T`` (either init) draws the bias of the gate that keeps memory (the LSTM's forget
    gate, the GRU's update gate) as log U(1, T-1), so units start with memories of up to T steps
    (Tallec & Ollivier 2018, "chrono initialisation"); it replaces ``forget_bias``.
    ``layer_norm=True`` normalises each gate's pre-activation over the units (Ba et al. 2016);
    the initial biases then go after the normalisation (its shift), which would cancel them.
    """

    gates: int = 1
    state_size: int = 1
    forget_block: int | None = None  # index of the forget gate's block, if the cell has one
    memory_gate: tuple[int, float] | None = None  # (block, sign): a larger sign·bias keeps more

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        activation: str = "tanh",
        init: str = "xavier",
        forget_bias: float | None = None,
        layer_norm: bool = False,
        bias: bool = True,
        chrono: int = 0,
    ) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise SettingError(
                f"input_size and hidden_size must be >= 1, got {input_size} and {hidden_size}"
            )
        if activation not in ACTIVATIONS:
            raise SettingError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if init not in INITS:
            raise SettingError(f"init must be one of {INITS}, got {init!r}")
        if chrono == 1 or chrono < 0:
            raise SettingError(f"chrono must be 0 (off) or >= 2 steps, got {chrono}")
        self.chrono = chrono
        self.input_size, self.hidden_size = input_size, hidden_size
        self.activation, self.init, self.forget_bias = activation, init, forget_bias
        self.layer_norm = layer_norm
        self.phi = ACTIVATIONS[activation]
        G, H = self.gates, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G * H, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G * H, H))
        self.bias = nn.Parameter(torch.empty(G * H)) if bias else None
        if layer_norm:  # one gain and shift per gate and unit
            self.ln_gain = nn.Parameter(torch.ones(G, H))
            self.ln_shift = nn.Parameter(torch.zeros(G, H))
        self.add_parameters()
        self.reset_parameters()

    def add_parameters(self) -> None:
        """Hook for cells with parameters beyond the three blocks (peepholes, a second bias)."""

    def reset_parameters(self) -> None:
        """All initialisation lives here (see the class docstring)."""
        H = self.hidden_size
        if self.init == "pytorch":
            bound = 1.0 / math.sqrt(H)
            for p in self.parameters():
                nn.init.uniform_(p, -bound, bound)
        else:
            for block in self.weight_ih.detach().split(H):
                nn.init.xavier_uniform_(block)
            for block in self.weight_hh.detach().split(H):
                nn.init.orthogonal_(block)
            for p in self._biases():
                nn.init.zeros_(p)
        forget_bias = 1.0 if self.forget_bias is None and self.init == "xavier" else self.forget_bias
        if forget_bias is not None and self.forget_block is not None and self.bias is not None:
            with torch.no_grad():
                self.bias[self.forget_block * H : (self.forget_block + 1) * H] = forget_bias
        if self.chrono and self.memory_gate is not None and self.bias is not None:
            block, sign = self.memory_gate
            with torch.no_grad():
                for b in self._biases():
                    b[block * H : (block + 1) * H] = 0.0
                ages = torch.empty(H).uniform_(1.0, self.chrono - 1)
                self.bias[block * H : (block + 1) * H] = sign * torch.log(ages)
        if self.layer_norm:
            nn.init.ones_(self.ln_gain)
            nn.init.zeros_(self.ln_shift)
            if self.bias is not None:  # the normalisation would remove a bias added before it
                with torch.no_grad():
                    self.ln_shift.copy_(self.bias.view(self.gates, H))
                    self.bias.zero_()

    def _biases(self) -> list[Tensor]:
        return [self.bias] if self.bias is not None else []

    def initial_state(self, batch: int, like: Tensor) -> State:
        """Zero state of the right shape, dtype and device."""
        zeros = like.new_zeros(batch, self.hidden_size)
        return tuple(zeros for _ in range(self.state_size))

    def project_input(self, x: Tensor) -> Tensor:
        """``weight_ih · x + bias`` for any leading shape: (..., I) -> (..., G·H)."""
        return F.linear(x, self.weight_ih, self.bias)

    def gate_preactivations(self, xw: Tensor, h: Tensor) -> tuple[Tensor, ...]:
        """``W · [h_{t-1}, x_t] + b`` split per gate; ``xw`` is the projected input (B, G·H)."""
        z = xw + F.linear(h, self.weight_hh)  # (B, G·H)
        if self.layer_norm:
            z = z.view(z.shape[0], self.gates, self.hidden_size)  # (B, G, H)
            z = F.layer_norm(z, (self.hidden_size,)) * self.ln_gain + self.ln_shift
            return z.unbind(1)
        return z.chunk(self.gates, dim=1)

    def step(self, xw: Tensor, state: State) -> State:
        raise NotImplementedError

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """One step from the raw input ``x: (B, I)``; returns the new state (``h_t`` first)."""
        if state is None:
            state = self.initial_state(x.shape[0], x)
        return self.step(self.project_input(x), state)

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, activation={self.activation!r}, "
            f"init={self.init!r}, layer_norm={self.layer_norm}"
            + (f", chrono={self.chrono}" if self.chrono else "")
        )


class SimpleRNNCell(Cell):
    """Elman neuron: ``h_t = φ(W · [h_{t-1}, x_t] + b)``, φ selectable (tanh by default)."""

    def step(self, xw: Tensor, state: State) -> State:
        (h,) = state
        (z,) = self.gate_preactivations(xw, h)
        return (self.phi(z),)


class LSTMCell(Cell):
    """Long short-term memory, the deck's six equations.

    f_t  = σ(W_f · [h_{t-1}, x_t] + b_f)
    i_t  = σ(W_i · [h_{t-1}, x_t] + b_i)
    C̃_t = φ(W_C · [h_{t-1}, x_t] + b_C)
    C_t  = f_t * C_{t-1} + i_t * C̃_t
    o_t  = σ(W_o · [h_{t-1}, x_t] + b_o)
    h_t  = o_t * φ(C_t)

    φ is tanh unless ``activation`` says otherwise. Blocks in order (i, f, C̃, o), as in torch.
    State: ``(h_t, C_t)``.
    """

    gates, state_size, forget_block, memory_gate = 4, 2, 1, (1, 1.0)

    def step(self, xw: Tensor, state: State) -> State:
        h, c = state
        zi, zf, zc, zo = self.gate_preactivations(xw, h)  # each (B, H)
        forget = torch.sigmoid(zf)
        input_gate = torch.sigmoid(zi)
        candidate = self.phi(zc)
        cell = forget * c + input_gate * candidate
        output_gate = torch.sigmoid(zo)
        h = output_gate * self.phi(cell)
        return h, cell


class PeepholeLSTMCell(Cell):
    """LSTM whose gates also look at the cell state (Gers & Schmidhuber 2000).

    f_t = σ(W_f · [h_{t-1}, x_t] + w_cf * C_{t-1} + b_f)
    i_t = σ(W_i · [h_{t-1}, x_t] + w_ci * C_{t-1} + b_i)
    o_t = σ(W_o · [h_{t-1}, x_t] + w_co * C_t + b_o)

    The deck writes ``W · [C, h, x]``; this implements the usual diagonal peephole, one weight
    per unit (``peephole: (3, H)`` for f, i, o), initialised to zero so training starts from an
    LSTM. C̃_t, C_t and h_t are as in :class:`LSTMCell`.
    """

    gates, state_size, forget_block, memory_gate = 4, 2, 1, (1, 1.0)

    def add_parameters(self) -> None:
        self.peephole = nn.Parameter(torch.zeros(3, self.hidden_size))

    def reset_parameters(self) -> None:
        super().reset_parameters()
        nn.init.zeros_(self.peephole)

    def step(self, xw: Tensor, state: State) -> State:
        h, c = state
        w_cf, w_ci, w_co = self.peephole  # each (H,)
        zi, zf, zc, zo = self.gate_preactivations(xw, h)
        forget = torch.sigmoid(zf + w_cf * c)
        input_gate = torch.sigmoid(zi + w_ci * c)
        candidate = self.phi(zc)
        cell = forget * c + input_gate * candidate
        output_gate = torch.sigmoid(zo + w_co * cell)
        h = output_gate * self.phi(cell)
        return h, cell


class GRUCell(Cell):
    """Gated recurrent unit as the deck writes it (Cho et al. 2014).

    z_t = σ(W_z · [h_{t-1}, x_t] + b_z)
    r_t = σ(W_r · [h_{t-1}, x_t] + b_r)
    h̃_t = φ(W · [r_t * h_{t-1}, x_t] + b)
    h_t = (1 - z_t) * h_{t-1} + z_t * h̃_t

    ``bias=False`` gives the deck's equations to the letter. Blocks in order (r, z, h̃). The reset
    gate acts *before* the product with W, so this form has no fused kernel; see
    :class:`TorchGRUCell`.
    """

    gates, memory_gate = 3, (1, -1.0)  # z_t near 0 keeps h_{t-1}

    def step(self, xw: Tensor, state: State) -> State:
        (h,) = state
        H = self.hidden_size
        x_r, x_z, x_n = xw.chunk(3, dim=1)  # each (B, H)
        h_r, h_z = F.linear(h, self.weight_hh[: 2 * H]).chunk(2, dim=1)  # one product for both
        reset = torch.sigmoid(self._norm(x_r + h_r, 0))
        update = torch.sigmoid(self._norm(x_z + h_z, 1))
        candidate = self.phi(self._norm(x_n + F.linear(reset * h, self.weight_hh[2 * H :]), 2))
        return ((1 - update) * h + update * candidate,)

    def _norm(self, z: Tensor, gate: int) -> Tensor:
        if not self.layer_norm:
            return z
        return F.layer_norm(z, (self.hidden_size,)) * self.ln_gain[gate] + self.ln_shift[gate]


class TorchGRUCell(Cell):
    """GRU in PyTorch's and cuDNN's form, the one with a fused kernel.

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = φ(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    Two differences from the deck: r_t multiplies after the product, and z_t weighs h_{t-1}.
    Holds a second bias ``bias_hh: (3·H,)`` because ``b_hn`` sits inside the reset product.
    """

    gates, memory_gate = 3, (1, 1.0)  # z_t near 1 keeps h_{t-1}

    def add_parameters(self) -> None:
        if self.layer_norm:
            raise SettingError("layer_norm is not available for the PyTorch-form GRU; use 'gru'")
        has_bias = self.bias is not None
        self.bias_hh = nn.Parameter(torch.empty(3 * self.hidden_size)) if has_bias else None

    def _biases(self) -> list[Tensor]:
        return [b for b in (self.bias, self.bias_hh) if b is not None]

    def step(self, xw: Tensor, state: State) -> State:
        (h,) = state
        hw = F.linear(h, self.weight_hh, self.bias_hh)  # (B, 3H)
        x_r, x_z, x_n = xw.chunk(3, dim=1)
        h_r, h_z, h_n = hw.chunk(3, dim=1)
        reset = torch.sigmoid(x_r + h_r)
        update = torch.sigmoid(x_z + h_z)
        new = self.phi(x_n + reset * h_n)
        return ((1 - update) * new + update * h,)


CELLS: dict[str, type[Cell]] = {
    "rnn": SimpleRNNCell,
    "lstm": LSTMCell,
    "peephole": PeepholeLSTMCell,
    "gru": GRUCell,
    "gru_torch": TorchGRUCell,
}


def make_cell(kind: str, input_size: int, hidden_size: int, **options) -> Cell:
    """Build a cell by name: ``rnn``, ``lstm``, ``peephole``, ``gru`` (deck) or ``gru_torch``."""
    if kind not in CELLS:
        raise SettingError(f"cell must be one of {sorted(CELLS)}, got {kind!r}")
    return CELLS[kind](input_size, hidden_size, **options)
