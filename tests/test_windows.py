"""Windows: the deck's sequence batches and Keras' windows, as training draws them (one flat
array, a window a start row), and the plan's count of pairs."""

import numpy as np
import pytest
import torch

from rnncast.data import as_panel
from rnncast.errors import DataError
from rnncast.plan import Plan, no_level
from rnncast.sampling import Windows, cut

SERIES = np.arange(10)


def pairs(series, window, horizon, targets=1):
    """Every (window -> horizon) pair of one series, as training gathers them: ``(X, Y)``."""
    data = np.asarray(series, dtype=np.float32).reshape(len(series), -1)
    make = lambda **kw: Windows(span=window, horizon=horizon, targets=targets,  # noqa: E731
                                level=no_level, **kw)
    windows, held = cut(torch.from_numpy(data), [len(data)], window, horizon, 0, make)
    assert len(held) == 0
    X, Y = windows.all()
    return X.numpy(), Y.numpy()


def test_deck_window_4_label_1():
    X, Y = pairs(SERIES, window=4, horizon=1)
    assert X[:3, :, 0].tolist() == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]
    assert Y[:3, :, 0].tolist() == [[4], [5], [6]]
    assert X[-1, :, 0].tolist() == [5, 6, 7, 8] and Y[-1, :, 0].tolist() == [9]
    assert X.shape == (6, 4, 1) and Y.shape == (6, 1, 1)


def test_deck_window_5_label_5():
    X, Y = pairs(SERIES, window=5, horizon=5)
    assert X[:, :, 0].tolist() == [[0, 1, 2, 3, 4]]
    assert Y[:, :, 0].tolist() == [[5, 6, 7, 8, 9]]


def test_same_windows_as_keras_timeseries_dataset_from_array():
    # keras.utils.timeseries_dataset_from_array(data, data[4:], sequence_length=4)
    X, Y = pairs(np.arange(10), window=4, horizon=1)
    keras_inputs = [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5],
                    [3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8]]
    keras_targets = [4, 5, 6, 7, 8, 9]
    assert X[:, :, 0].tolist() == keras_inputs
    assert Y[:, 0, 0].tolist() == keras_targets


def test_multivariate_windows_keep_features_together():
    data = np.stack([np.arange(8), 10 * np.arange(8)], axis=1)  # (T, 2)
    X, Y = pairs(data, window=3, horizon=2, targets=2)
    assert X.shape == (4, 3, 2) and Y.shape == (4, 2, 2)
    assert X[1].tolist() == [[1, 10], [2, 20], [3, 30]]
    assert Y[1].tolist() == [[4, 40], [5, 50]]


def test_holdout_split_and_its_errors():
    train, test = as_panel(SERIES).split(3)
    assert train.values[:, 0].tolist() == list(range(7)) and test.values[:, 0].tolist() == [7, 8, 9]
    with pytest.raises(DataError, match="a test range of 10 leaves it no training data"):
        as_panel(SERIES).split(10)
    with pytest.raises(DataError, match="test size must be a positive integer, got 0"):
        as_panel(SERIES).split(0)


@pytest.mark.parametrize("strategy, rows", [("direct", 4 + 3), ("recursive", 4 + 1),
                                            ("stateful", 4 + 3)])
def test_a_pair_takes_the_window_and_the_steps_it_is_trained_on(strategy, rows):
    plan = Plan(windows=(4,), head=3, season=1, strategy=strategy)
    assert plan.pair_length(4) == rows
    assert plan.pairs_in(10, 4) == 10 - rows + 1 and plan.pairs_in(rows - 1, 4) == 0
