"""Gradient flow through time against hand-computed gradients; the adding problem."""

import numpy as np
import pytest
import torch

from rnncast.datasets import adding_problem
from rnncast.diagnostics import gradient_flow
from rnncast.networks import ModelConfig, RecurrentNet


def batch(n=32, length=20):
    X, Y = adding_problem(n, length, seed=1)
    return torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)


def test_last_step_gradient_matches_the_output_layer_by_hand():
    X, Y = batch()
    torch.manual_seed(0)
    net = RecurrentNet(ModelConfig(cell="lstm", units=6), 2, 1).double()
    flow = gradient_flow(net, X, Y)
    with torch.no_grad():
        out, _ = net.recurrent(X)
        pred = net.output(out[:, -1])  # (B, 1)
        # MSE over B targets: dL/dpred = 2 (pred - y) / B; dL/dh_T = dL/dpred · W_out
        grad_h = 2 * (pred - Y[:, 0]) / len(X) * net.output.weight  # (B, H)
    assert flow.through_time[0][-1] == pytest.approx(grad_h.norm(dim=1).mean().item(), rel=1e-9)
    assert flow.loss == pytest.approx(torch.mean((pred - Y[:, 0]) ** 2).item(), rel=1e-9)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_every_step_matches_a_perturbation_of_the_state(cell):
    """∂loss/∂h_t from autograd on the unrolled cells equals the derivative with respect to a
    perturbation added to h_t inside an independent unroll."""
    X, Y = batch(8, 7)
    torch.manual_seed(0)
    net = RecurrentNet(ModelConfig(cell=cell, units=5), 2, 1).double()
    flow = gradient_flow(net, X, Y)
    c = net.recurrent.cells[0]
    for t in (0, 3, 6):
        delta = torch.zeros(8, 5, dtype=torch.float64, requires_grad=True)
        state = c.initial_state(8, X)
        for s in range(7):
            state = c(X[:, s], state)
            if s == t:
                state = (state[0] + delta, *state[1:])
        loss = torch.mean((net.output(state[0]) - Y[:, 0]) ** 2)
        (grad,) = torch.autograd.grad(loss, delta)
        assert flow.through_time[0][t] == pytest.approx(grad.norm(dim=1).mean().item(), rel=1e-9)


def test_simple_rnn_gradients_vanish_with_small_recurrent_weights():
    X, Y = batch(64, 50)
    torch.manual_seed(0)
    net = RecurrentNet(ModelConfig(cell="rnn", units=32, init="pytorch"), 2, 1).double()
    flow = gradient_flow(net, X, Y)
    assert flow.ratio < 1e-6  # the first step barely reaches the loss
    assert np.all(np.diff(np.log(flow.through_time[0][-20:])) > 0)  # growing towards the end
    assert set(flow.weights) >= {"recurrent.cells.0.weight_hh", "output.weight"}


def test_adding_problem_has_two_markers_and_their_sum_as_target():
    X, Y = adding_problem(500, 30, seed=3)
    assert X.shape == (500, 30, 2) and Y.shape == (500, 1, 1)
    markers = X[:, :, 1]
    assert np.all(markers.sum(1) == 2)
    assert np.all(markers[:, :15].sum(1) == 1) and np.all(markers[:, 15:].sum(1) == 1)
    np.testing.assert_allclose(Y[:, 0, 0], (X[:, :, 0] * markers).sum(1))
    assert np.mean((Y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.03)  # predicting the mean
    with pytest.raises(ValueError, match="length must be >= 2"):
        adding_problem(3, 1)
