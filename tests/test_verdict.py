"""The verdict never overstates: a win or a loss beyond the noise of the test range, a tie
within it, every model that beats the network named, a baseline left out said to be, advice
that keeps the test range untouched; the tables and pictures that go with it."""

import numpy as np
import pandas as pd

from rnncast import plots
from rnncast.evaluation import Evaluation
from rnncast.plan import Plan
from rnncast.verdict import backtest_sentence, plain, sentence, standing


class Model:
    plan = Plan(windows=(12,), head=12, season=12)
    choices = ()


def evaluation(errors: dict[str, np.ndarray], left_out=()) -> Evaluation:
    """A panel's evaluation whose models made these per-series MASE values."""
    scores = {name: {"rmse": 1.0, "mae": 1.0, "mape": 1.0, "smape": 1.0,
                     "mase": float(np.mean(e))} for name, e in errors.items()}
    index = pd.date_range("2020-01-01", periods=12, freq="MS")
    frame = pd.DataFrame({"y": np.ones(12)}, index=index)
    return Evaluation(metrics=scores.pop("network"), baselines=scores, forecast=frame, truth=frame,
                      train=frame, baseline_forecasts={}, season=12, model=Model(),
                      series=len(errors["network"]), units=errors, left_out=list(left_out))


def test_a_win_by_a_hair_is_a_tie_and_a_clear_one_a_win():
    rng = np.random.default_rng(0)
    network = 1.0 + rng.normal(0, 0.3, 200)
    result = evaluation({"network": network, "theta": network * 1.001 + rng.normal(0, 0.3, 200),
                         "naive": network + 0.5})
    stand = standing(result)
    assert stand.tied == ["theta"] and stand.worse == ["naive"] and not stand.better
    text = sentence(result)
    assert text.startswith("The network ties with theta on MASE")
    assert "within the noise of this test range" in text and "beats naive" in text
    assert "rnncast tune --test 12" in text  # advice that keeps the test range untouched
    assert "--combine" not in text and "--preset" not in text


def test_every_model_that_beats_the_network_is_named_best_first():
    network = np.linspace(1, 2, 50)
    result = evaluation({"network": network, "ets": network - 0.3, "theta": network - 0.2,
                         "naive": network + 1})
    assert standing(result).better == ["ets", "theta"]
    assert sentence(result).startswith(
        "The ets and theta baselines are more accurate than the network on this test range "
        "(MASE 1.2, 1.3 vs 1.5, beyond the noise of its points)")


def test_a_baseline_left_out_is_said_and_no_victory_claims_it():
    network = np.linspace(1, 2, 50)
    result = evaluation({"network": network, "naive": network + 1}, left_out=["ets"])
    assert sentence(result) == (
        "The network beats every baseline that ran on MASE (1.5), each by more than the noise of "
        "this test range. The ets was left out (over the baseline budget): this says nothing "
        "about it.")


def test_numbers_print_as_people_write_them():
    assert [plain(v) for v in (22270.31, 123.456, 1.23456, 0.00131, 0.0, 4.4e-16, float("nan"))] \
        == ["22,270", "123.5", "1.235", "0.001310", "0", "0", "–"]


def test_the_evaluation_picture_draws_every_baseline_and_a_panel_per_target(monkeypatch):
    """Five line styles were zipped against six baselines: SARIMAX, the winner on
    AirPassengers, was silently left out of the picture."""
    drawn = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig))
    index = pd.date_range("2020-01-01", periods=40, freq="MS")
    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) ** 2}, index=index)
    names = ["naive", "seasonal_naive", "naive2", "theta", "ets", "sarimax"]
    plots.plot_evaluation(frame[:-6], frame[-6:], frame[-6:], {n: np.zeros((6, 2)) for n in names},
                          "title", "unused.png")
    axes = drawn[0].axes
    assert [ax.get_ylabel() for ax in axes] == ["a", "b"]
    labels = axes[0].get_legend_handles_labels()[1]
    assert [n.replace("_", " ") for n in names] == labels[3:]
    plots.plot_backtest(["network", "naive"], [[1.0, 2.0], [1.5, 2.5]], "unused.png", "mase")
    assert drawn[1].axes[0].get_ylabel() == "MASE"  # it used to say RMSE whatever it showed


def test_a_one_step_head_is_named_in_the_singular():
    class OneStep(Model):
        plan = Plan(windows=(12,), head=1, season=1)

    network = np.linspace(1, 2, 50)
    result = evaluation({"network": network, "ets": network - 0.3})  # tips follow a loss
    result = result.__class__(**{**result.__dict__, "model": OneStep()})
    text = sentence(result)
    assert "the network forecasts 1 step at a time, each block reading the one before" in text


def test_a_backtest_names_each_baseline_with_a_lower_mean_and_its_folds():
    names = ["network", "naive", "seasonal_naive", "theta"]
    rows = [[1.3, 1.2, 1.25, 1.4], [1.0, 1.4, 1.05, 1.4], [1.1, 1.3, 1.0, 1.5]]
    means = list(np.mean(rows, axis=0))  # 1.133, 1.3, 1.1, 1.433
    assert backtest_sentence(names, rows, means, "mase") == (
        "Lower mean MASE than the network's 1.133 over the 3 folds: seasonal naive 1.1, lower on "
        "2 of 3 folds.")
    best = [[1.0, 1.2, 1.1], [1.2, 1.1, 1.3]]
    assert backtest_sentence(names[:3], best, list(np.mean(best, axis=0)), "rmse") == (
        "The network has the lowest mean RMSE over the 2 folds (1.1) and the lowest on 1 of them.")
