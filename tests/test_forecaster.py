"""The user's object end to end: inputs, outputs, seeds, trends past the training range."""

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster
from rnncast.errors import DataError

FAST = dict(units=16, epochs=60, ensemble=1, patience=15)


def monthly(n=96, start="2015-01-01"):
    t = np.arange(n)
    values = (100 + 3 * t) * (1 + 0.15 * np.sin(2 * np.pi * t / 12))
    return pd.Series(values, index=pd.date_range(start, periods=n, freq="MS"), name="sales")


def test_monthly_series_forecast_has_real_dates_and_follows_the_trend():
    y = monthly(108)
    train, test = y[:96], y[96:]
    model = Forecaster(**FAST).fit(train)
    forecast = model.predict(12)
    assert isinstance(forecast, pd.Series) and forecast.name == "sales"
    assert forecast.index.equals(test.index)
    assert model.plan.season == 12 and model.plan.windows == (36,)
    assert model.plan.log is True  # positive data
    # the test range lies above everything seen in training: level normalisation must follow
    assert test.min() > 0.9 * train.max() * 0.8
    mape = float(np.mean(np.abs(forecast.values / test.values - 1)))
    assert mape < 0.05, mape


def test_same_seed_same_forecast_and_other_seed_differs():
    y = monthly(60)
    a = Forecaster(**FAST, seed=1).fit(y).predict(6)
    b = Forecaster(**FAST, seed=1).fit(y).predict(6)
    c = Forecaster(**FAST, seed=2).fit(y).predict(6)
    pd.testing.assert_series_equal(a, b, check_exact=True)
    assert not np.allclose(a.values, c.values)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["recursive", "stateful", "direct"])
def test_numpy_input_and_each_strategy(strategy):
    wave = np.sin(2 * np.pi * np.arange(250) / 40)
    x = wave[:240]
    model = Forecaster(window=24, head=10, strategy=strategy, combine="none", **FAST).fit(x)
    forecast = model.predict(10)
    assert list(forecast.index) == list(range(240, 250))
    assert np.sqrt(np.mean((forecast.values - wave[240:]) ** 2)) < 0.1


def test_recursive_model_can_forecast_by_carrying_its_state():
    x = np.sin(np.linspace(0, 8 * np.pi, 160))
    model = Forecaster(window=20, strategy="recursive", level=False, **FAST).fit(x)
    rolling, stateful = model.predict(5), model.predict(5, strategy="stateful")
    assert rolling.iloc[0] == pytest.approx(stateful.iloc[0], abs=1e-5)
    assert not np.allclose(rolling.values[1:], stateful.values[1:])
    with pytest.raises(ValueError, match="trained for strategy 'recursive' cannot forecast with"):
        model.predict(5, strategy="direct")


def test_multivariate_frame_forecasts_every_column():
    t = np.arange(80)
    frame = pd.DataFrame({"a": np.sin(t / 4), "b": np.cos(t / 4) + 2},
                         index=pd.date_range("2020-01-01", periods=80, freq="D"))
    forecast = Forecaster(window=14, head=7, **FAST).fit(frame).predict(7)
    assert list(forecast.columns) == ["a", "b"]
    assert forecast.index[0] == pd.Timestamp("2020-03-21")
    assert forecast.shape == (7, 2)


def test_clear_errors():
    with pytest.raises(DataError, match="series of length 20 is too short for window 12 \\+ head 12"):
        Forecaster(**FAST).fit(monthly(20))
    with pytest.raises(RuntimeError, match="call fit\\(\\) before predict\\(\\)"):
        Forecaster().predict(3)
    with pytest.raises(DataError, match="column 'y' has a missing \\(NaN\\) value at row 3"):
        Forecaster(**FAST).fit(np.array([1.0, 2.0, np.nan, 4.0]))
    with pytest.raises(ValueError, match="strategy must be one of"):
        Forecaster(strategy="magic")
    with pytest.raises(ValueError, match="ensemble must be at least 1, got 0"):
        Forecaster(ensemble=0)


def test_what_only_the_data_tell_is_asked_for_before_fit_in_one_clear_line():
    from rnncast.errors import NotFitted

    model = Forecaster()
    with pytest.raises(NotFitted, match="the model's columns are known once fit\\(\\) has seen the data"):
        model.n_targets  # noqa: B018  (it used to fail with "no attribute 'channels'")
    assert not hasattr(model, "n_columns") and model.choices == [] and model.plan is None


