"""Data in: pandas or NumPy series, CSV and Parquet files; time index, frequency and season.

Every check happens here, before any tensor work, and fails with a :class:`DataError` whose
one-line message names the file, column and row where that makes sense.
"""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pandas as pd

from rnncast.errors import DataError, SettingError
from rnncast.panel import (  # noqa: F401  (SeriesData and season_from_freq: re-exported)
    DATES,
    POSITIONS,
    STEPS,
    Clock,
    Panel,
    SeriesData,
    gather_rows,
    season_from_freq,
)
from rnncast.tables import DECIMAL_COMMA, is_parquet, read_table
from rnncast.timeindex import (
    TimeConfig,
    fill_values,
    panel_steps,
    parse_times,
    regular,
    stamp_hint,
)

MAX_MAGNITUDE = 1e100  # squares of larger values overflow when scaling


LONG = ("unique_id", "ds", "y")  # the field's long layout (NeuralForecast, statsforecast)


def as_panel(y, covariates: tuple[str, ...] = (), freq: str | None = None,
             long: tuple = LONG) -> Panel:
    """One series (pandas, NumPy, :class:`SeriesData`), a list or dict of series, a Panel, or a
    long DataFrame with the columns ``long`` (id, time, target or targets; ``unique_id, ds, y``
    by default) and any ``covariates``; ``freq``: the frequency where the dates do not tell it."""
    if isinstance(y, Panel):
        return y
    if isinstance(y, pd.DataFrame):
        id_col, time_col, target = long
        targets = [target] if isinstance(target, str) else list(target)
        needed = [id_col, time_col, *targets]
        if set(needed) <= set(y.columns):
            return from_long(y, id_col, time_col, [*targets, *covariates],
                             time=TimeConfig(freq=freq))
        text = [c for c in y.columns if not pd.api.types.is_numeric_dtype(y[c])]
        if tuple(long) != LONG or text:  # meant as a long table, surely
            missing = next(c for c in needed if c not in y.columns)
            raise DataError(f"no column {missing!r} for the long layout {', '.join(needed)}: name "
                            f"yours with id_col=, time_col=, target_col= (default unique_id, ds, "
                            f"y), or give one series a column per target, indexed by time")
    if isinstance(y, SeriesData):
        return Panel.of([y])
    if isinstance(y, dict):
        return Panel.of([as_series(v) for v in y.values()], [str(k) for k in y])
    if isinstance(y, list | tuple):
        if not y:
            raise DataError("no series given: the list is empty")
        series = [v if isinstance(v, SeriesData) else as_series(v) for v in y]
        names = [getattr(v, "name", None) for v in y]
        ids = [str(n) for n in names] if all(n is not None for n in names) else None
        return Panel.of(series, ids or [str(k) for k in range(len(y))])
    return Panel.of([as_series(y)])


def from_long(
    frame: pd.DataFrame, id_col: str, time_col: str | None, target: str | list[str],
    where: str = "", time: TimeConfig | None = None,
) -> Panel:
    """A long table (``unique_id, ds, y``: one row per series and time) as a :class:`Panel`.

    Series come in the sorted order of their ids; rows of a series may come in any order: they
    are sorted by time within each id; a time that appears twice within one id is an error
    naming the id.
    """
    prefix = f"{where}: " if where else ""
    time = time or TimeConfig()
    targets = [target] if isinstance(target, str) else list(target)
    _distinct(targets, time_col, id_col)
    for column in [id_col, *targets, *([time_col] if time_col else [])]:
        if column not in frame.columns:
            known = ", ".join(map(str, frame.columns[:12]))
            raise DataError(f"{prefix}no column '{column}' (columns: {known})")
    if frame[id_col].isna().any():
        row = int(np.argmax(frame[id_col].isna().to_numpy()))
        raise DataError(f"{prefix}column '{id_col}' has a missing id at row {row + 1}")
    values = _columns(frame, targets, where, time.fill, frame[id_col])
    codes, names = _codes(frame[id_col])
    ids = [str(n) for n in names]
    if not time_col:
        order = np.argsort(codes, kind="stable")
        codes, values = codes[order], values[order]
        offsets = np.r_[_starts(codes), len(codes)]
        clock = Clock(POSITIONS, pd.Index(np.zeros(len(ids), dtype=np.int64)),
                      np.ones(len(ids), dtype=np.int64))
        return Panel(values, offsets, targets, clock, ids, id_col)
    stamps = parse_times(frame[time_col], time_col, where, time)
    ticks = stamps.asi8 if isinstance(stamps, pd.DatetimeIndex) else stamps.to_numpy()
    order = _order(codes, ticks, len(names))
    if order is not None:
        codes, values, stamps = codes[order], values[order], stamps[order]
        ticks = stamps.asi8 if isinstance(stamps, pd.DatetimeIndex) else stamps.to_numpy()
    same = (codes[1:] == codes[:-1]) & (ticks[1:] == ticks[:-1])
    if same.any():
        k = int(np.argmax(same)) + 1
        raise DataError(f"{prefix}series '{names[codes[k]]}' has the time {stamps[k]} twice")
    starts = _starts(codes)
    del codes
    freq, step, gapped = panel_steps(stamps, starts, time, time_col, where, ids, order)
    n = len(starts)
    if isinstance(stamps, pd.DatetimeIndex) and freq:
        clock = Clock(DATES, stamps[starts].rename(time_col), np.ones(n, dtype=np.int64), freq,
                      time_col)
    elif isinstance(stamps, pd.DatetimeIndex):  # series too short to tell a frequency
        clock = Clock(POSITIONS, pd.Index(np.zeros(n, dtype=np.int64)), np.ones(n, dtype=np.int64),
                      None, time_col)
    else:
        clock = Clock(STEPS, pd.Index(ticks[starts]), np.full(n, step, dtype=np.int64), None,
                      time_col)
    offsets = np.r_[starts, len(values)]
    if gapped:  # only asked to fill: each series with gaps on its own, spliced in
        pieces, lengths, done = [], np.diff(offsets), 0
        for k in gapped:
            a, b = offsets[k], offsets[k + 1]
            _, filled, _ = regular(stamps[a:b], values[a:b], time, time_col, where, freq)
            pieces += [values[done:a], filled]
            lengths[k], done = len(filled), b
        values, offsets = np.concatenate([*pieces, values[done:]]), np.r_[0, np.cumsum(lengths)]
    values = fill_values(values, offsets, time.fill, targets, ids, where)
    return Panel(values, offsets, targets, clock, ids, id_col)


