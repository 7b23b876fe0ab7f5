"""Quantile forecasts: the pinball loss, levels that never cross, the head's outputs, the q-
columns, and the scores of a band (coverage, MSIS) against hand-computed values."""

import numpy as np
import pandas as pd
import pytest
import torch

from rnncast import Forecaster
from rnncast.cli import main
from rnncast.data import as_panel
from rnncast.errors import SettingError
from rnncast.networks import ModelConfig, RecurrentNet
from rnncast.quantiles import (
    ORIGINS,
    held_truth,
    interval_scores,
    levels_of,
    ordered,
    origins,
    pinball,
    scores,
)
from rnncast.transforms import Transforms


def test_levels_are_fractions_with_the_median():
    assert levels_of([90, 10]) == (0.1, 0.5, 0.9)
    assert levels_of([50]) == (0.5,)
    with pytest.raises(SettingError, match="between 0 and 100"):
        levels_of([0.1, 120])
    with pytest.raises(SettingError, match="quantiles need strategy='direct'"):
        Forecaster(quantiles=(10, 90), strategy="recursive")


def test_pinball_loss_by_hand():
    pred = torch.tensor([[[[1.0, 2.0, 3.0]]]])  # (B, h, F, Q) at 0.1, 0.5, 0.9
    target = torch.tensor([[[2.5]]])
    levels = torch.tensor([0.1, 0.5, 0.9])
    # errors 1.5, 0.5, -0.5: 0.1·1.5, 0.5·0.5, (0.9 - 1)·(-0.5)
    want = (0.15 + 0.25 + 0.05) / 3
    assert pinball(pred, target, levels).item() == pytest.approx(want)
    # at the median alone: half the absolute error
    assert pinball(pred[..., 1:2], target, levels[1:2]).item() == pytest.approx(0.25)


def test_levels_never_cross_and_gradients_match_autograd():
    raw = torch.randn(4, 3, 2, 5, dtype=torch.float64, requires_grad=True)
    for median in (0, 2, 4):
        q = ordered(raw, median)
        assert (q.diff(dim=-1) > 0).all()
        assert torch.equal(q[..., median], raw[..., median])  # the point output as it is
        assert torch.autograd.gradcheck(lambda r, m=median: ordered(r, m), (raw,))


def test_the_head_gives_one_output_per_level():
    net = RecurrentNet(ModelConfig(units=8), 2, 2, "direct", 3, levels=(0.1, 0.5, 0.9))
    out = net(torch.randn(5, 10, 2))
    assert out.shape == (5, 3, 2, 3) and (out.diff(dim=-1) > 0).all()
    loss = net.loss_fn(out, torch.randn(5, 3, 2))
    loss.backward()
    assert net.output.weight.grad.abs().sum() > 0


def test_band_scores_by_hand():
    truth = np.array([[1.0], [5.0], [3.0]])  # (h, F)
    lo, hi = np.array([[0.0], [2.0], [3.5]]), np.array([[2.0], [4.0], [4.5]])
    train = np.array([0.0, 1.0, 3.0, 4.0])  # in-sample naive error: mean(1, 2, 1) = 4/3
    got = interval_scores(truth, lo, hi, 0.8, train, 1)
    assert got["coverage"] == pytest.approx(1 / 3)
    alpha = 0.2  # widths 2, 2, 1; misses: 5 above 4 by 1, 3 below 3.5 by 0.5
    want = np.mean([2, 2 + 2 / alpha * 1, 1 + 2 / alpha * 0.5]) / (4 / 3)
    assert got["msis"] == pytest.approx(want)
    bands = np.stack([lo, (lo + hi) / 2, hi], -1)
    assert scores(truth, bands, (0.1, 0.5, 0.9), train, 1)["coverage"] == pytest.approx(1 / 3)


@pytest.mark.slow
def test_an_80_percent_band_covers_about_80_percent_of_new_points():
    rng = np.random.default_rng(0)
    series = [pd.Series(50 + np.cumsum(rng.normal(0, 1, 150))) for k in range(40)]
    train = {f"s{k}": s[:-12] for k, s in enumerate(series)}
    model = Forecaster(quantiles=(10, 90), ensemble=1, seed=0, season=1, window=24, head=12,
                       combine="none").fit(train)
    forecast = model.predict(12)
    truth = np.concatenate([s[-12:].to_numpy() for s in series])
    inside = (truth >= forecast["q-10"].to_numpy()) & (truth <= forecast["q-90"].to_numpy())
    assert 0.65 <= inside.mean() <= 0.92, inside.mean()
    assert (forecast["q-50"].to_numpy() == forecast["y"].to_numpy()).all()


