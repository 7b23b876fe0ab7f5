"""The layer that unrolls cells: fused kernels equal the explicit equations; state handling."""

import pytest
import torch

from rnncast.recurrent import Recurrent, fusable

FUSABLE = [("lstm", "tanh"), ("gru_torch", "tanh"), ("rnn", "tanh"), ("rnn", "relu")]


def pair(kind, activation, layers=2, dropout=0.0):
    torch.manual_seed(0)
    explicit = Recurrent(kind, 3, 8, layers, dropout, fused=False, activation=activation)
    fused = Recurrent(kind, 3, 8, layers, dropout, fused=True, activation=activation)
    fused.load_state_dict(explicit.state_dict())  # same parameter names on both paths
    return explicit, fused


@pytest.mark.parametrize("kind, activation", FUSABLE)
def test_fused_equals_explicit_outputs_and_gradients(kind, activation):
    explicit, fused = pair(kind, activation)
    x = torch.randn(4, 11, 3)
    state = tuple(torch.randn(2, 4, 8) for _ in range(explicit.state_size))
    out_e, last_e = explicit(x, state)
    out_f, last_f = fused(x, state)
    torch.testing.assert_close(out_e, out_f, atol=1e-5, rtol=1e-5)
    for a, b in zip(last_e, last_f, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    (out_e.square().sum() + last_e[-1].sum()).backward()
    (out_f.square().sum() + last_f[-1].sum()).backward()
    for (name, a), b in zip(explicit.named_parameters(), fused.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_default_picks_the_fused_kernel_only_where_exact():
    assert Recurrent("lstm", 1, 4).fused
    assert Recurrent("gru_torch", 1, 4).fused
    assert not Recurrent("gru", 1, 4).fused  # deck form: reset before the product
    assert not Recurrent("peephole", 1, 4).fused
    assert not Recurrent("lstm", 1, 4, layer_norm=True).fused
    assert not Recurrent("lstm", 1, 4, activation="relu").fused
    assert not fusable("rnn", "elu")
    with pytest.raises(ValueError, match="no fused kernel computes cell='peephole'"):
        Recurrent("peephole", 1, 4, fused=True)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "peephole", "gru", "gru_torch"])
@pytest.mark.parametrize("fused", [False, None])
def test_carried_state_continues_the_sequence(kind, fused):
    """Running two halves with the state carried equals running the whole sequence."""
    torch.manual_seed(0)
    layer = Recurrent(kind, 2, 6, layers=2, fused=fused)
    x = torch.randn(3, 10, 2)
    whole, last = layer(x)
    first, mid = layer(x[:, :4])
    second, last2 = layer(x[:, 4:], mid)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=1e-6, rtol=1e-5)
    for a, b in zip(last, last2, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    assert whole.shape == (3, 10, 6)
    assert all(s.shape == (2, 3, 6) for s in last)
    torch.testing.assert_close(last[0][-1], whole[:, -1])  # top layer's h_T is the last output


@pytest.mark.parametrize("fused", [False, True])
def test_dropout_only_between_layers_and_only_in_training(fused):
    torch.manual_seed(0)
    layer = Recurrent("lstm", 2, 16, layers=2, dropout=0.5, fused=fused)
    x = torch.randn(4, 5, 2)
    layer.eval()
    a, _ = layer(x)
    b, _ = layer(x)
    torch.testing.assert_close(a, b)
    layer.train()
    c, _ = layer(x)
    assert not torch.allclose(a, c)
    single = Recurrent("lstm", 2, 16, layers=1, dropout=0.5, fused=fused).train()
    torch.testing.assert_close(single(x)[0], single(x)[0])  # nothing to drop between


def test_bad_shapes_and_sizes_are_named():
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, time, features\)"):
        Recurrent("lstm", 1, 4)(torch.zeros(5, 1))
    with pytest.raises(ValueError, match="layers must be >= 1, got 0"):
        Recurrent("lstm", 1, 4, layers=0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        Recurrent("lstm", 1, 4, dropout=1.5)