def _columns(frame: pd.DataFrame, names: list[str], where: str, fill: str | None = None,
             series: pd.Series | None = None) -> np.ndarray:
    """The numeric columns ``names`` as ``(rows, F)`` float64 (one column: a view, no copy);
    NaN kept where ``fill`` will fill it."""
    columns = [numeric_column(frame[c], c, where, fill is not None, series) for c in names]
    return columns[0][:, None] if len(columns) == 1 else np.column_stack(columns)


def _codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each row's series number and the series' names, in sorted order. A categorical column
    (Parquet text ids) is renumbered from its own codes, without hashing every row."""
    if not isinstance(ids.dtype, pd.CategoricalDtype):
        return pd.factorize(ids, sort=True)
    names, codes = ids.cat.categories, ids.cat.codes.to_numpy()
    used = np.bincount(codes, minlength=len(names)) > 0
    keep = names.argsort()
    keep = keep[used[keep]]  # the categories that occur, in sorted order
    number = np.full(len(names), -1, dtype=np.int32 if len(names) < 2**31 else np.int64)
    number[keep] = np.arange(len(keep))
    return number[codes], names[keep]


def _order(codes: np.ndarray, ticks: np.ndarray, n_ids: int) -> np.ndarray | None:
    """The rows in order of series, then time: None when they already are. A file grouped by
    series, each in time order, only has its blocks moved; anything else is sorted."""
    runs = _starts(codes)  # where each block of one id starts
    if len(runs) == n_ids and ((codes[1:] != codes[:-1]) | (ticks[1:] > ticks[:-1])).all():
        if (np.diff(codes[runs]) > 0).all():
            return None
        blocks = np.argsort(codes[runs])
        return gather_rows(runs[blocks], np.diff(np.r_[runs, len(codes)])[blocks])
    return np.lexsort((ticks, codes))  # by id, then by time; stable


def _starts(codes: np.ndarray) -> np.ndarray:
    """Where each run of equal ``codes`` (one series, rows sorted by id) begins."""
    return np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])


def load_long(path: str | Path, id_col: str, target: str | list[str],
              time_col: str | None = None, time: TimeConfig | None = None) -> Panel:
    """Read a long-format file (CSV or Parquet) into a :class:`Panel`."""
    targets = [target] if isinstance(target, str) else list(target)
    columns = [id_col, *([time_col] if time_col else []), *targets]
    panel = from_long(read_table(path, columns, text=[id_col]), id_col, time_col, target,
                      str(path), time)
    if is_parquet(path):
        import pyarrow as pa

        # the table is gone once pandas' reference cycles are; then give its buffers back:
        # pyarrow's pool keeps freed memory (800 MB of a 1.5 GB fit on 100,000 series)
        gc.collect()
        pa.default_memory_pool().release_unused()
    return panel


def _distinct(targets: list[str], time_col: str | None, id_col: str | None = None) -> None:
    """Each column plays one part: a target twice, or a target that is also the time or id
    column, is a setting error."""
    seen = set()
    for t in targets:
        if t in seen:
            raise SettingError(f"--target {t} is given twice")
        seen.add(t)
    for flag, column in (("--time-col", time_col), ("--id-col", id_col)):
        if column is not None and column in seen:
            raise SettingError(f"{flag} {column} is also a --target; a column plays one part")
    if time_col is not None and time_col == id_col:
        raise SettingError(f"--time-col and --id-col are both {time_col}")


def as_series(y, name: str = "y") -> SeriesData:
    """Turn a pandas Series/DataFrame or a NumPy array into :class:`SeriesData`, checked."""
    if isinstance(y, pd.Series):
        frame = y.to_frame(name=y.name if y.name is not None else name)
    elif isinstance(y, pd.DataFrame):
        frame = y
    else:
        array = np.asarray(y)
        if array.ndim not in (1, 2):
            raise DataError(f"a series must be 1-D (time,) or 2-D (time, features), got {array.shape}")
        array = array.reshape(len(array), -1)
        cols = [name] if array.shape[1] == 1 else [f"{name}{k}" for k in range(array.shape[1])]
        frame = pd.DataFrame(array, columns=cols)
    index = frame.index if not isinstance(frame.index, pd.RangeIndex) else None
    freq = None
    values = np.empty(frame.shape, dtype=np.float64)
    for k, column in enumerate(frame.columns):
        values[:, k] = numeric_column(frame[column], str(column))
    if isinstance(index, pd.DatetimeIndex):
        check_time_index(index, "the index")
        index, values, freq = regular(index, values, TimeConfig(), "index", "the series")
    return SeriesData(values, index, [str(c) for c in frame.columns], freq)


def numeric_column(column: pd.Series, label: str, where: str = "", nan: bool = False,
                   series: pd.Series | None = None) -> np.ndarray:
    """The column as float64; names the first bad row on non-numeric, infinite or (unless
    ``nan``: they will be filled) missing values."""
    prefix = f"{where}: " if where else ""

    def whose(row: int) -> str:  # the file, and in a long table the series of the row
        return prefix + (f"series '{series.iloc[row]}': " if series is not None else "")

    if pd.api.types.is_float_dtype(column) or pd.api.types.is_integer_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)  # float64: a view
    else:
        converted = pd.to_numeric(column, errors="coerce")
        bad = converted.isna() & column.notna()
        if bad.any():
            # 1,5 is a number in a file of decimal commas (one bad cell keeps them all text)
            plain = bad & ~column.astype(str).str.fullmatch(DECIMAL_COMMA.pattern)
            row = int(np.argmax((plain if plain.any() else bad).to_numpy()))
            raise DataError(f"{whose(row)}column '{label}' has a non-numeric value "
                            f"{column.iloc[row]!r} at row {row + 1}")
        values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    huge = np.isfinite(values) & (np.abs(values) > MAX_MAGNITUDE)
    if huge.any():
        row = int(np.argmax(huge))
        raise DataError(f"{whose(row)}column '{label}' has the value {values[row]:.3g} at row "
                        f"{row + 1}, beyond {MAX_MAGNITUDE:.0e}: too large to scale in floating "
                        "point; divide the column by a power of ten first")
    bad = ~np.isfinite(values) & ~(nan & np.isnan(values))
    if bad.any():
        row = int(np.argmax(bad))
        if np.isnan(values[row]):
            raise DataError(f"{whose(row)}column '{label}' has a missing (NaN) value at row "
                            f"{row + 1}; fill it with --fill-missing interpolate|zero|ffill, or drop it")
        raise DataError(f"{whose(row)}column '{label}' has an infinite value at row {row + 1}; "
                        "fill or drop it first")
    return values


def check_time_index(index: pd.Index, label: str, where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    if index.hasnans:
        row = int(np.argmax(index.isna()))
        raise DataError(f"{prefix}{label} has a missing or unreadable time at row {row + 1}")
    if index.has_duplicates:
        row = int(np.argmax(index.duplicated()))
        raise DataError(f"{prefix}{label} has a duplicated time {index[row]} at row {row + 1}")
    if not index.is_monotonic_increasing:
        row = int(np.argmax(np.diff(index.asi8 if isinstance(index, pd.DatetimeIndex) else
                                    index.to_numpy()) < 0)) + 1
        raise DataError(f"{prefix}{label} is not sorted: {index[row]} at row {row + 1} comes "
                        f"after {index[row - 1]}; sort the file by time first")


def load_series(
    path: str | Path, target: str | list[str], time_col: str | None = None,
    time: TimeConfig | None = None,
) -> SeriesData:
    """Read one (multivariate) series from a file: ``target`` column(s), optional time column."""
    frame = read_table(path)
    time = time or TimeConfig()
    targets = [target] if isinstance(target, str) else list(target)
    _distinct(targets, time_col)
    for column in [*targets, *([time_col] if time_col else [])]:
        if column not in frame.columns:
            known = ", ".join(map(str, frame.columns[:12]))
            raise DataError(f"{path}: no column '{column}' (columns: {known})")
    values = _columns(frame, targets, str(path), time.fill)
    index = freq = None
    if time_col:
        index = parse_times(frame[time_col], time_col, str(path), time)
        try:
            check_time_index(index, f"time column '{time_col}'", str(path))
        except DataError as error:
            raise DataError(f"{error}{stamp_hint(frame[time_col], time)}") from None
        index, values, freq = regular(index, values, time, time_col, str(path), raw=frame[time_col])
    values = fill_values(values, np.array([0, len(values)]), time.fill, targets, None, str(path))
    return SeriesData(values, index, targets, freq)


def truncate(data, drop: int) -> Panel:
    """Every series without its last ``drop`` points."""
    panel = as_panel(data)
    return panel if drop == 0 else panel.split(drop)[0]
