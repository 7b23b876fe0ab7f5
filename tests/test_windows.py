"""Windows: the deck's sequence batches, Keras' windows, zero-copy views."""

import numpy as np
import pytest

from rnncast.windows import count_windows, holdout_split, make_windows

SERIES = np.arange(10)


def test_deck_window_4_label_1():
    X, Y = make_windows(SERIES, window=4, horizon=1)
    assert X[:3, :, 0].tolist() == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]
    assert Y[:3, :, 0].tolist() == [[4], [5], [6]]
    assert X[-1, :, 0].tolist() == [5, 6, 7, 8] and Y[-1, :, 0].tolist() == [9]
    assert X.shape == (6, 4, 1) and Y.shape == (6, 1, 1)


def test_deck_window_5_label_5():
    X, Y = make_windows(SERIES, window=5, horizon=5)
    assert X[:, :, 0].tolist() == [[0, 1, 2, 3, 4]]
    assert Y[:, :, 0].tolist() == [[5, 6, 7, 8, 9]]


def test_same_windows_as_keras_timeseries_dataset_from_array():
    # keras.utils.timeseries_dataset_from_array(data, data[4:], sequence_length=4)
    X, Y = make_windows(np.arange(10), window=4, horizon=1)
    keras_inputs = [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5],
                    [3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8]]
    keras_targets = [4, 5, 6, 7, 8, 9]
    assert X[:, :, 0].tolist() == keras_inputs
    assert Y[:, 0, 0].tolist() == keras_targets
    # keras.utils.timeseries_dataset_from_array(data, data[10:], 10, sequence_stride=3),
    # data = np.arange(99): 30 sequences starting at 0, 3, ..., 87; targets 10, 13, ..., 97
    X, Y = make_windows(np.arange(99), window=10, horizon=1, stride=3)
    assert len(X) == 30
    assert X[1, :, 0].tolist() == list(range(3, 13))
    assert X[-1, :, 0].tolist() == list(range(87, 97))
    assert Y[:, 0, 0].tolist() == list(range(10, 98, 3))


def test_windows_are_views_not_copies():
    data = np.arange(1000.0)
    X, Y = make_windows(data, window=36, horizon=18)
    assert np.shares_memory(X, data) and np.shares_memory(Y, data)
    assert X.shape == (1000 - 54 + 1, 36, 1)


def test_multivariate_windows_keep_features_together():
    data = np.stack([np.arange(8), 10 * np.arange(8)], axis=1)  # (T, 2)
    X, Y = make_windows(data, window=3, horizon=2)
    assert X.shape == (4, 3, 2) and Y.shape == (4, 2, 2)
    assert X[1].tolist() == [[1, 10], [2, 20], [3, 30]]
    assert Y[1].tolist() == [[4, 40], [5, 50]]


def test_holdout_split_and_errors():
    train, test = holdout_split(SERIES, 3)
    assert train.tolist() == list(range(7)) and test.tolist() == [7, 8, 9]
    with pytest.raises(ValueError, match="test size 10 leaves no training data"):
        holdout_split(SERIES, 10)
    with pytest.raises(ValueError, match="test size must be a positive integer, got 0"):
        holdout_split(SERIES, 0)
    with pytest.raises(ValueError, match="shorter than window \\+ horizon = 11"):
        make_windows(SERIES, 10, 1)
    with pytest.raises(ValueError, match="window must be a positive integer, got 0"):
        make_windows(SERIES, 0, 1)


def test_count_windows_with_a_stride():
    assert count_windows(10, 2, 1, 3) == 3 and count_windows(7, 2, 1, 3) == 2
