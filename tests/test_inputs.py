"""Inputs beyond the targets: past covariates, calendar phase, a learned series id."""

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster
from rnncast.errors import DataError

FAST = dict(units=16, epochs=40, ensemble=1, patience=10, batch_size=32)


def lagged(n=300, lag=3, seed=0):
    """y follows the covariate x with a delay of ``lag`` steps: the past of x tells y's future."""
    rng = np.random.default_rng(seed)
    x = np.convolve(rng.normal(size=n + lag), np.ones(3) / 3, mode="same")
    return pd.DataFrame({"y": 2 * x[:-lag] + 0.01 * rng.normal(size=n), "x": x[lag:]})


def rmse_last(frame, h, **options):
    train, test = frame.iloc[:-h], frame.iloc[-h:]
    model = Forecaster(window=12, head=h, log=False, **FAST, **options).fit(train)
    forecast = model.predict(h)
    assert list(getattr(forecast, "columns", [forecast.name])) == ["y"]  # covariates not forecast
    return float(np.sqrt(np.mean((np.asarray(forecast) - test["y"].to_numpy()) ** 2)))


@pytest.mark.slow
def test_past_covariates_carry_information_about_the_future():
    frame = lagged()
    with_x = np.median([rmse_last(frame.iloc[: len(frame) - k], 3, covariates=["x"], seed=0)
                        for k in range(0, 30, 6)])
    without = np.median([rmse_last(frame[["y"]].iloc[: len(frame) - k], 3, seed=0)
                         for k in range(0, 30, 6)])
    assert with_x < 0.5 * without, (with_x, without)


def test_covariates_need_the_direct_strategy_and_stop_at_the_horizon():
    frame = lagged(120)
    with pytest.raises(ValueError, match="covariates are known only up to the forecast origin"):
        Forecaster(covariates=["x"], strategy="recursive")
    model = Forecaster(window=12, head=3, covariates=["x"], log=False, **FAST).fit(frame)
    assert model.predict(3).shape == (3,)
    with pytest.raises(DataError, match="forecast at most 3 steps \\(the model's head\\)"):
        model.predict(4)
    with pytest.raises(DataError, match="no covariate column 'price'"):
        Forecaster(covariates=["price"], **FAST).fit(frame)


def test_calendar_phase_follows_the_dates():
    index = pd.date_range("2015-04-01", periods=60, freq="MS")  # starts in April
    y = pd.Series(100 + 10 * np.sin(2 * np.pi * (index.month - 1) / 12), index=index)
    model = Forecaster(window=12, head=3, calendar=True, **FAST).fit(y)
    extras = model.channels.extras(np.array([0]), np.array([[0, 9]]))[0]  # April, then January
    np.testing.assert_allclose(extras[0], [np.sin(2 * np.pi * 3 / 12), np.cos(2 * np.pi * 3 / 12)])
    np.testing.assert_allclose(extras[1], [0.0, 1.0], atol=1e-12)
    assert model.nets[0].n_inputs == 3
    forecast = model.predict(8)  # past the 3-step head: the calendar continues block by block
    assert forecast.index[0] == pd.Timestamp("2020-04-01") and len(forecast) == 8


@pytest.mark.slow
def test_series_id_embedding_tells_identical_histories_apart():
    t = np.arange(60)
    series = {"up": 100 + t + 5 * np.sin(t), "down": 200 - t + 5 * np.sin(t)}
    same = {"up": series["up"], "down": series["up"]}  # both now show the same history
    common = dict(window=8, head=2, season=1, scaler="none", log=False, **FAST)  # no per-series
    with_ids = Forecaster(id_embedding=3, **common).fit(series)  # scale: only the id differs
    assert with_ids.nets[0].embedding.weight.shape == (2, 3)
    forecast = with_ids.predict(2, y=same)
    assert not np.allclose(forecast.y[:2], forecast.y[2:])
    plain = Forecaster(**common).fit(series).predict(2, y=same)
    np.testing.assert_allclose(plain.y[:2], plain.y[2:])


def test_round_trip_with_every_kind_of_input(tmp_path):
    index = pd.date_range("2018-01-01", periods=72, freq="MS")
    frame = lagged(72).set_index(index) + 10
    model = Forecaster(window=12, head=3, covariates=["x"], calendar=True, id_embedding=2,
                       deseasonalize=True, **FAST).fit({"a": frame, "b": frame * 1.5})
    model.save(tmp_path / "m")
    again = Forecaster.load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.predict(3), model.predict(3))


def test_new_data_with_the_covariate_first_is_read_like_the_fitted_data():
    frame = lagged(160)[["x", "y"]]  # the covariate comes first in the caller's frame
    model = Forecaster(window=12, head=3, covariates=["x"], log=False, **FAST).fit(frame)
    np.testing.assert_allclose(model.predict(3, y=frame), model.predict(3), rtol=1e-6)
    model.calibrate(frame, 3)
    truth = frame["y"].to_numpy()
    spread = np.percentile(np.abs(truth - truth.mean()), 90)
    assert model.calibration.halfwidth(80, 3).max() * model.transforms.scale[0, 0] < spread


def test_newer_history_starting_elsewhere_keeps_its_season_in_place():
    index = pd.date_range("2010-01-01", periods=96, freq="MS")
    t = np.arange(96)
    y = pd.Series((100 + t) * (1 + 0.4 * np.sin(2 * np.pi * t / 12)), index=index, name="y")
    model = Forecaster(window=12, head=6, deseasonalize=True, calendar=True, combine="none",
                       **FAST).fit(y)  # Theta on the shorter history would differ
    later = y.iloc[5:]  # starts in June: positions no longer match the months
    np.testing.assert_allclose(model.predict(6, y=later), model.predict(6), rtol=1e-6)
