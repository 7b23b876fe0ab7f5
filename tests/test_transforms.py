"""Per-series transforms: each series by its own phase, the same in blocks as in one piece."""

import itertools

import numpy as np
import pytest

from rnncast import transforms
from rnncast.data import as_panel
from rnncast.errors import SettingError
from rnncast.panel import Panel
from rnncast.transforms import Transforms


def seasonal_panel(seed: int = 0) -> Panel:
    """Positive monthly-like series of uneven lengths; the third starts at position 5 (a
    saved model's tail), so its phase is not its row number."""
    rng = np.random.default_rng(seed)
    series = [50 * np.exp(0.3 * np.sin(2 * np.pi * (np.arange(n) + p) / 12)
                          + rng.normal(0, 0.02, n)) for n, p in ((40, 0), (61, 3), (37, 7))]
    panel = as_panel(series)
    panel.starts = np.array([0, 0, 5])
    return panel


@pytest.mark.parametrize("scaler", ["none", "standard"])
def test_forward_panel_matches_each_series_by_hand(scaler):
    panel = seasonal_panel()
    fitted = Transforms.fit(panel, scaler, True, season=12, deseasonalize=True)
    z = fitted.forward_panel(panel)
    for k in range(len(panel)):
        y = panel.rows(k)[:, 0]
        phase = (panel.starts[k] + np.arange(len(y))) % 12
        expected = np.log(y / fitted.seasonal[k, phase, 0])
        expected = (expected - fitted.shift[k, 0]) / fitted.scale[k, 0]
        np.testing.assert_allclose(z[panel.offsets[k] : panel.offsets[k + 1], 0], expected)
    assert not np.allclose(fitted.seasonal[:, :, 0], 1)  # the season was found and removed


def test_blocks_give_the_same_rows_and_cover_every_series(monkeypatch):
    panel = seasonal_panel(1)
    fitted = Transforms.fit(panel, "standard", True, season=12, deseasonalize=True)
    whole = fitted.forward_panel(panel)
    monkeypatch.setattr(transforms, "ROWS", 7)  # blocks smaller than any series
    np.testing.assert_array_equal(fitted.forward_panel(panel), whole)
    blocks = list(transforms._blocks(panel.offsets, 50))
    assert blocks[0][0] == 0 and blocks[-1][1] == len(panel)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))


def test_the_panels_values_are_never_changed():
    panel = seasonal_panel(2)
    before = panel.values.copy()
    for scaler, log in (("none", False), ("none", True), ("standard", "log1p")):
        Transforms.fit(panel, scaler, log, 12, True).forward_panel(panel)
        np.testing.assert_array_equal(panel.values, before)


def test_a_log_of_values_that_are_not_positive_is_refused():
    panel = as_panel(np.r_[0.0, np.arange(1.0, 30.0)])
    with pytest.raises(SettingError, match="strictly positive"):
        Transforms.fit(panel, "none", True).forward_panel(panel)


def test_a_long_series_takes_its_seasonal_indices_from_its_last_seasons():
    from rnncast.scaling import seasonal_indices
    from rnncast.transforms import LONG, RECENT, recent_seasons

    old, new = np.array([1.2, 1.0, 0.8, 1.0]), np.array([0.8, 1.0, 1.2, 1.0])  # the season flips
    t = np.arange(4 * (LONG + 1) + 2)  # not a whole number of seasons: phases from the first row
    y = 100 * np.where(t < 4 * (LONG - RECENT), old[t % 4], new[t % 4])
    part = recent_seasons(y, 4)
    assert len(part) % 4 == len(y) % 4 and RECENT * 4 <= len(part) < (RECENT + 1) * 4
    np.testing.assert_allclose(seasonal_indices(part, 4), new, atol=1e-9)
    short = y[: 4 * (LONG - 1)]
    assert recent_seasons(short, 4) is short  # shorter series: every season


def test_the_asinh_scaler_is_a_log_for_values_of_both_signs():
    prices = np.array([30.0, 35.0, -5.0, 40.0, 250.0, 33.0, 28.0])
    other = np.array([2.0, 2.0, 2.0, 5.0])  # the MAD is 0 here: the standard deviation instead
    panel = as_panel([prices, other])
    fitted = Transforms.fit(panel, "asinh", False)
    median, mad = 33.0, np.median(np.abs(prices - 33.0)) / 0.6745
    z = fitted.forward_panel(panel)
    np.testing.assert_allclose(z[:7, 0], np.arcsinh((prices - median) / mad))
    np.testing.assert_allclose(fitted.shift[1], [2.0])
    np.testing.assert_allclose(fitted.scale[1], [np.std(other)])
    # rows one by one, and back
    rows = fitted.forward_rows(np.array([0]), prices[None, :, None], np.arange(7)[None])
    np.testing.assert_allclose(rows[0, :, 0], z[:7, 0])
    back = fitted.inverse_all(rows, np.array([0]), [0])
    np.testing.assert_allclose(back[0, :, 0], prices, rtol=1e-12)
    assert z[4, 0] < 2 * np.log(2 * (250 - median) / mad)  # a spike is compressed like a log


def test_the_step_scaler_divides_by_each_series_mean_seasonal_change_by_hand():
    steady = 100 * 1.01 ** np.arange(30.0)  # grows 1% a step: the log changes by log(1.01)
    wild = 100 * np.exp(np.tile([0.0, 0.5], 15))  # the log jumps by 0.5 every step
    flat = np.full(30, 7.0)  # no change at all: held at the floor, not magnified without end
    panel = as_panel([steady, wild, flat])
    fitted = Transforms.fit(panel, "step", True, season=2)
    # changes over a season of 2: 2·log(1.01) for the steady series, 0 for the alternating one
    np.testing.assert_allclose(fitted.scale[0, 0], 2 * np.log(1.01))
    one = Transforms.fit(panel, "step", True, season=1)
    np.testing.assert_allclose(one.scale[:2, 0], [np.log(1.01), 0.5])
    median = np.median([np.log(1.01), 0.5, 0.0])
    np.testing.assert_allclose(one.scale[2, 0], transforms.FLOOR * median)
    np.testing.assert_allclose(one.shift[0, 0], np.log(steady).mean())
    z = one.forward_panel(panel)
    np.testing.assert_allclose(np.diff(z[:30, 0]), 1.0)  # one typical step is one unit
    back = one.inverse_all(z[:30][None], np.array([0]), [0])
    np.testing.assert_allclose(back[0, :, 0], steady, rtol=1e-12)
