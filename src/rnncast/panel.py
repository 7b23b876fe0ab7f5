"""Series in memory. One series is a :class:`SeriesData`; many are a :class:`Panel`, held by
column: every series' values end to end in one array, cut by offsets, and a :class:`Clock` that
gives each series' time stamps from its first one and a step. 100,000 series are a handful of
arrays, not 100,000 objects, and every per-series operation is array arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from rnncast.errors import DataError

# Season length by the base of a pandas frequency alias (of its one-step form; see season_from_freq).
_SEASONS = {"MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4, "W": 52, "D": 7, "B": 5,
            "YS": 1, "YE": 1, "Y": 1, "A": 1, "AS": 1}
DATES, STEPS, POSITIONS = "dates", "steps", "positions"
DAY, HOUR, MINUTE = 86_400 * 10**9, 3_600 * 10**9, 60 * 10**9  # nanoseconds
MOST_DAILY_STEPS = 96  # a longer season is too long a window: 5-minute data take the hour
_MONDAY = pd.Timestamp("1970-01-05")  # the anchor that sub-daily and daily phases count from


def _offset(freq: str):
    try:
        return pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None


def season_from_freq(freq: str | None) -> int:
    """Season length for a pandas frequency alias, its multiple included: ``"MS"`` → 12,
    ``"3MS"`` → 4, ``"30min"`` → 48 (a day), ``"2h"`` → 12, ``"5min"`` → 12 (an hour: a day of
    288 steps is too long a season); 1 when unknown or when no season divides evenly."""
    offset = _offset(freq) if freq else None
    if offset is None:
        return 1
    nanos = getattr(offset, "nanos", None) if isinstance(offset, pd.offsets.Tick) else None
    if nanos is not None and nanos < DAY:  # sub-daily: the day, else the hour, the minute
        steps = [span // nanos for span in (DAY, HOUR, MINUTE) if span % nanos == 0]
        return next((int(n) for n in steps if 1 < n <= MOST_DAILY_STEPS), 1)
    base = offset.rule_code.split("-")[0]
    season = _SEASONS.get(base, 1)
    return season // offset.n if season % offset.n == 0 else 1


def second_season_from_freq(freq: str | None) -> int:
    """The longer season that data of this frequency also follow: the week for sub-daily data
    whose season is the day (``"30min"`` → 336, ``"h"`` → 168), the year for daily data (365);
    1 for any other."""
    offset = _offset(freq) if freq else None
    if offset is None:
        return 1
    if isinstance(offset, pd.offsets.Day) and offset.n == 1:
        return 365
    nanos = getattr(offset, "nanos", None) if isinstance(offset, pd.offsets.Tick) else None
    day = season_from_freq(freq)
    return 7 * day if nanos is not None and nanos < DAY and day * nanos == DAY else 1


@dataclass
class SeriesData:
    """One (possibly multivariate) series: ``values (T, F)``, its time index and column names."""

    values: np.ndarray
    index: pd.Index | None
    columns: list[str]
    freq: str | None
    start: int = 0  # position of the first row in the whole series (a saved model keeps a tail)

    @property
    def season(self) -> int:
        return season_from_freq(self.freq)


@dataclass(frozen=True)
class Clock:
    """When each series' rows happen. Row ``j`` of series ``k`` is at ``first[k]`` plus ``j``
    steps: steps of ``freq`` for dates, ``step[k]`` for integer times (years every 5), 1 for
    bare positions (no time column)."""

    kind: str  # DATES, STEPS or POSITIONS
    first: pd.Index  # (N,): a DatetimeIndex for dates, else int64
    step: np.ndarray  # (N,) int64; 1 for dates and positions
    freq: str | None = None
    name: str | None = None  # the time column's name

    def take(self, rows) -> Clock:
        return replace(self, first=self.first[rows], step=self.step[rows])

    def labels(self, at: np.ndarray, count: int) -> pd.Index:
        """The stamps of rows ``at[k], …, at[k] + count - 1`` of every series ``k``, flat
        ``(N·count,)``, series after series."""
        rows = np.asarray(at, dtype=np.int64)[:, None] + np.arange(count)  # (N, count)
        if self.kind != DATES:
            return pd.Index((self.first.to_numpy()[:, None] + rows * self.step[:, None]).ravel(),
                            name=self.name)
        grid, position = self._grid(int(rows.max(initial=0)))
        if (position >= 0).all():
            return grid[(position[:, None] + rows).ravel()]
        # a stamp off the shared grid (another anchor): one range per series
        parts = [pd.date_range(f, periods=int(r[-1]) + 1, freq=self.freq)[r]
                 for f, r in zip(self.first, rows, strict=True)]
        return pd.DatetimeIndex(np.concatenate(parts) if parts else [], name=self.name)

    def advanced(self, rows: np.ndarray) -> Clock:
        """The clock of the same series without their first ``rows[k]`` rows."""
        return replace(self, first=self.labels(rows, 1))

    def index(self, k: int, length: int) -> pd.Index:
        """The time index of series ``k``'s ``length`` rows (their positions without times)."""
        if self.kind == POSITIONS:
            first = int(self.first[k])
            return pd.RangeIndex(first, first + length, name=self.name)
        if self.kind == DATES:
            return pd.date_range(self.first[k], periods=length, freq=self.freq, name=self.name)
        first, step = int(self.first[k]), int(self.step[k])
        return pd.Index(np.arange(first, first + step * length, step)[:length], name=self.name)

    def phase(self, season: int) -> np.ndarray | None:
        """Where in its season each series' first row falls (0 … season-1): the month of year
        for monthly data, the quarter, the week of year, the weekday, the half hour of the day
        (steps counted from a fixed anchor: January, Monday midnight); None without dates."""
        if season < 2 or self.kind != DATES:
            return None
        first, offset = self.first, _offset(self.freq)
        code = offset.rule_code.split("-")[0] if offset is not None else ""
        if isinstance(offset, pd.offsets.Tick | pd.offsets.Day):  # fixed steps (days too)
            steps = (first.tz_localize(None) if first.tz else first) - _MONDAY
            value = steps.to_numpy().astype("m8[ns]").astype(np.int64) // offset.nanos
        elif code in ("MS", "ME", "M"):
            value = (first.year * 12 + first.month - 1) // offset.n
        elif code in ("QS", "QE", "Q"):
            value = (first.year * 4 + first.quarter - 1) // offset.n
        elif code == "W" and season == 52 and offset.n == 1:
            value = first.isocalendar().week.to_numpy() - 1
        elif code == "B":
            days = (first.tz_localize(None) if first.tz else first).to_numpy().astype("M8[D]")
            value = np.busday_count(np.datetime64(_MONDAY.date()), days) // offset.n
        elif code in ("YS", "YE", "Y", "A", "AS"):
            value = first.year // offset.n
        else:
            value = np.zeros(len(first), dtype=np.int64)
        return np.asarray(value, dtype=np.int64) % season

    def _grid(self, after: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
        """One date range from the earliest first stamp to ``after`` steps past the latest, and
        each series' first stamp's place on it (-1 if off it)."""
        offset = pd.tseries.frequencies.to_offset(self.freq)
        grid = pd.date_range(self.first.min(), self.first.max() + offset * after, freq=self.freq,
                             name=self.name)
        return grid, grid.get_indexer(self.first)

    @classmethod
    def of(cls, series: list[SeriesData]) -> Clock:
        """The clock of a list of series: dates when all are dated with one frequency, integer
        steps when all have integer times, else positions."""
        indexes = [s.index for s in series]
        freqs = {s.freq for s in series}
        name = indexes[0].name if indexes[0] is not None else None
        if (all(isinstance(i, pd.DatetimeIndex) and len(i) for i in indexes) and len(freqs) == 1
                and None not in freqs):
            return cls(DATES, pd.DatetimeIndex([i[0] for i in indexes], name=name),
                       np.ones(len(series), dtype=np.int64), freqs.pop(), name)
        if all(i is not None and len(i) and pd.api.types.is_integer_dtype(i) for i in indexes):
            step = np.array([max(1, int(i[1] - i[0])) if len(i) > 1 else 1 for i in indexes])
            return cls(STEPS, pd.Index(np.array([int(i[0]) for i in indexes], dtype=np.int64)),
                       step.astype(np.int64), None, name)
        return cls(POSITIONS, pd.Index(np.array([s.start for s in series], dtype=np.int64)),
                   np.ones(len(series), dtype=np.int64), None, name)


@dataclass
class Panel:
    """Many series (one model serves them all), column-wise: series ``k`` is the rows
    ``offsets[k]:offsets[k+1]`` of ``values`` and is named ``ids[k]``.

    ``ids`` is None for a single series given without a name; forecasts then come back in the
    input's own shape rather than in long format. ``starts[k]``: the position of series ``k``'s
    first row in the whole series (0, except for the tails a saved model keeps).
    """

    values: np.ndarray  # (points, F) float64
    offsets: np.ndarray  # (N + 1,) int64
    columns: list[str]
    clock: Clock
    ids: list[str] | None = None
    id_name: str = "id"
    starts: np.ndarray | None = None  # (N,) int64; None: all 0
    stacked: tuple[str, ...] = ()  # the targets whose columns became these series (stacking)

    def __post_init__(self) -> None:
        if self.starts is None:
            self.starts = np.zeros(len(self.offsets) - 1, dtype=np.int64)

    @classmethod
    def of(cls, series: list[SeriesData], ids: list[str] | None = None,
           id_name: str = "id") -> Panel:
        """A panel of the given series (all with the same number of columns)."""
        if not series:
            raise DataError("no series given: the list is empty")
        widths = sorted({s.values.shape[1] for s in series})
        if len(widths) > 1:
            raise DataError(f"all series need the same number of columns, got {widths}")
        lengths = np.array([len(s.values) for s in series], dtype=np.int64)
        if (lengths == 0).any():
            k = int(np.argmin(lengths))
            raise DataError(f"{f'series {ids[k]!r}' if ids else 'the series'} has no data")
        values = np.concatenate([s.values for s in series]).astype(np.float64, copy=False)
        return cls(values, np.r_[0, np.cumsum(lengths)], list(series[0].columns), Clock.of(series),
                   ids, id_name, np.array([s.start for s in series], dtype=np.int64))

    # -- shape ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def single(self) -> bool:
        return self.ids is None

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def ends(self) -> np.ndarray:
        """Each series' next position: where a forecast begins."""
        return self.starts + self.lengths

    @property
    def freq(self) -> str | None:
        return self.clock.freq

    @property
    def season(self) -> int:
        return season_from_freq(self.freq)

    @property
    def second_season(self) -> int:
        return second_season_from_freq(self.freq)

    @property
    def time_name(self) -> str | None:
        return self.clock.name

    def rows(self, k: int) -> np.ndarray:
        """Series ``k``'s values ``(T_k, F)`` (a view)."""
        return self.values[self.offsets[k] : self.offsets[k + 1]]

    def series_at(self, k: int) -> SeriesData:
        """Series ``k`` as a :class:`SeriesData` (values are a view)."""
        rows = self.rows(k)
        return SeriesData(rows, self.clock.index(k, len(rows)), list(self.columns), self.freq,
                          int(self.starts[k]))

    @cached_property
    def series(self) -> list[SeriesData]:
        """Every series as a :class:`SeriesData` (for small panels: one object each)."""
        return [self.series_at(k) for k in range(len(self))]

    def name(self, k: int) -> str:
        return f"series '{self.ids[k]}'" if self.ids else "the series"

    # -- new panels ----------------------------------------------------------------------------
    def take(self, keep: np.ndarray) -> Panel:
        """The series ``keep`` (indices), in that order."""
        keep = np.asarray(keep, dtype=np.int64)
        lengths = self.lengths[keep]
        rows = gather_rows(self.offsets[keep], lengths)
        return Panel(self.values[rows], np.r_[0, np.cumsum(lengths)], list(self.columns),
                     self.clock.take(keep), None if self.ids is None else [self.ids[k] for k in keep],
                     self.id_name, self.starts[keep])

    def with_columns(self, names: list[str]) -> Panel:
        """The same series with the columns ``names`` (each must exist), in that order."""
        missing = [c for c in names if c not in self.columns]
        if missing:
            raise DataError(f"no column '{missing[0]}' (columns: {', '.join(self.columns)})")
        take = [self.columns.index(c) for c in names]
        if take == list(range(len(self.columns))):
            return self
        return replace(self, values=self.values[:, take], columns=list(names))

    def cut(self, keep_from: np.ndarray, keep_to: np.ndarray) -> Panel:
        """Rows ``keep_from[k]:keep_to[k]`` of every series ``k`` (each range non-empty)."""
        lengths = np.asarray(keep_to - keep_from, dtype=np.int64)
        if (lengths <= 0).any():
            k = int(np.argmin(lengths))
            raise DataError(f"{self.name(k)} has no rows left")
        rows = gather_rows(self.offsets[:-1] + keep_from, lengths)
        return replace(self, values=self.values[rows], offsets=np.r_[0, np.cumsum(lengths)],
                       clock=self.clock.advanced(np.asarray(keep_from)),
                       starts=self.starts + keep_from)

    def head(self, drop: int | np.ndarray) -> Panel:
        """Every series without its last ``drop`` rows."""
        return self.cut(np.zeros(len(self), dtype=np.int64), self.lengths - drop)

    def tail(self, count: int) -> Panel:
        """The last ``count`` rows of every series (all of a shorter one)."""
        return self.cut(np.maximum(self.lengths - count, 0), self.lengths)

    def split(self, test: int) -> tuple[Panel, Panel]:
        """Every series' training part and its last ``test`` rows."""
        if test < 1:
            raise DataError(f"test size must be a positive integer, got {test}")
        short = self.lengths <= test
        if short.any():
            k = int(np.argmax(short))
            raise DataError(f"{self.name(k)} has {self.lengths[k]} points: a test range of {test} "
                            "leaves it no training data; use a shorter --test or drop the series")
        return self.head(test), self.tail(test)

    def next_labels(self, steps: int) -> pd.Index:
        """The stamps of the ``steps`` rows after every series, flat ``(N·steps,)``: the next
        dates, integer times, or positions."""
        return self.clock.labels(self.lengths, steps)

    def trailing_zeros(self, targets: int) -> np.ndarray:
        """``(N, targets)``: how many exact zeros end each series' first ``targets`` columns (a
        discontinued item, a closed store)."""
        values = self.values[:, :targets]
        position = np.where(values != 0, np.arange(len(values))[:, None], -1)
        last = np.maximum.reduceat(position, self.offsets[:-1], axis=0)  # last non-zero, or -1
        first = self.offsets[:-1, None]
        return self.offsets[1:, None] - np.maximum(last + 1, first)

    # -- windows -------------------------------------------------------------------------------
    def last_rows(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers ``(N, count)`` of each series' last ``count`` rows, a shorter series'
        first row repeated in front (padding), and the position of each of those rows."""
        first, ends = self.offsets[:-1], self.offsets[1:]
        nominal = ends[:, None] - count + np.arange(count)  # (N, count)
        rows = np.maximum(nominal, first[:, None])
        return rows, self.starts[:, None] + rows - first[:, None]


def gather_rows(firsts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The rows ``firsts[k], …, firsts[k] + lengths[k] - 1`` of every ``k``, concatenated."""
    lengths = np.asarray(lengths, dtype=np.int64)
    rows = np.arange(int(lengths.sum()), dtype=np.int64)  # in place: one temporary of its size
    rows += np.repeat(np.asarray(firsts, dtype=np.int64) - (np.cumsum(lengths) - lengths), lengths)
    return rows
