"""The network's forecast averaged with classical ones: the arithmetic, the Forecaster's use of
it (fit, predict, intervals, saving) and the reasons the recipe gives."""

import re
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster, baselines, combination, partners, plan
from rnncast.classical import classical_check, classical_forecasts
from rnncast.combination import combined, held_out_scores
from rnncast.data import as_panel
from rnncast.errors import SettingError
from rnncast.settings import SeriesConfig
from rnncast.transforms import Transforms

FAST = dict(units=8, epochs=15, ensemble=1, patience=5)


def monthly(n=96):
    t = np.arange(n)
    values = (100 + 2 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    return pd.Series(values, index=pd.date_range("2012-01-01", periods=n, freq="MS"), name="y")


def test_combined_is_the_mean_over_the_steps_both_cover():
    network = np.array([[[1.0], [2.0], [3.0]], [[10.0], [10.0], [10.0]]])  # (2 series, 3 steps, 1)
    classical = np.array([[[[3.0], [4.0]], [[np.nan], [20.0]]]])  # 1 method, 2 series, 2 steps
    out = combined(network, classical)
    np.testing.assert_array_equal(out[0, :, 0], [2.0, 3.0, 3.0])  # step 3: the network alone
    np.testing.assert_array_equal(out[1, :, 0], [10.0, 15.0, 10.0])  # NaN: the network alone
    np.testing.assert_array_equal(network[0, :, 0], [1.0, 2.0, 3.0])  # its input is not changed


def test_classical_forecasts_are_the_baselines_per_series():
    a, b = monthly(60).to_numpy(), monthly(48).to_numpy()[::-1].copy()
    out = classical_forecasts(as_panel([a, b]), ("theta", "naive2"), 7, 12, 1)
    assert out.shape == (2, 2, 7, 1)
    np.testing.assert_allclose(out[0, 1, :, 0], baselines.theta(b, 7, 12))
    np.testing.assert_allclose(out[1, 0, :, 0], baselines.naive2(a, 7, 12))


def test_forecaster_averages_the_network_with_theta_and_keeps_it_when_saved(tmp_path):
    y = monthly()
    model = Forecaster(combine="theta", **FAST).fit(y)
    alone = model.predict(12, combined=False).to_numpy()
    both = model.predict(12).to_numpy()
    np.testing.assert_allclose(both, (alone + baselines.theta(y.to_numpy(), 12, 12)) / 2)
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")  # it holds only the series' tails
    np.testing.assert_allclose(loaded.predict(12).to_numpy(), both, rtol=1e-6)
    assert loaded.plan.combine == ("theta",)


def test_intervals_move_with_the_combined_forecast():
    y = monthly()
    model = Forecaster(combine="theta", **FAST).calibrate(y, 6).fit(y)
    bands = model.predict(6, levels=[80])
    alone = model.predict(6, levels=[80], combined=False)
    shift = bands["y"] - alone["y"]
    assert (shift.abs() > 0).any()
    np.testing.assert_allclose(bands["lo-80"], alone["lo-80"] + shift)
    np.testing.assert_allclose(bands["hi-80"], alone["hi-80"] + shift)


def test_combine_none_and_unknown_methods():
    assert Forecaster(combine="none").series_config.combine == ()
    with pytest.raises(SettingError, match="combine takes theta"):
        Forecaster(combine=("theta", "prophet"))


def test_recipe_says_why_for_each_automatic_choice(monkeypatch):
    cfg = plan.resolve(as_panel(monthly()), SeriesConfig())
    why = cfg.reasons
    assert cfg.deseasonalize is True and cfg.scaler == "none" and cfg.combine == ("dotm",)
    assert cfg.log is True and cfg.windows == (36,)
    assert any(line.startswith("deseasonalize on: season 12 (median seasonal strength") for line in why)
    assert "scaler none: the log and each window's level make series scale-free" in why
    flat = as_panel(np.r_[-np.ones(3), np.arange(1.0, 40.0)])  # no season, some negative
    cfg = plan.resolve(flat, SeriesConfig())
    why = cfg.reasons
    assert cfg.deseasonalize is False and cfg.scaler == "standard" and cfg.log is False
    assert "deseasonalize off: no season" in why and "log off: some values are negative" in why
    assert any(line.startswith("scaler standard: no log (--scaler asinh") for line in why)
    asked = plan.resolve(flat, SeriesConfig(scaler="asinh"))
    assert asked.scaler == "asinh" and asked.log is False  # asinh is the log for both signs
    assert "log off: the asinh scaler is a log for values of both signs" in asked.reasons
    log_off = plan.resolve(as_panel(np.arange(1.0, 40.0)), SeriesConfig(log=False))
    assert log_off.scaler == "standard"  # none negative: standardised
    monkeypatch.setattr(partners, "COMBINE_SERIES", 1)
    cfg = plan.resolve(as_panel([monthly().to_numpy()] * 2), SeriesConfig())
    why = cfg.reasons
    assert cfg.combine == () and any(line.startswith("combine none: 2 series") for line in why)


def test_a_series_that_has_stopped_is_forecast_as_zeros():
    alive = monthly().to_numpy()
    stopped = np.r_[alive[:84], np.zeros(12)]  # the last season all zero: discontinued
    model = Forecaster(season=12, head=6, **FAST).fit({"alive": alive, "stopped": stopped})
    forecast = model.predict(6)
    assert (forecast.loc[forecast["id"] == "stopped", "y"] == 0).all()
    assert (forecast.loc[forecast["id"] == "alive", "y"] > 0).all()
    assert any(line.startswith("zeros for 1 series whose last 12 values are zero")
               for line in model.choices)
    kept = Forecaster(season=12, head=6, zero_tail=False, **FAST).fit({"alive": alive,
                                                                          "stopped": stopped})
    assert (kept.predict(6).groupby("id")["y"].apply(lambda v: (v != 0).all())).all()


def test_no_automatic_combination_when_other_columns_inform_the_network():
    frame = pd.DataFrame({"y": monthly().to_numpy(), "x": np.arange(96.0)})
    cfg = plan.resolve(as_panel(frame, ("x",)), SeriesConfig(covariates=("x",)))
    why = cfg.reasons
    assert cfg.combine == () and any(line.startswith("combine none: the network reads") for line in why)


def test_counts_with_zeros_get_log1p_and_forecasts_of_at_least_zero(tmp_path):
    t = np.arange(96)
    counts = np.round(np.maximum(0, 3 + 3 * np.sin(2 * np.pi * t / 12)))  # zeros every year
    cfg = plan.resolve(as_panel(counts), SeriesConfig(season=12))
    why = cfg.reasons
    assert cfg.log == "log1p" and cfg.scaler == "none"
    assert "log1p, log(1 + y): values of 0 but none below" in why
    model = Forecaster(season=12, **FAST).fit(counts)
    forecast = model.predict(12, combined=False)
    assert (forecast >= 0).all()
    z = model.transforms.forward_panel(as_panel(counts))  # log1p, then each series' level
    np.testing.assert_allclose(model.transforms.inverse_all(z[None, :, :], np.array([0]))[0, :, 0],
                               counts, atol=1e-9)
    model.save(tmp_path / "m")
    np.testing.assert_allclose(Forecaster.load(tmp_path / "m").predict(12), model.predict(12))


def test_seasonal_naive_is_the_partner_where_it_beats_theta_on_the_check():
    noise = 0.1 * np.random.default_rng(0).normal(size=120)
    steps = as_panel(np.tile([1.0, 5.0, 2.0, 8.0], 30) + noise)  # the seasonal naive's data
    cfg = plan.resolve(steps, SeriesConfig(season=4))
    why = cfg.reasons
    assert cfg.combine == ("seasonal_naive",)
    assert any(line.startswith("combine seasonal_naive: the mean of the network's and seasonal "
                               "naive's forecasts; on the last 4 points of 1 training series, "
                               "MASE dynamic optimised Theta 1.186, seasonal naive 0.921")
               for line in why)
    # without a season the naive forecast is never a partner
    assert "seasonal_naive" not in plan.resolve(steps, SeriesConfig(season=1)).combine
    y = steps.rows(0)[:, 0]  # the check by hand: MASE of each on the last 4 points
    past, future = y[:-4], y[-4:]
    scale = np.mean(np.abs(past[4:] - past[:-4]))
    naive = np.mean(np.abs(future - past[-4:])) / scale
    theta = np.mean(np.abs(future - baselines.dotm(past, 4, 4))) / scale
    scores, n = classical_check(steps, 4, 4, (partners.THETA,))
    assert n == 1 and scores.keys() == {"dotm", "seasonal_naive"}
    np.testing.assert_allclose([scores["dotm"], scores["seasonal_naive"]], [theta, naive])


@pytest.mark.slow
def test_without_a_season_ets_joins_where_it_beats_theta():
    rng = np.random.default_rng(0)
    t = np.arange(60.0)  # trends: ETS with a trend beats Theta's damped drift on the check
    panel = as_panel([50 + 2 * t + rng.normal(size=60) for _ in range(8)])
    cfg = plan.resolve(panel, SeriesConfig())
    why = cfg.reasons
    assert cfg.combine == ("dotm", "ets")
    line = next(line for line in why if line.startswith("combine"))
    assert line.startswith("combine dotm,ets: the mean of the network's, dynamic optimised "
                           "Theta's and ETS's forecasts; on the last 6 points of 8 training "
                           "series, MASE dynamic optimised Theta")
    scores, _ = classical_check(panel, 1, 1, ("dotm", "ets"))
    assert scores["ets"] < scores["dotm"] < scores["seasonal_naive"]


def test_trailing_zeros_are_counted_per_series_and_column():
    panel = as_panel([np.array([[5.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]),  # 3 and 4 zeros
                      np.array([[0.0, 1.0], [0.0, 0.0]]),  # too short for 3
                      np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 0.0], [0.0, 0.0]])])
    np.testing.assert_array_equal(panel.trailing_zeros(2), [[3, 4], [2, 1], [3, 2]])
    np.testing.assert_array_equal(panel.trailing_zeros(1) >= 4, [[False], [False], [False]])