def test_quantiles_from_the_command_line(capsys, tmp_path):
    t = np.arange(120)
    pd.DataFrame({"month": pd.date_range("2012-01-01", periods=120, freq="MS"),
                  "sales": (200 + 2 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))}).to_csv(
        tmp_path / "sales.csv", index=False)
    common = ["--target", "sales", "--time-col", "month", "--quantiles", "10,90", "--epochs", "3",
              "--ensemble", "1", "--units", "8", "--quiet"]
    assert main([str(a) for a in ["fit", tmp_path / "sales.csv", *common,
                                  "--out", tmp_path / "m"]]) == 0
    out = tmp_path / "f.csv"
    assert main([str(a) for a in ["forecast", tmp_path / "m", "--horizon", "12", "--out", out,
                                  "--quiet"]]) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["month", "sales", "q-10", "q-50", "q-90"]
    assert (written["q-10"] <= written["q-50"]).all() and (written["q-50"] <= written["q-90"]).all()
    assert (tmp_path / "f.png").exists()
    capsys.readouterr()
    code = main([str(a) for a in ["evaluate", tmp_path / "sales.csv", *common[:-1], "--test", "12",
                                  "--intervals", "80", "--json"]])
    result = __import__("json").loads(capsys.readouterr().out)
    assert code == 0 and set(result["bands"]) == {"quantiles 10-90", "conformal 80"}
    assert set(result["bands"]["quantiles 10-90"]) == {"scaled_pinball", "coverage", "msis"}


def test_cross_validation_gives_the_quantiles_beside_the_forecast():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 80),
                          "ds": np.tile(pd.date_range("2020-01-01", periods=80, freq="D"), 2),
                          "y": 20 + rng.normal(0, 1, 160).cumsum()})
    model = Forecaster(quantiles=(10, 90), window=14, head=7, season=7, ensemble=1, epochs=2,
                       units=8, combine="none")
    table = model.cross_validation(frame, h=7, n_windows=2, refit=False)
    assert list(table.columns) == ["unique_id", "ds", "cutoff", "rnncast", "rnncast-q-10",
                                   "rnncast-q-50", "rnncast-q-90", "y"]
    assert (table["rnncast-q-50"] == table["rnncast"]).all() and len(table) == 2 * 2 * 7
    assert (table["rnncast-q-10"] <= table["rnncast-q-90"]).all()


def test_a_chained_block_carries_the_spread_of_the_block_before():
    from rnncast.forecasting import direct

    torch.manual_seed(0)
    net = RecurrentNet(ModelConfig(units=8), 1, 1, "direct", 3, levels=(0.1, 0.5, 0.9))
    net.window = 6
    window = torch.randn(4, 6, 1)
    out = direct(net, window, 6)  # two blocks of 3
    first = direct(net, window, 3)
    torch.testing.assert_close(out[:, :3], first)  # the first block as it is
    width = out[..., 0, 2] - out[..., 0, 0]  # (B, steps)
    assert (width[:, 3:] >= width[:, 2:3] - 1e-6).all()  # never narrower than where it starts
    # the second block by hand: its own spread and the first block's last, in quadrature
    again = direct(net, torch.cat([window, first[..., 1]], 1)[:, -6:], 3)
    own, carried = again - again[..., 1:2], first[:, -1:] - first[:, -1:, :, 1:2]
    want = again[..., 1:2] + torch.sign(own) * torch.sqrt(own ** 2 + carried ** 2)
    torch.testing.assert_close(out[:, 3:], want)


def test_levels_are_recalibrated_on_the_most_recent_origins_of_the_held_out_ends():
    assert origins(12, 12) == [12]  # M3-like ends: one block
    assert origins(0, 0) == []  # nothing held out (validation=0)
    assert origins(40, 12) == [40, 28, 16]  # every head, the last block inside the ends
    assert origins(1608, 168) == [1440, 1272, 1104, 936, 768, 600, 432, 264]  # 9 weeks hold 8
    assert origins(1591, 24) == list(range(31 + 24 * 7, 30, -24))  # EPF: its last eight days
    assert len(origins(10_000, 24)) == ORIGINS
    panel = as_panel({"a": np.arange(20.0), "b": 100 + np.arange(20.0)})
    plain = Transforms.fit(panel, "none", False)
    truth = held_truth(panel, plain, np.array([0, 1]), [8, 4], 3, 1)
    # origin by origin: rows 12-14 of each series, then rows 16-18
    np.testing.assert_array_equal(truth[..., 0], [[12, 13, 14], [112, 113, 114],
                                                  [16, 17, 18], [116, 117, 118]])