def test_every_default_is_the_one_its_dataclass_defines():
    """Options are defined once: each keyword of Forecaster that names a field of the network's,
    the series' or the training's settings defaults to that field's default (None: the
    preset's), and an unset Forecaster carries exactly the dataclasses' defaults."""
    import inspect
    from dataclasses import fields

    from rnncast.networks import ModelConfig
    from rnncast.settings import SeriesConfig
    from rnncast.training import TrainConfig

    defaults = {p.name: p.default for p in inspect.signature(Forecaster).parameters.values()}
    model = Forecaster()
    for config, built in ((ModelConfig, model.model_config), (SeriesConfig, model.series_config),
                          (TrainConfig, model.train_config)):
        for f in fields(config):
            if f.name in defaults and defaults[f.name] is not None:
                assert defaults[f.name] == f.default, f.name
        assert built == config(), config.__name__
    assert TrainConfig().loss == "mae"  # what every user gets, and the dataclass says


def test_ensemble_members_combine_by_median_or_mean():
    y = monthly(60)
    model = Forecaster(**{**FAST, "ensemble": 3, "combine": "none"}).fit(y)
    assert len(model.nets) == 3
    median = model.predict(4).to_numpy()
    model.aggregate = "mean"
    mean = model.predict(4).to_numpy()
    members = []
    for net in model.nets:
        single = Forecaster(**FAST, combine="none").fit(y)
        single.nets = [net]
        members.append(single.predict(4).to_numpy())
    members = np.array(members)
    np.testing.assert_allclose(median, np.median(members, 0), rtol=1e-5)
    # the mean is taken where the networks work: after the log, so a geometric mean here
    np.testing.assert_allclose(mean, np.exp(np.log(members).mean(0)), rtol=1e-5)
    assert not np.allclose(mean, members.mean(0), rtol=1e-6)
    with pytest.raises(ValueError, match="aggregate must be 'median' or 'mean'"):
        Forecaster(aggregate="mode")


# -- prediction intervals ------------------------------------------------------------------------
def test_conformal_halfwidth_is_the_corrected_rank_of_the_errors():
    from rnncast.intervals import Calibration

    errors = np.arange(1, 20, dtype=np.float64)  # 19 errors: 1, 2, …, 19
    calibration = Calibration(np.stack([errors, 2 * errors], axis=1)[:, :, None])  # (19, 2, 1)
    # level 80: rank ⌈20 · 0.8⌉ = 16; level 95: rank 19; level 99: rank 20 > 19 → unbounded
    np.testing.assert_array_equal(calibration.halfwidth(80)[:, 0], [16, 32])
    np.testing.assert_array_equal(calibration.halfwidth(95)[:, 0], [19, 38])
    assert np.all(np.isinf(calibration.halfwidth(99)))
    with pytest.raises(ValueError, match="calibrated for 2 steps"):
        calibration.halfwidth(80, horizon=3)
    with pytest.raises(ValueError, match="between 0 and 100"):
        calibration.halfwidth(0.8 * 100 + 20)


@pytest.mark.slow
def test_intervals_cover_the_truth_of_a_noisy_series_about_as_asked():
    """Forecast a seasonal series with known Gaussian noise from many origins: the 80% and 95%
    bands hold roughly 80% and 95% of the truth, and they nest around the forecast."""
    from rnncast.intervals import coverage

    rng = np.random.default_rng(0)
    t = np.arange(300)
    series = [50 + 10 * np.sin(2 * np.pi * (t + k) / 12) + rng.normal(0, 1.0, len(t))
              for k in range(30)]
    train = [s[:-6] for s in series]
    model = Forecaster(window=24, head=6, season=12, ensemble=1, epochs=30, units=16,
                       batch_size=256, seed=0)
    model.calibrate(train, horizon=6)
    assert model.calibration.scores.shape == (30, 6, 1)  # one origin of 30 series
    model.fit(train)
    frame = model.predict(6, levels=(80, 95))
    assert list(frame.columns[-5:]) == ["y", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert np.all(frame["lo-95"] <= frame["lo-80"]) and np.all(frame["lo-80"] <= frame["y"])
    assert np.all(frame["y"] <= frame["hi-80"]) and np.all(frame["hi-80"] <= frame["hi-95"])
    truth = np.concatenate([s[-6:] for s in series])
    assert 0.6 <= coverage(truth, frame["lo-80"], frame["hi-80"]) <= 0.97
    assert 0.85 <= coverage(truth, frame["lo-95"], frame["hi-95"]) <= 1.0


def test_intervals_survive_save_and_load(tmp_path):
    y = np.sin(np.arange(120) / 3) + 2
    model = Forecaster(window=12, head=4, ensemble=1, epochs=5, units=8, seed=0)
    model.calibrate(y, horizon=4)
    assert model.calibration.scores.shape[0] == 20  # one series: 20 origins
    model.fit(y)
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.predict(4, levels=[90]), model.predict(4, levels=[90]))
    with pytest.raises(ValueError, match="without calibration"):
        Forecaster(window=12, ensemble=1, epochs=2, units=8).fit(y).predict(4, levels=[90])