def test_held_out_scores_are_each_forecasts_mase_by_hand():
    history = as_panel([np.array([1.0, 3.0, 2.0, 4.0]), np.array([10.0, 10.0, 12.0, 16.0])])
    network = np.array([[[4.0], [5.0]], [[16.0], [18.0]]])
    classical = np.array([[[[6.0], [5.0]], [[20.0], [18.0]]]])
    truth = np.array([[[5.0], [5.0]], [[17.0], [17.0]]])
    alone, mean = held_out_scores(network, classical, truth, history, 1)
    scale = [np.mean([2, 1, 2]), np.mean([0, 2, 4])]  # each history's naive errors
    by_hand_alone = np.mean([np.mean([1, 0]) / scale[0], np.mean([1, 1]) / scale[1]])
    by_hand_mean = np.mean([np.mean([0, 0]) / scale[0], np.mean([1, 1]) / scale[1]])
    assert (alone, mean) == pytest.approx((by_hand_alone, by_hand_mean))


@pytest.mark.parametrize(("error", "kept"), [(0.0, True), (1e3, False)])
def test_the_combination_is_dropped_where_the_network_alone_is_clearly_better(monkeypatch,
                                                                              error, kept):
    """The classical forecast replaced by the held-out truth (+ ``error``): a perfect one is
    kept, a wild one dropped after training, and the reason says which."""
    from rnncast import combination

    y = monthly(120)
    real = combination.classical_forecasts

    def fake(panel, names, steps, season, targets, ahead=None):
        if len(panel.rows(0)) == len(y) - 12:  # the held-out judgement: truth (+ error)
            return y.to_numpy()[-12:][None, None, :steps, None] + error
        return real(panel, names, steps, season, targets)

    monkeypatch.setattr(combination, "classical_forecasts", fake)
    monkeypatch.setattr(plan, "auto_combine", lambda *a: (("theta",), "combine theta: test"))
    model = Forecaster(head=12, validation=12, **FAST).fit(y)
    line = model.choices[-1]
    assert line.startswith(f"combine {'kept' if kept else 'none'} after training: on the last 12 "
                           "held-out points of 1 series the network alone scored MASE")
    assert model.plan.combine == (("theta",) if kept else ())
    assert (model.classical is not None) == kept


