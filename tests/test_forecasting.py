"""Forecasting strategies: the deck's walk-through, state carrying, direct blocks, batching."""

from typing import ClassVar

import torch
from torch import nn

from rnncast import forecasting
from rnncast.networks import ModelConfig, RecurrentNet


class DeckNet(nn.Module):
    """Stands in for a trained network: answers the deck's numbers and records its inputs."""

    answers: ClassVar[dict[float, float]] = {9.0: 10.0, 10.0: 11.2, 11.2: 12.4, 12.4: 14.0}
    n_outputs = 1
    known = False  # reads no future covariates (the RecurrentNet interface the loop uses)

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x[0, :, 0].tolist())
        last = round(float(x[0, -1, 0]), 4)
        return torch.tensor([[[self.answers[last]]]])


def test_recursive_forecast_walks_through_the_deck_example():
    net = DeckNet()
    window = torch.tensor([6.0, 7.0, 8.0, 9.0]).view(1, 4, 1)
    out = forecasting.recursive_rolling(net, window, steps=4)
    assert [round(v, 4) for v in out.flatten().tolist()] == [10.0, 11.2, 12.4, 14.0]
    rounded = [[round(v, 4) for v in seen] for seen in net.seen]
    assert rounded == [[6, 7, 8, 9], [7, 8, 9, 10], [8, 9, 10, 11.2], [9, 10, 11.2, 12.4]]


def model(head="last", horizon=1, features=1, seed=0, cell="lstm"):
    torch.manual_seed(seed)
    return RecurrentNet(ModelConfig(cell=cell, units=8), features, features, head, horizon).eval()


def test_stateful_recursion_equals_rerunning_the_growing_sequence():
    net = model()
    window = torch.randn(3, 5, 1)
    out = forecasting.recursive_stateful(net, window, steps=4)
    seq = window
    for k in range(4):  # prediction k sees the window and all earlier predictions, from zero state
        with torch.no_grad():
            expected = net(seq)[:, -1]
        torch.testing.assert_close(out[:, k], expected, atol=1e-6, rtol=1e-5)
        seq = torch.cat([seq, out[:, k:k + 1]], 1)


def test_rolling_and_stateful_agree_on_the_first_step_and_keep_the_window_length():
    net = model()
    window = torch.randn(2, 6, 1)
    rolling = forecasting.recursive_rolling(net, window, 3)
    stateful = forecasting.recursive_stateful(net, window, 3)
    torch.testing.assert_close(rolling[:, 0], stateful[:, 0])
    with torch.no_grad():  # the second rolling step sees only the last 6 values
        second = net(torch.cat([window[:, 1:], rolling[:, :1]], 1))[:, -1]
    torch.testing.assert_close(rolling[:, 1], second)


def test_level_normalised_forecasts_move_with_the_series_level():
    """With the level removed before and added after, shifting the history shifts the forecast."""
    net = model()
    window = torch.randn(2, 6, 1)
    level = lambda w: w[:, -2:].mean(1, keepdim=True)  # noqa: E731
    for strategy in ("recursive", "stateful"):
        run = forecasting.STRATEGIES[strategy]
        base = run(net, window, 3, level)
        torch.testing.assert_close(run(net, window + 100, 3, level), base + 100, atol=1e-4, rtol=0)
        assert not torch.allclose(run(net, window + 100, 3), base + 100, atol=1e-2)
    first = net(window - level(window)) + level(window)
    torch.testing.assert_close(base[:, :1], first.detach()[:, -1:])


def test_direct_emits_blocks_and_continues_past_its_horizon():
    net = model(head="direct", horizon=3)
    window = torch.randn(2, 6, 1)
    out = forecasting.direct(net, window, steps=5)
    assert out.shape == (2, 5, 1)
    with torch.no_grad():
        first = net(window)
        second = net(torch.cat([window, first], 1)[:, -6:])
    torch.testing.assert_close(out[:, :3], first)
    torch.testing.assert_close(out[:, 3:], second[:, :2])


def test_batch_of_series_equals_one_at_a_time():
    for strategy in ("recursive", "stateful"):
        net = model(cell="gru")
        windows = torch.randn(5, 7, 1)
        batched = forecasting.STRATEGIES[strategy](net, windows, 4)
        for b in range(5):
            alone = forecasting.STRATEGIES[strategy](net, windows[b:b + 1], 4)
            torch.testing.assert_close(batched[b:b + 1], alone, atol=1e-6, rtol=1e-5)
