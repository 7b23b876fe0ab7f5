"""Time columns: parsing, frequency, gaps, filling and time zones.

A forecast needs a regular clock: each series' stamps must follow one frequency with nothing
missing, or the network's steps and the forecast's dates stop meaning what they say. Gaps and
irregular stamps are errors naming the first one, unless the user asks to fill them
(:attr:`TimeConfig.fill`); stamps pandas cannot read unambiguously take ``date_format`` or
``dayfirst``; mixed UTC offsets (a series across summer time) take ``time_zone``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnncast.errors import DataError, SettingError

FILLS = ("interpolate", "zero", "ffill")
# tsibble's and fpp3's exports: "1956 Q1", "1939 Jan", "2019 W01" (read without a format)
_TSIBBLE = {r"\d{4} Q[1-4]": "quarter", r"\d{4} [A-Z][a-z]{2}": "%Y %b", r"\d{4} W\d{2}": "week",
            r"\d{4}[Mm](0?[1-9]|1[0-2])": "month"}  # the last: 2015M01 (Eurostat), 2015m1 (Stata)
TIME_ZONES = ("utc", "local")
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_DAY_FIRST_LOOK = r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"


@dataclass(frozen=True)
class TimeConfig:
    """How to read time stamps. ``freq``: a pandas alias (``"MS"``, ``"D"``) where it cannot be
    inferred; ``date_format``: a strftime format; ``dayfirst``: 03/04 is 3 April; ``fill``: fill
    missing stamps (``interpolate``, ``zero``, ``ffill``) instead of refusing them;
    ``time_zone``: ``utc`` converts mixed offsets to UTC (hourly data), ``local`` keeps the
    wall-clock time and drops the offsets (daily and coarser data)."""

    freq: str | None = None
    date_format: str | None = None
    dayfirst: bool = False
    fill: str | None = None
    time_zone: str | None = None

    def __post_init__(self) -> None:
        if self.fill is not None and self.fill not in FILLS:
            raise SettingError(f"fill must be one of {', '.join(FILLS)}, got {self.fill!r}")
        if self.time_zone is not None and self.time_zone not in TIME_ZONES:
            raise SettingError(f"time_zone must be one of {', '.join(TIME_ZONES)}, got {self.time_zone!r}")
        if self.freq is not None:
            try:
                pd.tseries.frequencies.to_offset(self.freq)
            except ValueError:
                raise SettingError(f"freq {self.freq!r} is not a pandas frequency (e.g. MS, W-SUN, D, "
                                   "h, 15min)") from None


def parse_times(raw: pd.Series, label: str, where: str, cfg: TimeConfig) -> pd.Index:
    """A time column as a DatetimeIndex (dates) or an integer Index (steps; integers read as
    dates when a date format is given), checked for missing values; rows are 1-based in
    messages."""
    prefix = f"{where}: " if where else ""
    if pd.api.types.is_numeric_dtype(raw) and not cfg.date_format:  # 20200101 with %Y%m%d: dates
        values = raw.to_numpy()
        if pd.isna(values).any():
            row = int(np.argmax(pd.isna(values)))
            raise DataError(f"{prefix}time column '{label}' has a missing value at row {row + 1}")
        if not np.all(np.mod(values, 1) == 0):
            row = int(np.argmax(np.mod(values, 1) != 0))
            raise DataError(f"{prefix}time column '{label}' has a fractional step {values[row]} at "
                            f"row {row + 1}; integer steps or dates are expected")
        return pd.Index(values.astype(np.int64), name=label)
    if pd.api.types.is_datetime64_any_dtype(raw):  # Parquet and pandas hand over real times
        index = pd.DatetimeIndex(raw, name=label)
        if cfg.time_zone == "utc" and index.tz is not None:
            index = index.tz_convert("UTC")
        elif cfg.time_zone == "local" and index.tz is not None:
            index = index.tz_localize(None)
        if index.hasnans:
            row = int(np.argmax(index.isna()))
            raise DataError(f"{prefix}time column '{label}' has a missing time at row {row + 1}")
        return index
    text = raw.astype("string")
    found = text.str.extract(f"({_OFFSET})", expand=False)  # each stamp's UTC offset, if any
    offsets = found.dropna().unique()
    if len(offsets) > 1:
        if cfg.time_zone is None:
            row = int(np.argmax((found != offsets[0]).fillna(False).to_numpy()))
            raise DataError(f"{prefix}time column '{label}' mixes UTC offsets ({offsets[0]} and "
                            f"{offsets[1]}, first change at row {row + 1}); add --time-zone utc "
                            "(hourly or finer data) or --time-zone local (keep the wall-clock time)")
        if cfg.time_zone == "local":
            text = text.str.replace(_OFFSET, "", regex=True)
    utc = cfg.time_zone == "utc"
    tsibble = _tsibble(text, cfg.date_format)
    if tsibble is not None:
        return tsibble.rename(label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(text, errors="coerce", format=cfg.date_format or "mixed",
                                    dayfirst=cfg.dayfirst, utc=utc)
        except (ValueError, TypeError) as error:
            raise DataError(f"{prefix}time column '{label}' cannot be read as dates "
                            f"({str(error).splitlines()[0]})") from None
    index = pd.DatetimeIndex(parsed, name=label)
    if index.hasnans:
        row = int(np.argmax(index.isna()))
        hint = f" with format {cfg.date_format!r}" if cfg.date_format else ""
        raise DataError(f"{prefix}time column '{label}' has a missing or unreadable time "
                        f"{raw.iloc[row]!r}{hint} at row {row + 1}")
    return index


def _tsibble(text: pd.Series, fmt: str | None) -> pd.DatetimeIndex | None:
    """Stamps written as tsibble and fpp3 write them (``1956 Q1``, ``1939 Jan``, ``2019 W01``),
    as statistics offices and Stata write months (``2015M01``, ``2015m1``), or with a ``%q``
    (quarter) format such as ``%Y Q%q``: their first days; None otherwise."""
    if fmt and "%q" in fmt:
        pattern = re.escape(fmt).replace("%Y", r"(?P<year>\d{4})").replace("%q", r"(?P<quarter>[1-4])")
        if "%" in pattern.replace("%%", ""):
            raise SettingError(f"--date-format {fmt!r}: %q (the quarter) goes with %Y alone")
        parts = text.str.extract(f"^{pattern}$")
        if parts.isna().any(axis=None):
            row = int(np.argmax(parts.isna().any(axis=1).to_numpy()))
            raise DataError(f"a time {text.iloc[row]!r} at row {row + 1} does not match --date-format "
                            f"{fmt!r}")
        return pd.PeriodIndex.from_fields(year=parts["year"].astype(int), quarter=parts[
            "quarter"].astype(int), freq="Q").to_timestamp()
    if fmt or text.isna().any():
        return None
    for pattern, kind in _TSIBBLE.items():
        if text.str.fullmatch(pattern).all():
            if kind == "quarter":
                return pd.PeriodIndex.from_fields(year=text.str[:4].astype(int),
                                                  quarter=text.str[-1].astype(int),
                                                  freq="Q").to_timestamp()
            if kind == "month":
                return pd.PeriodIndex.from_fields(year=text.str[:4].astype(int),
                                                  month=text.str[5:].astype(int),
                                                  freq="M").to_timestamp()
            if kind == "week":  # ISO year and week: its Monday
                return pd.DatetimeIndex(pd.to_datetime(text + " 1", format="%G W%V %u"))
            return pd.DatetimeIndex(pd.to_datetime(text, format=kind))
    return None


def panel_steps(stamps: pd.Index, starts: np.ndarray, cfg: TimeConfig, label: str, where: str,
                ids: list[str], order: np.ndarray | None = None
                ) -> tuple[str | None, int, list[int]]:
    """Check the stamps of many series at once (sorted by series, then time; series ``k``
    begins at ``starts[k]``): ``(freq, series with gaps)``. Every stamp is placed on one grid of
    the panel's frequency; within a series consecutive stamps must be neighbours on it. Gaps are
    an error naming the first (``order``: each stamp's place in the file, when sorted) unless
    ``cfg.fill``. ``step``: the integer step of integer stamps (1 for dates)."""
    prefix = f"{where}: " if where else ""
    rows = (lambda k: k + 1) if order is None else (lambda k: int(order[k]) + 1)
    n = len(stamps)
    series_of = lambda k: ids[int(np.searchsorted(starts, k, side="right")) - 1]  # noqa: E731
    inner = np.ones(n, dtype=bool)
    inner[starts] = False  # a stamp that follows another of its own series
    if isinstance(stamps, pd.DatetimeIndex):
        freq = cfg.freq
        for k in range(min(len(starts), 50)):  # the first series that tells its frequency
            if freq:
                break
            one = stamps[starts[k] : starts[k + 1] if k + 1 < len(starts) else n]
            freq = detect_freq(one)
        if freq is None:
            if not inner.any() or np.diff(np.r_[starts, n]).max() < 3:
                return None, 1, []
            raise DataError(f"{prefix}time column '{label}' follows no regular frequency; give "
                            "--freq (e.g. MS, W-SUN, D, h)")
        grid = pd.date_range(stamps.min(), stamps.max(), freq=freq).as_unit(stamps.unit).asi8
        ticks, step = stamps.asi8, 1
    else:
        freq, grid, ticks = None, None, stamps.to_numpy().astype(np.int64, copy=False)
        step = min((int(np.diff(ticks[lo:b])[inner[lo + 1 : b]].min()) for lo, b in _chunks(n)
                    if inner[lo + 1 : b].any()), default=1)  # the smallest step within a series
    jump = np.zeros(n, dtype=bool)  # a stamp that is not its predecessor's next
    for lo, b in _chunks(n):
        if grid is None:
            position = ticks[lo:b]
            bad = (np.diff(position) % step != 0) if step > 0 else np.ones(b - lo - 1, bool)
            bad &= inner[lo + 1 : b]
            if bad.any():
                k = lo + 1 + int(np.argmax(bad))
                raise DataError(f"{prefix}series '{series_of(k)}': time column '{label}' is "
                                f"irregular at row {rows(k)} ({stamps[k - 1]} then {stamps[k]})")
        else:  # each stamp's place on the grid, if it is on it
            position = np.minimum(np.searchsorted(grid, ticks[lo:b]), len(grid) - 1)
            off = grid[position] != ticks[lo:b]
            if off.any():
                k = lo + int(np.argmax(off))
                raise DataError(f"{prefix}series '{series_of(k)}': time column '{label}' has "
                                f"{stamps[k]} at row {rows(k)}, off the {freq} steps of the "
                                "panel; give --freq")
        jump[lo + 1 : b] = np.diff(position) != step
    jump &= inner
    if not jump.any():
        return freq, step, []
    gapped = np.unique(np.searchsorted(starts, np.flatnonzero(jump), side="right") - 1).tolist()
    if cfg.fill is None:
        k = int(np.argmax(jump))
        raise DataError(f"{prefix}series '{series_of(k)}': time column '{label}' skips from "
                        f"{stamps[k - 1]} to {stamps[k]} at row {rows(k)} ({len(gapped)} series "
                        "with gaps in all); fill them with --fill-missing interpolate|zero|ffill")
    return freq, step, gapped


_CHUNK = 1 << 20  # rows checked at a time: a few MB of temporaries, not a copy of the column


def _chunks(n: int):
    """``(lo, b)``: rows ``lo:b`` of ``n``, chunk by chunk, each with the row before it (to
    compare it with)."""
    for a in range(0, n, _CHUNK):
        yield max(a - 1, 0), min(a + _CHUNK, n)


def spans(ends: pd.DatetimeIndex, freq: str, before: np.ndarray, after: int) -> list[pd.DatetimeIndex]:
    """For each stamp ``ends[k]``: the ``before[k]`` steps of ``freq`` up to it (included), then
    ``after`` more; sliced from one shared grid instead of one date range per series."""
    offset = pd.tseries.frequencies.to_offset(freq)
    first = ends.min() - offset * int(max(int(np.max(before)) - 1, 0))
    grid = pd.date_range(first, ends.max() + offset * after, freq=freq, name=ends.name)
    at = grid.get_indexer(ends)
    if (at < 0).any():  # a stamp off the grid (another anchor): one range each, as before
        return [pd.date_range(end=e, periods=int(b), freq=freq).append(
            pd.date_range(e, periods=after + 1, freq=freq)[1:]) for e, b in zip(ends, before, strict=True)]
    return [grid[a - int(b) + 1 : a + 1 + after] for a, b in zip(at, before, strict=True)]


def _guess_freq(index: pd.DatetimeIndex) -> str | None:
    """The frequency most runs of three consecutive stamps follow (None if none does)."""
    picks = np.unique(np.linspace(0, len(index) - 3, num=min(len(index) - 2, 60)).astype(int))
    seen: dict[str, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in picks:
            freq = pd.infer_freq(index[k : k + 3])
            if freq:
                seen[freq] = seen.get(freq, 0) + 1
    return max(seen, key=seen.get) if seen else None


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """The index's frequency alias (``"MS"``), or None when irregular or too short."""
    if index.freqstr:
        return index.freqstr
    if len(index) < 3:
        return None
    with warnings.catch_warnings():  # pandas 3 announces an offset return type; accept both
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(index)
    return getattr(freq, "freqstr", freq)


def detect_freq(index: pd.DatetimeIndex) -> str | None:
    """The frequency of the whole index, else the one most runs of three stamps follow."""
    if len(index) < 3:
        return None
    return infer_freq(index) or _guess_freq(index)


def regular(index: pd.Index, values: np.ndarray, cfg: TimeConfig, label: str, where: str,
            freq: str | None = None, raw: pd.Series | None = None,
            ) -> tuple[pd.Index, np.ndarray, str | None]:
    """Check that ``index`` follows one frequency with nothing missing, or fill the gaps when
    ``cfg.fill`` says so: ``(index, values (T, F), freq)``. ``freq``: the panel's frequency
    when known (else ``cfg.freq``, else inferred); ``where`` names the file and series."""
    if isinstance(index, pd.DatetimeIndex):
        freq = cfg.freq or freq or detect_freq(index)
        if freq is None:
            if len(index) < 3:
                return index, values, None
            raise DataError(f"{where}: time column '{label}' follows no regular frequency; "
                            "give --freq (e.g. MS, W-SUN, D, h)" + stamp_hint(raw, cfg))
        full = pd.date_range(index[0], index[-1], freq=freq, name=label)
        if len(full) == len(index) and full.equals(index):
            return index, values, freq
        off = ~index.isin(full)
        if off.any():
            row = int(np.argmax(off))
            raise DataError(f"{where}: time column '{label}' has {index[row]} at row {row + 1}, "
                            f"off the {freq} steps that start at {index[0]}; give --freq"
                            + stamp_hint(raw, cfg))
    else:
        steps = np.diff(index.to_numpy())
        if not len(steps):
            return index, values, None
        step = int(np.min(steps))
        if step <= 0 or np.any(steps % step):
            row = int(np.argmax(steps != step)) + 1
            raise DataError(f"{where}: time column '{label}' is irregular at row {row + 1} "
                            f"({index[row - 1]} then {index[row]})")
        if np.all(steps == step):
            return index, values, None
        full = pd.Index(np.arange(index[0], index[-1] + 1, step), name=label)
    if cfg.fill is None:
        gap = int(np.argmax(np.asarray(full[: len(index)] != index)))  # first stamp after a gap
        missing = len(full) - len(index)
        raise DataError(f"{where}: time column '{label}' skips from {index[gap - 1]} to "
                        f"{index[gap]} at row {gap + 1} ({missing} missing step(s) in all); fill "
                        "them with --fill-missing interpolate|zero|ffill" + stamp_hint(raw, cfg))
    frame = pd.DataFrame(values, index=index).reindex(full)
    if cfg.fill == "zero":
        frame = frame.fillna(0.0)
    elif cfg.fill == "ffill":
        frame = frame.ffill()
    else:
        frame = frame.interpolate(method="linear", limit_direction="both")
    return full, frame.to_numpy(np.float64), freq if isinstance(full, pd.DatetimeIndex) else None


def fill_values(values: np.ndarray, offsets: np.ndarray, how: str | None, columns: list[str],
                ids: list[str] | None, where: str) -> np.ndarray:
    """Fill the NaN values of each series (``offsets``) as ``how`` says, within the series: the
    line between its neighbours (``interpolate``), zero, or the last value before (``ffill``;
    the first after, at its start). A series with no value at all is an error naming it."""
    missing = np.isnan(values)
    if how is None or not missing.any():
        return values
    series = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    empty = ~pd.DataFrame(~missing).groupby(series).any().to_numpy()  # (N, F)
    if empty.any():
        k, j = map(int, np.argwhere(empty)[0])
        name = f"series '{ids[k]}'" if ids else "the series"
        raise DataError(f"{where}: {name} has no value in column '{columns[j]}' to fill from")
    if how == "zero":
        return np.where(missing, 0.0, values)
    frame = pd.DataFrame(values).groupby(series)
    if how == "ffill":
        filled = frame.ffill().fillna(frame.bfill())
    else:
        filled = frame.transform(lambda s: s.interpolate(method="linear", limit_direction="both"))
    return filled.to_numpy(np.float64)


def stamp_hint(raw: pd.Series | None, cfg: TimeConfig) -> str:
    """What may have been meant by stamps that broke the clock: dates written day first, or
    integers that are months or days written as numbers (201501, 20150131)."""
    if raw is None or cfg.dayfirst or cfg.date_format:
        return ""
    if pd.api.types.is_integer_dtype(raw):
        values = raw.to_numpy()
        for digits, fmt, example in ((6, "%Y%m", "201501"), (8, "%Y%m%d", "20150131")):
            month = values // 10 ** (digits - 6) % 100
            if ((values >= 10 ** (digits - 1)) & (values < 10 ** digits)).all() and (
                    (month >= 1) & (month <= 12)).all():
                return f"; if these are dates written as numbers ({example}), add --date-format {fmt}"
        return ""
    if pd.api.types.is_numeric_dtype(raw):
        return ""
    if raw.astype("string").str.match(_DAY_FIRST_LOOK).fillna(False).all():
        return "; if the dates are written day first (31/01/2020), add --dayfirst"
    return ""