def test_after_training_the_seasonal_naive_forecast_replaces_theta_where_it_pairs_better(
        monkeypatch):
    """Held out: Theta wild, seasonal naive perfect (faked); the plan's Theta gives way, said."""
    from rnncast import combination

    y = monthly(120)
    real = combination.classical_forecasts
    asked = []

    def fake(panel, names, steps, season, targets, ahead=None):
        if len(panel.rows(0)) == len(y) - 12:  # the held-out judgement
            asked.append(names)
            truth = y.to_numpy()[-12:][None, :steps, None]
            return np.stack([truth + (1e3 if name == "dotm" else 0.0) for name in names])
        return real(panel, names, steps, season, targets)

    monkeypatch.setattr(combination, "classical_forecasts", fake)
    monkeypatch.setattr(plan, "auto_combine", lambda *a: (("dotm",), "combine dotm: test"))
    model = Forecaster(head=12, validation=12, **FAST).fit(y)
    assert asked == [("dotm", "seasonal_naive")]
    assert model.plan.combine == ("seasonal_naive",)
    line = model.choices[-1]
    assert line.startswith("combine seasonal_naive after training: on the last 12 held-out points "
                           "of 1 series the network alone scored MASE")
    assert "its mean with dynamic optimised Theta" in line and "its mean with seasonal naive 0." in line
    np.testing.assert_allclose(model.classical, real(model.panel, ("seasonal_naive",), 24, 12, 1))


