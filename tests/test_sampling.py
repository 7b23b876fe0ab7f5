"""Windows sampled from one flat array: the same pairs as cutting every window, at a memory
cost that follows the points, and an epoch that follows its budget."""

import numpy as np
import pytest
import torch

from rnncast import Forecaster
from rnncast.networks import ModelConfig, RecurrentNet
from rnncast.sampling import Windows, cut
from rnncast.training import TrainConfig, train


def laid(series):
    """Series end to end, as :func:`cut` takes them: the flat array and the lengths."""
    return torch.tensor(np.concatenate(series), dtype=torch.float32), [len(s) for s in series]


def no_level(x):
    return x.new_zeros(x.shape[0], 1, x.shape[2])


def test_windows_are_the_pairs_of_every_series_with_the_last_ones_held_out():
    a, b = np.arange(10.0)[:, None], 100 + np.arange(7.0)[:, None]
    make = lambda **kw: Windows(span=3, horizon=2, targets=1, level=no_level, **kw)  # noqa: E731
    train_part, held = cut(*laid([a, b]), 3, 2, validation=2, make=make)
    # a: 6 windows (starts 0..5), the last 2 held; b: 3 windows (starts 0..2), the last 2 held
    assert len(train_part) == 4 + 1 and len(held) == 2 + 2
    X, Y = train_part.all()
    starts = [(a, 0), (a, 1), (a, 2), (a, 3), (b, 0)]  # every window cut by hand, in order
    Xh = np.stack([s[k : k + 3] for s, k in starts])
    Yh = np.stack([s[k + 3 : k + 5] for s, k in starts])
    torch.testing.assert_close(X, torch.tensor(Xh, dtype=torch.float32))
    torch.testing.assert_close(Y, torch.tensor(Yh, dtype=torch.float32))
    Xv, _ = held.all()
    assert Xv[:, 0, 0].tolist() == [4.0, 5.0, 101.0, 102.0]
    assert train_part.flat.shape == (17, 1)  # the points, not the windows


def test_each_window_is_normalised_by_its_own_level_on_the_fly():
    series = np.array([[1.0], [2.0], [3.0], [10.0], [20.0], [30.0]])
    last = lambda x: x[:, -1:]  # noqa: E731  the level: each window's last value
    data, _ = cut(*laid([series]), 2, 1, 0,
                  lambda **kw: Windows(span=2, horizon=1, targets=1, level=last, **kw))
    X, Y = data.all()
    assert X[:, :, 0].tolist() == [[-1.0, 0.0], [-1.0, 0.0], [-7.0, 0.0], [-10.0, 0.0]]
    assert Y[:, 0, 0].tolist() == [1.0, 7.0, 10.0, 10.0]


def test_an_epoch_costs_its_budget_not_the_number_of_windows():
    series = [np.sin(np.arange(2_000) / 7)[:, None] + k for k in range(20)]  # ~40,000 windows
    data, _ = cut(*laid(series), 12, 1, 0,
                  lambda **kw: Windows(span=12, horizon=1, targets=1, level=no_level, **kw))
    assert len(data) > 39_000
    net = RecurrentNet(ModelConfig(units=4), 1, 1)
    history = train(net, data, None, TrainConfig(epochs=2, batch_size=50, windows_per_epoch=500))
    assert history.steps == 2 * 10


@pytest.mark.slow
def test_a_forecaster_fitted_on_many_windows_samples_them():
    y = {f"s{k}": 50 + 10 * np.sin(np.arange(400) / 3 + k) for k in range(30)}
    model = Forecaster(units=4, epochs=2, ensemble=1, window=12, head=3, batch_size=100,
                       seed=0, windows_per_epoch=1_000, refit=False)
    model.fit(y)
    assert model.history.steps == 2 * 10
    assert np.isfinite(model.predict(3)["y"]).all()


