"""The data measures the recipe reads: seasonal strength on the training part."""

import numpy as np

from rnncast import classical
from rnncast.classical import seasonal_strength


def test_seasonal_strength_is_one_for_a_pure_season_and_small_for_noise():
    assert seasonal_strength(np.tile([1.0, 5.0, 2.0, 8.0], 20), 4) == 1.0
    noise = 10 + np.random.default_rng(0).normal(size=240)
    assert seasonal_strength(noise, 12) < 0.3
    t = np.arange(240)
    mixed = 100 + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(1).normal(0, 5, 240)
    assert 0.2 < seasonal_strength(mixed, 12) < 0.8  # season and noise of similar size


def test_seasonal_strength_needs_a_season_and_two_cycles():
    assert seasonal_strength(np.arange(1.0, 50.0), 1) is None
    assert seasonal_strength(np.arange(1.0, 20.0), 12) is None
    assert seasonal_strength(np.ones(40), 4) is None  # constant: nothing to explain


def test_a_method_that_cannot_fit_a_tiny_series_gives_nan_not_an_error():
    # statsforecast's ETS refuses six points with NotImplementedError; the recipe's check of the
    # partners on short yearly ends (M3 yearly's training parts) stopped there
    y = np.array([3.0, 5, 4, 6, 7, 9])
    assert np.isnan(classical.one_forecast("ets", y, 3, 1)).all()
    assert np.isfinite(classical.one_forecast("theta", y, 3, 1)).all()
