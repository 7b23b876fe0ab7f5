"""The rules that read the data's facts: here the input length against the series' lengths."""

import numpy as np
import pandas as pd

from rnncast.data import as_panel
from rnncast.plan import resolve
from rnncast.rules import freq_words
from rnncast.settings import SeriesConfig


def weekly(n, seed=0):
    t = np.arange(n)
    values = 50 + 5 * np.sin(2 * np.pi * t / 52) + np.random.default_rng(seed).normal(0, 1, n)
    return pd.Series(values, index=pd.date_range("2019-01-07", periods=n, freq="W-MON"))


def test_the_window_reads_at_most_what_the_median_series_holds_beside_head_and_held_out_end():
    panel = as_panel({f"s{k}": weekly(80 + 4 * k, k) for k in range(5)})  # median 88 weeks
    p = resolve(panel, SeriesConfig(), test=13)
    # three seasons of 52 would be 156 weeks, nearly all padding: 88 - 13 - 13 held out
    assert p.season == 52 and p.head == 13 and p.windows == (62,)
    assert p.reasons[0] == ("window 62: 3 seasons of 52, at least 12, at most 62: the median "
                            "series' 88 points less a head of 13, the held-out end")
    assert resolve(panel, SeriesConfig(window=156), test=13).windows == (156,)  # the user's wins
    long = as_panel({f"s{k}": weekly(400, k) for k in range(3)})
    assert resolve(long, SeriesConfig(), test=13).windows == (156,)  # room for three seasons


def test_a_single_weekly_series_of_two_years_is_no_longer_refused_by_the_default_window():
    p = resolve(as_panel(weekly(92)), SeriesConfig(), test=13)
    assert p.windows == (53,) and p.validation == 13  # 92 - 13 - 13 - 13: a head of pairs too
    assert p.reasons[0].endswith("and a head of training pairs")


def test_a_frequency_is_said_as_a_person_says_it():
    words = [freq_words(f) for f in ("h", "D", "W-MON", "MS", "QS-JAN", "YS-JAN", "30min", "2h")]
    assert words == ["hourly", "daily", "weekly", "monthly", "quarterly", "yearly", "30-minute",
                     "2-hour"]
    assert freq_words("not-a-frequency") == "not-a-frequency"
    days = pd.Series(np.arange(800.0), index=pd.date_range("2020-01-01", periods=800, freq="D"))
    assert "the week and the year of daily data" in resolve(as_panel(days), SeriesConfig()).reasons[0]