def test_a_run_stops_at_its_window_budget_and_batches_follow_the_data():
    from rnncast.training import auto_batch, auto_budget

    assert [auto_batch(n) for n in (100, 32_000, 50_000, 100_000, 10**7)] == [32, 32, 64, 128, 128]
    assert [auto_budget(n) for n in (100, 50_000, 10**7)] == [100_000, 500_000, 1_500_000]
    # long windows cost more a window: a half-hourly series' three days get fewer of them
    assert auto_budget(50_000, 36) == 500_000 and auto_budget(50_000, 144) == 152_777
    series = [np.sin(np.arange(2_000) / 7)[:, None] + k for k in range(20)]  # ~40,000 windows
    data, _ = cut(*laid(series), 12, 1, 0,
                  lambda **kw: Windows(span=12, horizon=1, targets=1, level=no_level, **kw))
    net = RecurrentNet(ModelConfig(units=4), 1, 1)
    config = TrainConfig(epochs=50, batch_size=100, windows_per_epoch=500, max_windows=1_800)
    history = train(net, data, None, config)
    assert len(history.loss) == 4 and history.steps == 4 * 5  # ceil(1,800 / 500) epochs


def test_members_are_refitted_only_when_an_epoch_visits_every_window():
    from rnncast.ensemble import train_members

    series = [np.sin(np.arange(300) / 7)[:, None] + k for k in range(4)]
    make = lambda **kw: Windows(span=12, horizon=1, targets=1, level=no_level, **kw)  # noqa: E731
    sources = {12: cut(*laid(series), 12, 1, 10, make)}
    built = []

    def new_net(window, seed):
        built.append(seed)
        return RecurrentNet(ModelConfig(units=4), 1, 1)

    small = TrainConfig(epochs=2, batch_size=64)  # about 1,100 windows: every one each epoch
    train_members(2, [12], sources, new_net, small)
    assert built == [0, 0, 1000, 1000]  # each member trained, then refitted from its start
    built.clear()
    train_members(2, [12], sources, new_net, TrainConfig(epochs=2, batch_size=64,
                                                         windows_per_epoch=500))
    assert built == [0, 1000]  # epochs are samples: no refit
    built.clear()
    train_members(1, [12], sources, new_net, TrainConfig(epochs=2, windows_per_epoch=500), refit=True)
    assert built == [0, 0]  # unless asked


def test_short_series_are_padded_with_their_first_row_and_keep_their_calendar_phase():
    from rnncast.data import as_panel
    from rnncast.features import Channels
    from rnncast.plan import resolve
    from rnncast.sampling import training_windows
    from rnncast.settings import SeriesConfig
    from rnncast.transforms import Transforms

    a, b = np.arange(1.0, 8.0), np.arange(20.0, 40.0)  # 7 points: too short for 6 + 2 + 2
    panel = as_panel([a, b])
    plan = resolve(panel, SeriesConfig(window=6, head=2, season=4, calendar=True, short="pad",
                                       validation=2, log=False, scaler="none", deseasonalize=False,
                                       combine="none"))
    channels = Channels.of(panel, plan, False)
    Z = Transforms.fit_checked(panel, plan).forward_panel(panel)
    (data, _), = training_windows(Z, panel, plan, [6], channels).values()
    expected = []
    for k, y in enumerate([a, b]):
        pad = max(10 - len(y), 0)
        position = np.arange(-pad, len(y))  # from the series' first point
        values = np.r_[np.full(pad, y[0]), y][:, None]
        extra = channels.extras(np.full(len(position), k), position[:, None])[:, 0]
        expected.append(np.concatenate([values, extra], axis=1))
    torch.testing.assert_close(data.flat, torch.tensor(np.concatenate(expected), dtype=torch.float32))


def test_each_member_is_shown_early_stopped_before_its_refit():
    from rnncast.ensemble import train_members

    series = [np.sin(np.arange(300) / 7)[:, None] + k for k in range(4)]
    make = lambda **kw: Windows(span=12, horizon=1, targets=1, level=no_level, **kw)  # noqa: E731
    sources = {12: cut(*laid(series), 12, 1, 10, make)}
    seen = []
    nets, histories = train_members(
        2, [12], sources, lambda window, seed: RecurrentNet(ModelConfig(units=4), 1, 1),
        TrainConfig(epochs=3, batch_size=64), refit=True,
        stopped=lambda net: seen.append({k: v.clone() for k, v in net.state_dict().items()}))
    assert len(seen) == 2  # once per member
    for early, net in zip(seen, nets, strict=True):  # the refit trained on from a new start
        assert any(not torch.equal(early[k], v) for k, v in net.state_dict().items())
    assert all(h.val_loss for h in histories)  # what it saw was the early-stopped network
