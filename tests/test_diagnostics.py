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


# -- chrono initialisation -----------------------------------------------------------------------
@pytest.mark.parametrize("init", ["xavier", "pytorch"])
def test_chrono_biases_open_the_memory_gate_for_up_to_t_steps(init):
    from rnncast.cells import make_cell

    T, H = 40, 200
    lstm = make_cell("lstm", 3, H, init=init, chrono=T)
    forget = lstm.bias.detach()[H : 2 * H]
    assert forget.min() >= 0.0 and forget.max() <= np.log(T - 1) + 1e-6
    assert forget.std() > 0.5  # spread over time scales, not one value
    gru = make_cell("gru", 3, H, init=init, chrono=T)  # h = (1 - z) h + z h̃: keep with z → 0
    assert gru.bias.detach()[H : 2 * H].max() <= 0.0
    torch_gru = make_cell("gru_torch", 3, H, init=init, chrono=T)  # h = (1 - z) n + z h
    assert torch_gru.bias.detach()[H : 2 * H].min() >= 0.0
    assert torch.all(torch_gru.bias_hh.detach()[H : 2 * H] == 0)  # the two biases add up
    with pytest.raises(ValueError, match="chrono"):
        make_cell("lstm", 3, H, chrono=1)


def test_chrono_keeps_the_lstm_gradient_alive_where_the_rnn_loses_it():
    """The issue's picture at L = 50 (PyTorch init): the RNN's first-step gradient is orders of
    magnitude below its last; an LSTM with chrono gates stays within 10×."""
    X, Y = batch(64, 50)
    ratios = {}
    for cell, chrono in (("rnn", 0), ("lstm", 50), ("lstm_plain", 0)):
        torch.manual_seed(0)
        config = ModelConfig(cell=cell.split("_")[0], units=32, init="pytorch", chrono=chrono)
        ratios[cell] = gradient_flow(RecurrentNet(config, 2, 1).double(), X, Y).ratio
    assert ratios["rnn"] < 1e-2
    assert ratios["lstm"] > 0.1
    assert ratios["lstm_plain"] < 1e-3  # a forget gate at σ(0) = ½ halves the memory each step


# -- probing and remedies ------------------------------------------------------------------------
def small_adding(length=10, n=600):
    from rnncast.diagnostics import adding_data

    return adding_data(length, n_train=n, n_val=200, seed=0)


def test_probe_scores_against_the_mean_and_learns_a_short_memory():
    from rnncast.diagnostics import probe
    from rnncast.training import TrainConfig

    data = small_adding(6, 2000)
    result = probe(data, ModelConfig(cell="lstm", units=16, chrono=6),
                   TrainConfig(epochs=15, batch_size=50, lr=1e-2, patience=15))
    Y, Yv = data[1], data[3]
    assert result.baseline_loss == pytest.approx(float(((Yv - Y.mean()) ** 2).mean()), rel=1e-6)
    assert not result.diverged and result.epochs == 15
    assert result.reduction > 0.5  # six steps of memory are easy
    assert len(result.layer_norms) == 15 and set(result.layer_norms[0]) == {"layer 1", "output"}
    assert result.to_dict()["gradient_ratio"] == result.flow.ratio


def test_large_sgd_step_diverges_without_clipping_and_stays_finite_with_it():
    from rnncast.diagnostics import probe
    from rnncast.training import TrainConfig

    data = small_adding(20, 1000)
    config = TrainConfig(epochs=3, batch_size=50, lr=1.0, optimizer="sgd", clip_norm=None,
                         spike_guard=None, loss="mse")
    model = ModelConfig(cell="rnn", units=32, init="pytorch")
    wild = probe(data, model, config)
    assert wild.diverged and np.isnan(wild.final_loss)
    from dataclasses import replace

    tamed = probe(data, model, replace(config, clip_norm=1.0))
    assert not tamed.diverged and np.isfinite(tamed.final_loss)
    assert tamed.clipped_fraction > 0


def test_layer_norms_group_parameters_per_layer():
    from rnncast.diagnostics import layer_norms

    grouped = layer_norms({"recurrent.cells.0.weight_hh": 3.0, "recurrent.cells.0.bias": 4.0,
                           "recurrent.cells.1.weight_ih": 1.0, "output.weight": 2.0})
    assert grouped == {"layer 1": 5.0, "layer 2": 1.0, "output": 2.0}


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_the_flow_is_measured_on_the_training_loss_through_the_network_s_own_forward(loss):
    """The measured loss is the training loss of the network's own forward pass (it used to be
    a second unroll scoring huber as the squared error)."""
    from rnncast.training import LOSSES

    X, Y = batch(16, 9)
    torch.manual_seed(3)
    net = RecurrentNet(ModelConfig(cell="lstm", units=5), 2, 1).double()
    Y = 3 * Y  # errors past huber's delta of 1, where it differs from the squared error
    flow = gradient_flow(net, X, Y, loss)
    with torch.no_grad():
        expected = LOSSES[loss](net(X), Y).item()
    assert flow.loss == pytest.approx(expected, rel=1e-12)
    assert len(flow.through_time) == 1 and len(flow.through_time[0]) == 9
