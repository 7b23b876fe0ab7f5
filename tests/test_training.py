"""The training loop: early stopping, clipping, the NaN guard, seeds, callbacks."""

import pytest
import torch

from rnncast.errors import TrainingDiverged
from rnncast.networks import ModelConfig, RecurrentNet
from rnncast.training import TrainConfig, evaluate_loss, train


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, 1, generator=g)
    return X, X[:, -2:-1] + 0.5 * X[:, -1:]  # next value depends on the last two


def net(seed=0, **options):
    torch.manual_seed(seed)
    return RecurrentNet(ModelConfig(units=8, **options), 1, 1)


def test_training_reduces_the_loss_and_reports_every_epoch():
    X, Y = data()
    model, seen = net(), []
    before = evaluate_loss(model, X, Y)
    history = train(model, X, Y, TrainConfig(epochs=30, batch_size=16, lr=0.02), callback=seen.append)
    assert [info.epoch for info in seen] == list(range(1, 31))
    assert history.loss[-1] < 0.2 * before
    assert all(info.val_loss is None for info in seen)
    assert history.steps == 30 * 4


def test_early_stopping_restores_the_best_weights():
    X, Y = data()
    Xv, Yv = data(32, seed=1)
    model = net()
    history = train(model, X, Y, TrainConfig(epochs=200, patience=5, lr=0.05, loss="mse"), (Xv, Yv))
    assert history.stopped_early
    assert len(history.val_loss) == history.best_epoch + 5
    assert evaluate_loss(model, Xv, Yv) == pytest.approx(min(history.val_loss), rel=1e-6)


def test_same_seed_gives_identical_weights():
    X, Y = data()
    a, b = net(seed=3), net(seed=3)
    train(a, X, Y, TrainConfig(epochs=5, seed=7))
    train(b, X, Y, TrainConfig(epochs=5, seed=7))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_nan_loss_stops_with_a_clear_message():
    X, Y = data()
    Y = Y.clone()
    Y[3] = float("nan")
    with pytest.raises(TrainingDiverged, match="training diverged at epoch 1: the loss became nan"):
        train(net(), X, Y, TrainConfig(epochs=3))


def test_clipping_by_norm_and_by_value_counts_clipped_steps():
    X, Y = data()
    Y = 1000 * Y  # huge errors, huge gradients
    history = train(net(), X, Y, TrainConfig(epochs=2, clip_norm=1.0, loss="mse"))
    assert history.clipped_steps == history.steps
    history = train(net(), X, Y, TrainConfig(epochs=2, clip_norm=None, clip_value=0.5, loss="mse"))
    assert history.clipped_steps == history.steps
    history = train(net(), X, Y / 1e6, TrainConfig(epochs=1, clip_norm=1e6, loss="mse"))
    assert history.clipped_steps == 0


@pytest.mark.parametrize("field, value, message", [
    ("loss", "hinge", "loss must be one of"),
    ("epochs", 0, "epochs must be at least 1, got 0"),
    ("lr", -1.0, "lr must be > 0, got -1.0"),
    ("clip_norm", 0.0, "clip_norm must be > 0 or None, got 0.0"),
])
def test_bad_training_options_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_spike_guard_skips_exploding_and_non_finite_steps():
    from rnncast.gradients import SpikeGuard

    X, Y = data()
    model = net()
    guard = SpikeGuard(factor=10.0, warmup=3)

    def norm(model):
        return float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))

    for _ in range(5):  # ordinary steps build the recent median
        model.zero_grad()
        torch.nn.functional.mse_loss(model(X), Y).backward()
        assert not guard.should_skip(norm(model))
    model.zero_grad()
    torch.nn.functional.mse_loss(model(X), 1e4 * Y).backward()  # a gradient spike
    assert guard.should_skip(norm(model)) and guard.last > 10 * guard.median
    next(model.parameters()).grad[0] = float("inf")
    assert guard.should_skip(norm(model))


def test_spike_guard_accepts_a_lasting_rise_of_the_gradient_scale():
    """Leaving a plateau raises the gradient norm for good: after half a window of large norms the
    guard takes them as the new normal instead of skipping every step from then on."""
    from rnncast.gradients import SpikeGuard

    guard = SpikeGuard(factor=10.0, window=50, warmup=20)
    assert not any(guard.should_skip(1.0) for _ in range(50))
    skipped = [guard.should_skip(100.0) for _ in range(60)]
    assert skipped[0] and sum(skipped) == 25 and not any(skipped[25:])


