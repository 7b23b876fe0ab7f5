"""Scalers fitted on the training part only; level normalisation."""

import numpy as np
import pytest
import torch

from rnncast.scaling import Scaler, first_level, seasonal_indices, window_level


def test_minmax_is_fitted_on_training_part_only_and_inverts():
    train, test = np.array([1.0, 3.0, 5.0]), np.array([9.0])
    scaler = Scaler("minmax").fit(train)
    np.testing.assert_allclose(scaler.transform(train), [0, 0.5, 1])
    np.testing.assert_allclose(scaler.transform(test), [2.0])  # past the training max: > 1
    np.testing.assert_allclose(scaler.inverse(scaler.transform(test)), test)


def test_standard_per_feature_and_log():
    data = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    scaler = Scaler("standard", log=True).fit(data)
    z = scaler.transform(data)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(0), 1)
    np.testing.assert_allclose(z[:, 0], z[:, 1])  # log makes the ×10 feature identical
    np.testing.assert_allclose(scaler.inverse(z), data)
    with pytest.raises(ValueError, match="log scaling needs strictly positive values"):
        Scaler("standard", log=True).fit(np.array([1.0, 0.0]))


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_constant_series_does_not_divide_by_zero(kind):
    scaler = Scaler(kind).fit(np.full(5, 7.0))
    z = scaler.transform(np.full(3, 7.0))
    assert np.isfinite(z).all()
    np.testing.assert_allclose(scaler.inverse(z), 7.0)


def test_state_round_trip():
    scaler = Scaler("minmax", log=True).fit(np.array([1.0, 2.0, 8.0]))
    again = Scaler.from_state(scaler.state())
    x = np.array([3.0, 16.0])
    np.testing.assert_allclose(again.transform(x), scaler.transform(x))
    with pytest.raises(ValueError, match="scaler must be one of"):
        Scaler("robust")


def test_window_level_is_the_mean_of_the_last_span():
    x = torch.arange(12.0).view(2, 6, 1)  # two windows
    assert window_level(x, 3).flatten().tolist() == [4.0, 10.0]
    assert first_level(x, 2).flatten().tolist() == [0.5, 6.5]
    assert window_level(x.numpy(), 1).flatten().tolist() == [5.0, 11.0]  # NumPy too


def test_seasonal_indices_recover_a_multiplicative_season():
    pattern = np.array([0.8, 0.9, 1.0, 1.3, 1.2, 0.8])  # mean 1
    t = np.arange(60)
    y = (100 + t) * pattern[t % 6]
    indices = seasonal_indices(y, 6)
    np.testing.assert_allclose(indices, pattern, atol=0.01)
    assert indices.mean() == pytest.approx(1.0)


def test_seasonal_indices_are_ones_without_a_season():
    rng = np.random.default_rng(0)
    noise = 100 + rng.normal(size=80).cumsum()
    np.testing.assert_array_equal(seasonal_indices(noise, 12), np.ones(12))
    np.testing.assert_array_equal(seasonal_indices(np.arange(1.0, 20.0), 12), np.ones(12))  # short
    np.testing.assert_array_equal(seasonal_indices(-np.ones(50), 4), np.ones(4))  # not positive
