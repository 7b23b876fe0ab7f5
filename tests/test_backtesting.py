"""Rolling-origin backtests: fold boundaries, refit or not, and no look past an origin."""

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster
from rnncast.backtesting import backtest
from rnncast.data import truncate
from rnncast.errors import DataError

FAST = dict(units=8, epochs=10, ensemble=1, patience=5, window=12, head=4, season=12)


def series(n=96):
    t = np.arange(n)
    return pd.Series(100 + t + 10 * np.sin(2 * np.pi * t / 12),
                     index=pd.date_range("2010-01-01", periods=n, freq="MS"))


@pytest.mark.slow
def test_folds_end_where_they_should_and_means_are_means():
    y = series()
    result = backtest(y, folds=3, test=4, step=2, make_model=lambda k: Forecaster(**FAST),
                      baselines=["naive", "seasonal_naive"])
    assert [f["origin_from_end"] for f in result.folds] == [8, 6, 4]
    rmse = [f["metrics"]["rmse"] for f in result.folds]
    assert result.mean["metrics"]["rmse"] == pytest.approx(np.mean(rmse))
    naive = [float(np.sqrt(np.mean((y.iloc[-o:][:4].to_numpy() - y.iloc[-o - 1]) ** 2)))
             for o in (8, 6, 4)]
    np.testing.assert_allclose([f["baselines"]["naive"]["rmse"] for f in result.folds], naive)


@pytest.mark.parametrize("refit", [True, False])
def test_a_fold_never_sees_past_its_origin(refit):
    y = series()
    changed = y.copy()
    changed.iloc[-4:] *= 3  # only the last fold's test part differs
    runs = [backtest(data, 2, 4, lambda k: Forecaster(**FAST), refit=refit,
                     baselines=["naive"]) for data in (y, changed)]
    assert runs[0].folds[0] == runs[1].folds[0]  # the earlier fold is untouched
    assert runs[0].folds[1]["metrics"] != runs[1].folds[1]["metrics"]


def test_too_many_folds_is_a_clear_error():
    with pytest.raises(DataError, match="series of 30 points cannot hold 8 folds of 4 points"):
        backtest(series(30), 8, 4, lambda k: Forecaster(**FAST))
    assert len(truncate(series(30), 5).series[0].values) == 25


def test_a_baseline_that_runs_past_its_budget_is_stopped_and_left_out(monkeypatch):
    """The first series are quick, the others slow: the projection passes, the deadline stops it."""
    import time

    from rnncast import baselines


    calls = []

    def quick_then_slow(y, horizon, season):
        calls.append(1)
        if len(calls) > 4:
            time.sleep(0.05)
        return np.zeros(horizon)

    monkeypatch.setitem(baselines.UNIVARIATE, "theta", quick_then_slow)
    monkeypatch.setattr(baselines, "cores", lambda: 1)  # one worker: in this process
    trains = [np.ones((20, 1))] * 10
    assert baselines.run("theta", trains, 3, 1, budget=0.1) is None
    assert len(calls) < 10  # it stopped before the last series
    calls.clear()
    assert len(baselines.run("theta", trains, 3, 1, budget=10)) == 10


def panel_frame(n=72):
    t = np.arange(n)
    return pd.concat([pd.DataFrame({"store": key, "week": pd.date_range("2015-01-01", periods=n,
                                                                      freq="MS"),
                                    "sales": 100 + k * 20 + t + 10 * np.sin(2 * np.pi * t / 12)})
                      for k, key in enumerate(["a", "b"])])


@pytest.mark.parametrize("refit", [True, False])
def test_cross_validation_is_every_origin_s_forecast_and_scores_as_backtest(refit):
    """NeuralForecast's cross_validation: the id, the time, the cutoff, the forecast and the
    truth of every origin; scored by series, it gives backtest's fold scores exactly."""
    from rnncast import metrics

    frame = panel_frame()
    model = Forecaster(**FAST)
    cv = model.cross_validation(frame, h=4, n_windows=3, step_size=2, refit=refit,
                                id_col="store", time_col="week", target_col="sales")
    assert list(cv.columns) == ["store", "week", "cutoff", "rnncast", "sales"]
    assert len(cv) == 3 * 2 * 4 and not model.nets  # the model itself stays unfitted
    assert sorted(cv["cutoff"].astype(str).unique()) == ["2020-04-01", "2020-06-01", "2020-08-01"]
    assert (cv["week"] > cv["cutoff"]).all()
    truth = frame.set_index(["store", "week"])["sales"]
    np.testing.assert_array_equal(cv["sales"], truth.loc[list(zip(cv["store"], cv["week"],
                                                                         strict=True))])
    copy = model.unfitted_copy()
    result = backtest(copy.layout(frame), 3, 4, lambda k: copy.unfitted_copy(), step=2,
                      refit=refit, baselines=[])
    for fold, (cutoff, rows) in zip(result.folds, cv.groupby("cutoff"), strict=True):
        scores = []
        for key, part in rows.groupby("store"):
            history = frame[(frame["store"] == key) & (frame["week"] <= cutoff)]["sales"]
            scores.append(metrics.score(part["sales"], part["rnncast"], history, 12))
        for name in ("rmse", "mae", "smape", "mase"):
            assert fold["metrics"][name] == pytest.approx(np.mean([s[name] for s in scores]),
                                                          rel=1e-12)