def test_training_reports_skipped_steps_and_survives_a_spike():
    X, Y = data(64)
    Y = Y.clone()
    Y[5] *= 1e4  # one absurd sample; with batches of one it makes one spiking step per epoch
    history = train(net(), X, Y, TrainConfig(epochs=2, batch_size=1, clip_norm=None, seed=1,
                                              loss="mse"))
    assert 1 <= history.skipped_steps <= 2
    assert history.steps == 2 * 64
    off = train(net(), X, Y, TrainConfig(epochs=2, batch_size=1, clip_norm=None, seed=1,
                                          spike_guard=None, loss="mse"))
    assert off.skipped_steps == 0


def test_clipping_by_norm_scales_the_gradient_that_the_optimiser_sees():
    from rnncast.gradients import clip as _clip

    X, Y = data()
    model = net()
    torch.nn.functional.mse_loss(model(X), 1000 * Y).backward()
    grads = [p.grad for p in model.parameters()]
    before = float(torch.nn.utils.get_total_norm(grads))
    assert before > 1.0
    assert _clip(model, grads, before, None, 1.0) == 1
    after = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))
    assert after == pytest.approx(1.0, rel=1e-4)


def test_the_device_side_step_path_clips_counts_and_catches_divergence(monkeypatch):
    """The GPU path without per-step read-backs, run here on the CPU: the same training up to
    float rounding of the clipping factor, clipped steps counted, a NaN loss still stops it."""
    from rnncast import training

    X, Y = data()
    config = TrainConfig(epochs=4, batch_size=16, lr=0.05, clip_norm=0.05, spike_guard=None)
    a, b = net(seed=1), net(seed=1)
    read = train(a, X, Y, config)
    monkeypatch.setattr(training, "reads_each_step", lambda config, device: False)
    kept = train(b, X, Y, config)
    assert kept.clipped_steps == read.clipped_steps > 0
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    Y = Y.clone()
    Y[3] = float("nan")
    with pytest.raises(TrainingDiverged, match="training diverged at epoch 1"):
        train(net(), X, Y, config)


def test_nothing_to_train_on_is_a_data_error_not_a_diverged_training():
    from rnncast.errors import DataError

    X, Y = data()
    with pytest.raises(DataError, match="nothing to train on"):
        train(net(), X[:0], Y[:0], TrainConfig(epochs=2))


def test_weights_grown_past_any_sane_size_are_a_diverged_training_not_a_model():
    X, Y = data()
    model = net()
    with torch.no_grad():
        model.output.weight[0, 0] = 1e8  # where a learning rate of 1e30 takes it in one step
    with pytest.raises(TrainingDiverged, match="a weight reached 1e\\+08 with learning rate 1e-05; "
                                               "lower the learning rate"):
        train(model, X, Y, TrainConfig(epochs=1, lr=1e-5))
    with pytest.raises(ValueError, match="lr = 1e\\+30 is over the limit of 10"):
        TrainConfig(lr=1e30)


def test_one_flat_buffer_trains_bit_for_bit_as_one_tensor_per_weight(monkeypatch):
    """The optimizer steps one buffer behind all weights (gradients.flatten): the same numbers
    as stepping each weight's tensor, clipping and the spike guard included; afterwards each
    weight owns its storage again and holds no gradient."""
    from rnncast import gradients

    X, Y = data()
    config = TrainConfig(epochs=6, batch_size=16, lr=0.05, clip_norm=0.5, weight_decay=1e-3)
    flat, each = net(seed=2), net(seed=2)
    history = train(flat, X, Y, config)
    assert history.clipped_steps > 0
    monkeypatch.setattr(gradients, "flatten", lambda net: None)
    train(each, X, Y, config)
    for p, q in zip(flat.parameters(), each.parameters(), strict=True):
        assert torch.equal(p, q)
        assert p.grad is None
    pointers = {p.untyped_storage().data_ptr() for p in flat.parameters()}
    assert len(pointers) == len(list(flat.parameters()))


def test_flatten_makes_the_weights_views_of_one_buffer_and_unflatten_undoes_it():
    from rnncast.gradients import flatten, unflatten

    model = net()
    before = [p.detach().clone() for p in model.parameters()]
    whole = flatten(model)
    grads = whole.grad
    assert whole.numel() == sum(b.numel() for b in before) == grads.numel()
    with torch.no_grad():
        whole.add_(1.0)  # moves every weight through its view
    for p, b in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, b + 1.0)
    torch.nn.functional.mse_loss(model(data()[0]), data()[1]).backward()
    assert grads.abs().sum() > 0  # backward added into the one buffer
    unflatten(model)
    with torch.no_grad():
        whole.zero_()
    for p, b in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, b + 1.0) and p.grad is None