def test_a_combination_the_user_asked_for_is_never_judged():
    model = Forecaster(head=12, combine="theta", **FAST).fit(monthly(120))
    assert model.plan.combine == ("theta",)
    assert not any("after training" in line for line in model.choices)


def test_mstl_is_the_partner_of_data_with_two_seasons_where_it_beats_theta():
    rng = np.random.default_rng(0)
    t = np.arange(3 * 365)
    load = 100 * np.exp(0.15 * np.sin(2 * np.pi * t / 7) + 0.25 * np.sin(2 * np.pi * t / 365.25)
                        + rng.normal(0, 0.03, len(t)))
    y = pd.Series(load, index=pd.date_range("2015-01-01", periods=len(t), freq="D"))
    cfg = plan.resolve(as_panel(y), SeriesConfig())
    assert cfg.seasons == (7, 365) and cfg.combine == ("mstl",), cfg.reasons
    line = next(r for r in cfg.reasons if r.startswith("combine mstl"))
    assert "the mean of the network's and MSTL's forecasts" in line
    scores = dict(re.findall(r"(optimised Theta|MSTL|seasonal naive) (\d+\.\d+)", line))
    assert float(scores["MSTL"]) < float(scores["optimised Theta"]) \
        < float(scores["seasonal naive"])
    stored = combination.classical_for(cfg, as_panel(y), 1, 30)  # (methods, N, steps, targets)
    assert stored.shape == (1, 1, 30, 1) and np.isfinite(stored).all()


