"""Choosing settings by backtest: the grid, the ranking, Optuna's search, the command line."""

import json

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster
from rnncast.backtesting import backtest
from rnncast.cli import main
from rnncast.tuning import grid, search, tune


def series(n=90):
    t = np.arange(n)
    return 100 + t + 15 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, n)


def make(settings):
    return Forecaster(ensemble=1, epochs=6, units=8, head=6, seed=0, **settings)


def test_grid_is_every_combination_in_order():
    assert grid({"window": [6, 12], "cell": ["lstm", "gru"]}) == [
        {"window": 6, "cell": "lstm"}, {"window": 6, "cell": "gru"},
        {"window": 12, "cell": "lstm"}, {"window": 12, "cell": "gru"}]


@pytest.mark.slow
def test_tune_ranks_by_the_mean_backtest_score_of_each_configuration():
    y = series()
    result = tune(y, grid({"window": [6, 12, 24]}), make, folds=2, test=6)
    scores = [row["score"] for row in result.rows]
    assert scores == sorted(scores) and len(scores) == 3
    for row in result.rows:
        assert row["score"] == pytest.approx(np.mean(row["folds"]))
        alone = backtest(y, 2, 6, lambda k, s=row["settings"]: make(s), baselines=[])
        assert row["score"] == pytest.approx(alone.mean["metrics"]["rmse"], rel=1e-12)
    assert result.best == result.rows[0]["settings"]


def test_optuna_search_backtests_each_configuration_once():
    result = search(series(), {"window": [6, 12]}, make, trials=6, folds=1, test=6, seed=0)
    assert 1 <= len(result.rows) <= 2
    assert len({tuple(r["settings"].items()) for r in result.rows}) == len(result.rows)


@pytest.fixture
def csv(tmp_path):
    y = series(96)
    frame = pd.DataFrame({"month": pd.date_range("2015-01-01", periods=96, freq="MS"), "sales": y})
    frame.to_csv(tmp_path / "sales.csv", index=False)
    frame.iloc[:-12].to_csv(tmp_path / "train.csv", index=False)
    return tmp_path


ARGS = ["--target", "sales", "--time-col", "month", "--window", "6,12", "--horizon", "6",
        "--folds", "2", "--epochs", "5", "--ensemble", "1", "--units", "8", "--json", "--quiet"]


def test_tune_never_sees_the_test_range(capsys, csv):
    assert main(["tune", str(csv / "sales.csv"), "--test", "12", *ARGS]) == 0
    with_test = json.loads(capsys.readouterr().out)
    assert main(["tune", str(csv / "train.csv"), *ARGS]) == 0
    without = json.loads(capsys.readouterr().out)
    assert with_test["rows"] == without["rows"]  # the last 12 points changed nothing
    assert with_test["test_left_out"] == 12
    command = with_test["fit_command"]
    assert f"--window {with_test['best']['window']}" in command and "--epochs 5" in command


def test_tune_writes_a_table_and_a_plot(capsys, csv):
    out = csv / "tuned"
    assert main(["tune", str(csv / "train.csv"), *ARGS[:-2], "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rank" in text and "rnncast fit" in text
    assert (out / "tune.png").stat().st_size > 1000
    assert json.loads((out / "tune.json").read_text())["metric"] == "rmse"


def test_tune_ranks_a_panel_by_mase_unless_told(capsys, tmp_path):
    t = np.arange(48)
    pd.concat([pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range("2020-01", periods=48,
                                                                        freq="MS"),
                             "y": 10 ** k * (5 + np.sin(2 * np.pi * t / 12))}) for k in range(3)]
              ).to_csv(tmp_path / "p.csv", index=False)
    rest = ["--window", "6,12", "--horizon", "6", "--folds", "2", "--epochs", "3", "--ensemble",
            "1", "--units", "8", "--json", "--quiet"]
    assert main(["tune", str(tmp_path / "p.csv"), *rest]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert ranked["metric"] == "mase"  # series of 5, 50 and 500: RMSE would be the largest's
    assert main(["tune", str(tmp_path / "p.csv"), *rest, "--metric", "rmse"]) == 0
    assert json.loads(capsys.readouterr().out)["metric"] == "rmse"


def test_tune_tries_only_windows_the_series_hold_before_the_first_fold(capsys, tmp_path):
    t = np.arange(80)
    pd.concat([pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range(
        "2020-01-06", periods=80, freq="W-MON"), "y": 50 + k + 5 * np.sin(2 * np.pi * t / 52)})
        for k in range(3)]).to_csv(tmp_path / "weekly.csv", index=False)
    assert main(["tune", str(tmp_path / "weekly.csv"), "--horizon", "8", "--folds", "2",
                 "--epochs", "2", "--ensemble", "1", "--units", "8", "--json", "--quiet"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    # 52, 104 and 156 weeks do not fit: 80 - 16 before the first origin, less a head and a
    # held-out end of 8 each, leaves 48 (and half of it)
    assert sorted(row["settings"]["window"] for row in rows) == [24, 48]
