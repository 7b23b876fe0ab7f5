import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    torch.set_num_threads(1)
    yield


@pytest.fixture
def seasonal():
    """A small monthly-like series: trend times a yearly season, positive."""
    t = np.arange(96)
    return 100 + t + 10 * np.sin(2 * np.pi * t / 12)
