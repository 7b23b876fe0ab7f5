"""Public holidays as a future covariate (``--holidays AU-VIC``): a column ``holiday`` the
recipe builds from the time stamps and the ``holidays`` package, so that the future needs no
file: 1 on a holiday for daily and finer data, the number of holidays in the period for
coarser data (a week, a month)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from rnncast.errors import DataError, SettingError
from rnncast.panel import DATES, Panel

HOLIDAY = "holiday"  # the column's name


def country_of(code: str) -> tuple[str, str | None]:
    """``AU`` or ``AU-VIC`` (ISO 3166 country, then a subdivision) as (country, subdivision),
    checked against what the ``holidays`` package knows."""
    import holidays

    country, _, subdivision = code.upper().partition("-")
    known = holidays.list_supported_countries()
    if country not in known:
        raise SettingError(f"holidays: unknown country {code!r}; give an ISO 3166 code such as "
                           "US, GB, DE, AU or AU-VIC (a subdivision after the dash)")
    if subdivision and subdivision not in known[country]:
        raise SettingError(f"holidays: {country} has no subdivision {subdivision!r}; it has "
                           f"{', '.join(known[country][:12])}{' …' if len(known[country]) > 12 else ''}")
    return country, subdivision or None


def flags(stamps: pd.DatetimeIndex, freq: str, code: str) -> np.ndarray:
    """Per stamp: 1.0 if its day is a holiday (daily and finer data), else the number of
    holidays in the period the stamp names (a week, a month, a quarter)."""
    import holidays

    country, subdivision = country_of(code)
    if stamps.tz is not None:
        stamps = stamps.tz_localize(None)
    if len(stamps) == 0:
        return np.zeros(0)
    starts = ends = stamps.normalize()
    offset = pd.tseries.frequencies.to_offset(freq)
    if _coarser_than_a_day(offset):  # a stamp names the period it ends (ME, W) or begins (MS)
        day = pd.Timedelta(days=1)
        if type(offset).__name__.endswith("End") or isinstance(offset, pd.offsets.Week):
            starts = stamps.shift(-1, freq=offset).normalize() + day
        else:
            ends = stamps.shift(1, freq=offset).normalize() - day
    years = range(starts.min().year, ends.max().year + 1)
    days = holidays.country_holidays(country, subdiv=subdivision, years=years)
    dates = np.array(sorted(pd.Timestamp(day) for day in days), dtype="datetime64[ns]")
    first = np.searchsorted(dates, starts.to_numpy(), side="left")
    last = np.searchsorted(dates, ends.to_numpy(), side="right")
    return (last - first).astype(np.float64)


def _coarser_than_a_day(offset) -> bool:
    if isinstance(offset, pd.offsets.Tick):
        return pd.Timedelta(offset) > pd.Timedelta(days=1)
    return not isinstance(offset, pd.offsets.Day | pd.offsets.BusinessDay)


def with_holidays(panel: Panel, code: str) -> Panel:
    """``panel`` with the column ``holiday`` appended (the last future covariate), once."""
    if panel.clock.kind != DATES or panel.freq is None:
        raise DataError(f"--holidays {code} needs dates with a frequency in the time column")
    if panel.columns[-1] == HOLIDAY and len(panel.columns) > 1:
        return panel  # laid out already (evaluate lays out, then resolves the training part)
    if HOLIDAY in panel.columns:
        raise DataError(f"the data have a column '{HOLIDAY}' already: give it as --future "
                        f"{HOLIDAY} or drop --holidays")
    longest = int(panel.lengths.max())
    stamps = panel.clock.labels(np.zeros(len(panel), dtype=np.int64), longest)
    inside = (np.arange(longest)[None, :] < panel.lengths[:, None]).ravel()
    column = flags(pd.DatetimeIndex(stamps[inside]), panel.freq, code)
    return replace(panel, values=np.c_[panel.values, column], columns=[*panel.columns, HOLIDAY])


def ahead(panel: Panel, steps: int, code: str) -> np.ndarray:
    """The holiday column over the ``steps`` after every series: ``(N, steps, 1)``."""
    stamps = pd.DatetimeIndex(panel.next_labels(steps))
    return flags(stamps, panel.freq, code).reshape(len(panel), steps, 1)
