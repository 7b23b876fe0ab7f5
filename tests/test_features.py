"""The input channels: calendar phases of every season, read from each series' own dates."""

import numpy as np
import pandas as pd

from rnncast.data import as_panel
from rnncast.features import Channels, like
from rnncast.plan import Plan


def plan(calendar: bool) -> Plan:
    return Plan(windows=(96,), head=48, season=48, second_season=336, calendar=calendar)


def half_hourly(start: str, n: int = 2_000) -> pd.Series:
    return pd.Series(np.arange(float(n)), index=pd.date_range(start, periods=n, freq="30min"))


def test_calendar_channels_give_the_phase_in_the_day_and_in_the_week():
    panel = as_panel(half_hourly("2021-03-03 05:30"))  # a Wednesday: 2 days and 11 half hours
    channels = Channels.of(panel, plan(calendar=True), series_number=False)
    assert (channels.n_extra, channels.period) == (4, 336)
    day, week = 11 + 3, 2 * 48 + 11 + 3  # three steps later
    got = channels.extras(np.array([0]), np.array([[3]]))[0, 0]
    want = [np.sin(2 * np.pi * day / 48), np.cos(2 * np.pi * day / 48),
            np.sin(2 * np.pi * week / 336), np.cos(2 * np.pi * week / 336)]
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert Channels.of(panel, plan(calendar=False), series_number=False).n_extra == 0


def test_new_data_are_placed_in_the_week_of_their_own_dates():
    fitted = Channels.of(as_panel(half_hourly("2021-03-03 05:30")), plan(True), False)
    new = like(as_panel(half_hourly("2021-03-08 00:00", 500)), ["y"], fitted.phase0, fitted.period)
    # a Monday midnight: week phase 0, which the fitted series reached at its position 336 - 107
    assert (fitted.phase0[0] + new.starts[0]) % 336 == 0
