"""Baselines against hand-made cases."""

import time

import numpy as np
import pytest

from rnncast import baselines


def test_naive_and_seasonal_naive():
    y = np.array([1.0, 2, 3, 4, 5, 6, 7])
    assert baselines.naive(y, 3).tolist() == [7, 7, 7]
    assert baselines.seasonal_naive(y, 5, 3).tolist() == [5, 6, 7, 5, 6]
    assert baselines.seasonal_naive(y[:2], 3, 3).tolist() == [2, 2, 2]  # too short: naive


def test_naive2_reseasonalises_the_last_adjusted_value():
    pattern = np.array([0.8, 1.2, 1.0, 1.0])
    y = 100 * pattern[np.arange(40) % 4]
    forecast = baselines.naive2(y, 6, 4)
    np.testing.assert_allclose(forecast, 100 * pattern[np.arange(40, 46) % 4], rtol=1e-6)


def test_theta_follows_a_linear_trend_half_way():
    y = 10 + 2.0 * np.arange(50)
    forecast = baselines.theta(y, 4, 1)
    assert np.all(np.diff(forecast) > 0)
    assert forecast[0] == pytest.approx(y[-1] + 1.0, rel=0.05)  # theta=2: half the slope


def test_dynamic_optimised_theta_learns_the_whole_slope_that_classical_theta_halves():
    y = 10 + 2.0 * np.arange(50)
    np.testing.assert_allclose(baselines.dotm(y, 4, 1), y[-1] + 2.0 * np.arange(1, 5), rtol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("fn", [baselines.sarimax, baselines.ets, baselines.auto_theta, baselines.dotm,
                                baselines.auto_ces, baselines.auto_arima])
def test_fitted_baselines_on_a_seasonal_series(fn):
    t = np.arange(72)
    y = (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    forecast = fn(y[:60], 12, 12)
    assert np.mean(np.abs(forecast / y[60:] - 1)) < 0.05


def test_varmax_continues_a_joint_growth():
    t = np.arange(80.0)
    rng = np.random.default_rng(0)
    growth = np.column_stack([100 * 1.02**t, 50 * 1.01**t])  # steady growth rates, in logs a VAR
    y = growth * np.exp(rng.normal(scale=0.002, size=(80, 2)))
    forecast = baselines.varmax(y[:72], 8)
    assert forecast.shape == (8, 2)
    np.testing.assert_allclose(forecast, growth[72:], rtol=0.02)
    with pytest.raises(ValueError, match="VARMAX needs a multivariate series"):
        baselines.varmax(y[:, :1], 3)


@pytest.mark.slow
def test_ets_chooses_no_trend_for_a_level_and_the_season_when_there_is_one():
    rng = np.random.default_rng(3)
    flat = 50 + rng.normal(size=80)
    forecast = baselines.ets(flat, 24, 1)
    assert np.ptp(forecast) < 0.5 and abs(forecast.mean() - 50) < 1  # no trend to run away on
    t = np.arange(96)
    seasonal = 100 * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) * np.exp(rng.normal(0, 0.01, 96))
    forecast = baselines.ets(seasonal[:84], 12, 12)
    assert np.mean(np.abs(forecast / seasonal[84:] - 1)) < 0.03


@pytest.mark.slow
def test_one_long_series_is_stopped_by_the_budget_and_otherwise_fitted_as_here():
    # a 5,000-point series with a season of 96 makes SARIMAX run for minutes: the budget stops
    # it in a worker; a cheap model on the same series gives exactly what it gives in this process
    t = np.arange(5_000)
    y = (10 + np.sin(2 * np.pi * t / 96) + np.random.default_rng(0).normal(0, 0.1, t.size))[:, None]
    assert len(y) > baselines.SHORT
    start = time.perf_counter()
    assert baselines.run("sarimax", [y], 96, 96, budget=3.0) is None
    assert time.perf_counter() - start < 20
    (theta,) = baselines.run("theta", [y], 96, 96, budget=120.0)
    np.testing.assert_array_equal(theta, baselines.one("theta", y, 96, 96))


def test_a_fitted_model_sees_the_last_points_of_a_long_series_and_a_cheap_one_all():
    y = (50 + np.sin(np.arange(3_000) / 3) + np.linspace(0, 20, 3_000) ** 1.5)[:, None]
    recent = y[-baselines.RECENT:]
    np.testing.assert_array_equal(baselines.one("theta", y, 12, 1),
                                  baselines.one("theta", recent, 12, 1))
    assert not np.array_equal(baselines.one("naive2", y, 12, 12),
                              baselines.one("naive2", recent, 12, 12))


def test_mstl_follows_a_day_and_a_week_that_one_season_cannot():
    t = np.arange(48 * 7 * 5)
    y = 100 + 10 * np.sin(2 * np.pi * t / 48) + 8 * (t // 48 % 7 >= 5)  # weekends higher
    truth, past = y[-336:], y[:-336]
    both = baselines.mstl(past, 336, (48, 336))
    day = baselines.mstl(past, 336, (48,))
    assert np.abs(both - truth).mean() < 0.5 < np.abs(day - truth).mean()
    panel = type("P", (), {"single": False})()
    assert "mstl" in baselines.default_names(panel, (48, 336))
    assert "mstl" not in baselines.default_names(panel, (48,))


def test_arima_with_regressors_reads_the_known_future_and_skips_constant_columns():
    rng = np.random.default_rng(0)
    n, h = 200, 10
    promo = (rng.random(n + h) < 0.3).astype(float)
    y = 50 + 20 * promo[:n] + rng.normal(0, 0.5, n)
    rows = np.c_[np.r_[y, np.full(h, np.nan)], promo, np.zeros(n + h)]  # a constant column too
    forecast = baselines.arima_x(rows, h)
    assert np.abs(forecast - (50 + 20 * promo[n:])).max() < 2.5  # each step's own promotion
    assert np.ptp(baselines.auto_arima(y, h)) < 10  # without the regressor it cannot know
    assert baselines.one("arima_x", rows, h, 1).shape == (h, 1)
    panel = type("P", (), {"single": False})()
    assert "arima_x" in baselines.default_names(panel, (), known=True)
    assert "arima_x" not in baselines.default_names(panel, ())


def hourly_driven(days: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An hourly series: a daily shape, a weekday effect and 3 units per unit of a driver
    known a day ahead (a load forecast, say); ``(y, x)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(24 * days)
    x = rng.normal(size=len(t))
    y = 20 + 5 * np.sin(2 * np.pi * t / 24) + 2 * (t // 24 % 7 == 6) + 3 * x \
        + rng.normal(0, 0.1, len(t))
    return y, x


def test_the_ridge_with_future_columns_reads_each_step_of_the_driver():
    y, x = hourly_driven(400)
    h = 24
    rows = np.c_[np.r_[y[:-h], np.full(h, np.nan)], x]
    forecast = baselines.ridge_x(rows, h, (24, 168))
    assert np.abs(forecast - y[-h:]).mean() < 0.6  # each step's driver, the day's shape
    assert np.abs(baselines.seasonal_naive(y[:-h], h, 24) - y[-h:]).mean() > 2
    blind = baselines.ridge_x(np.c_[rows[:, :1], np.zeros(len(rows))], h, (24, 168))
    assert np.abs(blind - y[-h:]).mean() > 2  # without the driver it cannot know
    assert baselines.one("ridge_x", rows, h, (24, 168)).shape == (h, 1)
    short = rows[-(24 * 2 + h):]  # two days: fewer than the three it reads back
    with pytest.raises(ValueError, match="ridge_x needs"):
        baselines.ridge_x(short, h, 24)


def test_the_ridge_reads_a_fixed_span_so_a_saved_tail_forecasts_alike():
    y, x = hourly_driven(1_200)
    rows = np.c_[np.r_[y[:-24], np.full(24, np.nan)], x]
    span = baselines.ridge_span(24, 168) + 24
    assert len(rows) > span
    np.testing.assert_array_equal(baselines.ridge_x(rows, 24, (24, 168)),
                                  baselines.ridge_x(rows[-span:], 24, (24, 168)))
