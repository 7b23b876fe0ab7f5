"""Cells against hand-computed NumPy steps, autograd's gradcheck, and torch.nn's cells."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from rnncast.cells import CELLS, make_cell

B, I, H = 3, 4, 5


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


PHI = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.exp(z) - 1),
}


def numpy_step(kind, p, x, state, phi):
    """The deck's equations, written with an explicit concatenation W · [h, x]."""
    h = state[0]
    W = np.concatenate([p["weight_hh"], p["weight_ih"]], axis=1)  # (G·H, H + I)
    hx = np.concatenate([h, x], axis=1)  # [h_{t-1}, x_t]: (B, H + I)
    Wb = lambda k: W[k * H:(k + 1) * H]  # noqa: E731
    b = lambda k: p["bias"][k * H:(k + 1) * H]  # noqa: E731
    if kind == "rnn":
        return (phi(hx @ Wb(0).T + b(0)),)
    if kind in ("lstm", "peephole"):
        c = state[1]
        pf, pi, po = p["peephole"] if kind == "peephole" else np.zeros((3, H))
        f = sigmoid(hx @ Wb(1).T + b(1) + pf * c)
        i = sigmoid(hx @ Wb(0).T + b(0) + pi * c)
        c_tilde = phi(hx @ Wb(2).T + b(2))
        c_new = f * c + i * c_tilde
        o = sigmoid(hx @ Wb(3).T + b(3) + po * c_new)
        return o * phi(c_new), c_new
    if kind == "gru":
        z = sigmoid(hx @ Wb(1).T + b(1))
        r = sigmoid(hx @ Wb(0).T + b(0))
        h_tilde = phi(np.concatenate([r * h, x], axis=1) @ Wb(2).T + b(2))
        return ((1 - z) * h + z * h_tilde,)
    if kind == "gru_torch":
        gi = x @ p["weight_ih"].T + p["bias"]
        gh = h @ p["weight_hh"].T + p["bias_hh"]
        r = sigmoid(gi[:, :H] + gh[:, :H])
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = phi(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return ((1 - z) * n + z * h,)
    raise AssertionError(kind)


def randomise(cell, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("activation", sorted(PHI))
def test_one_step_matches_hand_computed_equations(kind, activation):
    cell = make_cell(kind, I, H, activation=activation).double()
    randomise(cell)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(B, I))
    state = tuple(rng.normal(size=(B, H)) for _ in range(cell.state_size))
    got = cell(torch.from_numpy(x), tuple(torch.from_numpy(s) for s in state))
    params = {k: v.detach().numpy() for k, v in cell.named_parameters()}
    want = numpy_step(kind, params, x, state, PHI[activation])
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w, rtol=1e-10, atol=1e-12)


def test_deck_gru_without_bias_is_the_deck_equations():
    cell = make_cell("gru", I, H, bias=False).double()
    randomise(cell)
    assert cell.bias is None
    x, h = np.ones((1, I)), np.full((1, H), 0.3)
    params = {k: v.detach().numpy() for k, v in cell.named_parameters()}
    params["bias"] = np.zeros(3 * H)
    want = numpy_step("gru", params, x, (h,), np.tanh)[0]
    got = cell(torch.from_numpy(x), (torch.from_numpy(h),))[0]
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("kind, layer_norm", [(kind, norm) for kind in sorted(CELLS)
                                              for norm in (False, True)
                                              if not (kind == "gru_torch" and norm)])
def test_gradients_match_finite_differences(kind, layer_norm):
    torch.manual_seed(0)
    cell = make_cell(kind, 3, 2, activation="tanh", layer_norm=layer_norm).double()
    randomise(cell)
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    state = tuple(torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
                  for _ in range(cell.state_size))
    names, params = zip(*cell.named_parameters(), strict=True)

    def fn(x, *args):
        state, values = args[: cell.state_size], args[cell.state_size:]
        return torch.func.functional_call(cell, dict(zip(names, values, strict=True)), (x, state))

    assert torch.autograd.gradcheck(fn, (x, *state, *params), eps=1e-6, atol=1e-6)