def driven_hours(days: int, seed: int = 0) -> pd.DataFrame:
    """Two hourly series moved 3 units per unit of a driver known a day ahead (``load``)."""
    rng = np.random.default_rng(seed)
    t = np.arange(24 * days)
    parts = []
    for market in ("BE", "FR"):
        load = rng.normal(size=len(t))
        price = 20 + 5 * np.sin(2 * np.pi * t / 24) + 3 * load + rng.normal(0, 0.1, len(t))
        parts.append(pd.DataFrame({"market": market, "ds": pd.date_range(
            "2020-01-01", periods=len(t), freq="h"), "price": price, "load": load}))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.slow
def test_the_ridge_joins_a_network_with_future_columns_and_reads_the_given_future(tmp_path):
    frame = driven_hours(250)  # the 200 days of origins the ridge needs and more
    last = frame.groupby("market").cumcount(ascending=False) < 24
    train, test = frame[~last], frame[last]
    names = dict(id_col="market", time_col="ds", target_col="price")
    model = Forecaster(future=["load"], head=24, units=8, epochs=1, ensemble=1, seed=0).fit(
        train, **names)
    assert model.plan.combine == ("ridge_x",), model.choices
    assert any(line.startswith("combine kept after training") for line in model.choices)
    given = test[["market", "ds", "load"]]
    both = model.predict(24, future=given)["price"].to_numpy().reshape(2, 24)
    alone = model.predict(24, future=given, combined=False)["price"].to_numpy().reshape(2, 24)
    for k, (_, part) in enumerate(frame.groupby("market")):
        price = part["price"].to_numpy()
        ridge = baselines.ridge_x(np.c_[np.r_[price[:-24], np.full(24, np.nan)], part["load"]],
                                  24, model.plan.seasons)
        np.testing.assert_allclose(both[k], (alone[k] + ridge) / 2, rtol=1e-9)
        naive = np.abs(price[-48:-24] - price[-24:]).mean()  # the same hour the day before
        assert np.abs(ridge - price[-24:]).mean() < 0.5 * naive  # it reads each hour's load
    model.save(tmp_path / "m")  # the tails it keeps hold what the ridge reads
    loaded = Forecaster.load(tmp_path / "m").predict(24, future=given)["price"].to_numpy()
    np.testing.assert_allclose(loaded, both.ravel(), rtol=1e-9)


def test_the_ridge_is_refused_without_future_columns():
    panel = as_panel(monthly(), (), None)
    with pytest.raises(SettingError, match="combine ridge_x reads the future columns"):
        plan.resolve(panel, SeriesConfig(combine=("ridge_x",)))


def test_quantile_levels_are_recalibrated_around_the_combined_forecast():
    panel = as_panel({"a": np.arange(20.0), "b": 100 + np.arange(20.0)})
    base = plan.resolve(panel, SeriesConfig(season=4, combine="none", deseasonalize=False))
    model = SimpleNamespace(panel=panel, transforms=Transforms.fit(panel, "none", False),
                            plan=replace(base, quantiles=(0.1, 0.5, 0.9),
                                         combine=("seasonal_naive",)))
    bands = np.zeros((4, 3, 1, 3))  # origin by origin (8, then 4 points before the ends)
    bands[..., 0], bands[..., 2] = -1.0, 1.0  # the network: a median of 0, levels at -1 and 1
    out = combination.moved(model, [bands], np.array([0, 1]), [8, 4], 3)
    # the mean with seasonal naive (the last 4 values again) moves every level by half of it
    np.testing.assert_allclose(out[0, :, 0], [[3, 4, 5], [3.5, 4.5, 5.5], [4, 5, 6]])  # a: 8, 9, 10
    np.testing.assert_allclose(out[3, :, 0, 1], [56, 56.5, 57])  # b from 4 before: 112, 113, 114
    alone = SimpleNamespace(**{**vars(model), "plan": replace(model.plan, combine=())})
    members = [bands - 1.0, bands, bands + 5.0]
    np.testing.assert_array_equal(combination.moved(alone, members, np.array([0, 1]), [8, 4], 3),
                                  bands)  # no combination: the members' median as it is