def test_the_median_of_an_even_ensemble_is_the_middle_not_the_lower_member():
    y = monthly(60)
    model = Forecaster(**{**FAST, "ensemble": 2}).fit(y)
    median = model.predict(4).to_numpy()
    model.aggregate = "mean"  # of two, the median and the mean coincide (both on the model's scale)
    np.testing.assert_allclose(median, model.predict(4).to_numpy(), rtol=1e-6)
    lower = []
    for net in model.nets:
        single = Forecaster(**FAST, combine="none").fit(y)
        single.nets = [net]
        lower.append(single.predict(4).to_numpy())
    assert not np.allclose(median, np.min(lower, axis=0), rtol=1e-6)


def test_a_forecast_past_twice_the_head_warns_only_when_the_head_was_set_by_hand(caplog):
    y = np.cumsum(np.random.default_rng(0).normal(1.0, 1.0, 60)) + 50  # no season: head of 1
    quick = dict(units=4, epochs=2, ensemble=1, window=8)
    own = Forecaster(**quick).fit(y)
    with caplog.at_level("INFO", logger="rnncast.forecasting"):
        own.predict(6)  # the recipe's one-step head: block by block by design
    said = [r for r in caplog.records if "errors compound" in r.getMessage()]
    assert said and all(r.levelname == "INFO" for r in said)
    caplog.clear()
    by_hand = Forecaster(**quick, head=2).fit(y)
    with caplog.at_level("INFO", logger="rnncast.forecasting"):
        by_hand.predict(6)
    assert [r.levelname for r in caplog.records if "errors compound" in r.getMessage()] == ["WARNING"]


def test_the_api_neuralforecast_users_expect():
    """fit() takes the long table's column names (and says them when they are wrong), predict
    takes h=, levels are percentages as in the CLI (0.8 was silently a 0.8% band)."""
    from rnncast.errors import SettingError

    t = np.arange(60)
    frame = pd.concat([pd.DataFrame({"shop": key, "day": pd.date_range("2020-01-01", periods=60,
                                                                     freq="MS"),
                                     "units": 50 + k + t + 5 * np.sin(2 * np.pi * t / 12)})
                       for k, key in enumerate(["x", "y"])])
    with pytest.raises(DataError, match="no column 'unique_id' for the long layout unique_id, ds, "
                                        "y: name yours with id_col=, time_col=, target_col="):
        Forecaster(**FAST).fit(frame)
    model = Forecaster(units=4, epochs=2, ensemble=1, window=12, head=6).calibrate(
        frame.rename(columns={"shop": "unique_id", "day": "ds", "units": "y"}), 6)
    model.fit(frame, id_col="shop", time_col="day", target_col="units")
    forecast = model.predict(h=6)
    assert list(forecast.columns) == ["shop", "day", "units"] and len(forecast) == 12
    assert forecast.equals(model.predict(horizon=6)) and forecast.equals(model.predict(6))
    with pytest.raises(SettingError, match=r"levels are percentages: 0\.8 would be a 0\.8% band, "
                                           r"nearly zero wide; did you mean 80"):
        model.predict(6, levels=(0.8,))
    assert {"lo-80", "hi-80"} <= set(model.predict(6, levels=(80,)).columns)