TORCH_CELLS = {"lstm": nn.LSTMCell, "gru_torch": nn.GRUCell, "rnn": nn.RNNCell}


@pytest.mark.parametrize("kind", sorted(TORCH_CELLS))
def test_matches_torch_nn_cells_forward_and_backward(kind):
    torch.manual_seed(0)
    ours = make_cell(kind, I, H)
    randomise(ours)
    ref = TORCH_CELLS[kind](I, H)
    with torch.no_grad():
        ref.weight_ih.copy_(ours.weight_ih)
        ref.weight_hh.copy_(ours.weight_hh)
        if kind == "gru_torch":
            ref.bias_ih.copy_(ours.bias)
            ref.bias_hh.copy_(ours.bias_hh)
        else:  # one bias in the equations; torch's two add up to it
            ref.bias_ih.copy_(ours.bias)
            ref.bias_hh.zero_()
    x = torch.randn(B, I)
    state = tuple(torch.randn(B, H) for _ in range(ours.state_size))
    got = ours(x, state)
    want = ref(x, state if kind == "lstm" else state[0])
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)
    sum(g.square().sum() for g in got).backward()
    sum(w.square().sum() for w in want).backward()
    torch.testing.assert_close(ours.weight_ih.grad, ref.weight_ih.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.weight_hh.grad, ref.weight_hh.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.bias.grad, ref.bias_ih.grad, rtol=1e-5, atol=1e-6)


def test_xavier_init_orthogonal_recurrent_blocks_and_forget_bias():
    cell = make_cell("lstm", I, H, forget_bias=2.0)
    for block in cell.weight_hh.detach().split(H):
        torch.testing.assert_close(block @ block.T, torch.eye(H), atol=1e-5, rtol=0)
    bound = (6 / (I + H)) ** 0.5  # Glorot-uniform bound of each (H, I) block
    assert cell.weight_ih.abs().max() <= bound
    assert torch.equal(cell.bias[H:2 * H], torch.full((H,), 2.0))  # forget block
    assert torch.equal(cell.bias[:H], torch.zeros(H))


def test_pytorch_init_is_uniform_within_one_over_sqrt_h():
    cell = make_cell("gru_torch", I, H, init="pytorch")
    bound = 1 / H**0.5
    for p in cell.parameters():
        assert p.abs().max() <= bound
        assert p.std() > 0.1 * bound


@pytest.mark.parametrize("options, message", [
    ({"activation": "swish"}, "activation must be one of"),
    ({"init": "he"}, "init must be one of"),
])
def test_bad_options_name_the_value(options, message):
    with pytest.raises(ValueError, match="layer_norm is not available for the PyTorch-form GRU"):
        make_cell("gru_torch", I, H, layer_norm=True)
    with pytest.raises(ValueError, match=message):
        make_cell("lstm", I, H, **options)
    with pytest.raises(ValueError, match="cell must be one of"):
        make_cell("transformer", I, H)


def test_layer_norm_keeps_the_forget_bias_and_chrono_and_pytorch_init_takes_a_forget_bias():
    from rnncast.cells import LSTMCell

    x, h, c = torch.zeros(1, 3), torch.zeros(1, 8), torch.ones(1, 8)
    torch.manual_seed(0)
    cell = LSTMCell(3, 8, layer_norm=True, forget_bias=3.0)
    _, kept = cell(x, (h, c))  # zero input and state: C_t = f_t · C_{t-1} = σ(bias of f)
    torch.testing.assert_close(kept, torch.full((1, 8), torch.sigmoid(torch.tensor(3.0)).item()))
    chrono = LSTMCell(3, 8, layer_norm=True, chrono=10)
    _, kept = chrono(x, (h, c))
    shift = chrono.ln_shift[1]
    assert bool(((shift >= 0) & (shift <= math.log(9) + 1e-6)).all()) and shift.std() > 0.1
    torch.testing.assert_close(kept[0], torch.sigmoid(shift).detach())
    plain = LSTMCell(3, 8, init="pytorch", forget_bias=2.0)
    assert bool((plain.bias[8:16] == 2.0).all())
    assert not bool((LSTMCell(3, 8, init="pytorch").bias[8:16] == 1.0).any())
