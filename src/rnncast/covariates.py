"""What is known about the future: the values of the future covariates over a forecast, read
from the user's table (NeuralForecast's ``futr_df``) or from the rows after a training part,
checked stamp by stamp, in the order the model's series are."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from rnncast import holiday
from rnncast.errors import DataError
from rnncast.panel import Panel
from rnncast.plan import Plan
from rnncast.transforms import Transforms

log = logging.getLogger(__name__)


def ahead(plan: Plan, panel: Panel, future, steps: int, names: tuple[str, str]
          ) -> np.ndarray | None:
    """The future covariates over ``steps`` after ``panel``'s series, in their units ``(N,
    steps, K)`` (the holidays built from the stamps); None for a model without them."""
    if not plan.future:
        return None
    given = plan.given_future
    values = future_values(panel, future, list(given), steps, names) if given else None
    if plan.holidays:  # built from the stamps, whatever the user gives
        built = holiday.ahead(panel, steps, plan.holidays)
        values = built if values is None else np.concatenate([values, built], axis=2)
    return values


def scaled(transforms: Transforms, first: int, values: np.ndarray | None,
           rows: np.ndarray | None = None) -> np.ndarray | None:
    """:func:`ahead`'s ``values`` of the fitted series ``rows`` (default all) on the model's
    scale (their columns start at ``first`` in the layout); None for none."""
    if values is None:
        return None
    rows = np.arange(len(values)) if rows is None else rows
    return transforms.covariates_forward(rows, values, first)


def future_values(panel: Panel, future, columns: list[str], steps: int,
                  names: tuple[str, str]) -> np.ndarray:
    """The ``columns`` over the ``steps`` after every series of ``panel``: ``(N, steps, K)``.

    ``future``: a :class:`Panel` whose series continue ``panel``'s (the rows after a training
    part), or a DataFrame with the id column (for many series), the time (a column named
    ``names[1]`` or the index) and the columns; ``names``: the id and time columns' names.
    A missing stamp or column, or a value that is not a number, is an error naming it."""
    if future is None:
        raise DataError(f"the model reads the future covariate '{columns[0]}': give its values "
                        f"over the {steps} forecast steps (--future FILE, predict(future=...))")
    if isinstance(future, Panel):
        return _from_panel(panel, future, columns, steps)
    if not isinstance(future, pd.DataFrame):
        raise DataError("the future values must be a table (a DataFrame) with a time column and "
                        f"the columns {', '.join(columns)}")
    return _from_frame(panel, future, columns, steps, names)


def _from_panel(panel: Panel, future: Panel, columns: list[str], steps: int) -> np.ndarray:
    short = future.lengths < steps
    if short.any():
        k = int(np.argmax(short))
        raise DataError(f"the future covariates of {future.name(k)} cover {future.lengths[k]} "
                        f"steps; the forecast needs {steps}")
    part = future.with_columns(columns).head(future.lengths - steps)
    return part.values.reshape(len(panel), steps, len(columns))


def _from_frame(panel: Panel, frame: pd.DataFrame, columns: list[str], steps: int,
                names: tuple[str, str]) -> np.ndarray:
    id_name, time_name = panel.id_name if not panel.single else None, panel.time_name or names[1]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"the future values have no column '{missing[0]}' (the model reads "
                        f"{', '.join(columns)})")
    if id_name is not None and id_name not in frame.columns:
        raise DataError(f"the future values have no id column '{id_name}'")
    times = frame[time_name] if time_name in frame.columns else frame.index.to_series()
    expected = panel.next_labels(steps)
    if isinstance(expected, pd.DatetimeIndex):
        times = pd.to_datetime(times, errors="coerce")
        if expected.tz is not None and getattr(times.dt, "tz", None) is None:
            times = times.dt.tz_localize(expected.tz)
    keys = [np.asarray(times)]
    wanted = [expected]
    if id_name is not None:
        keys.insert(0, frame[id_name].astype(str).to_numpy())
        wanted.insert(0, np.repeat(np.asarray(panel.ids, dtype=object), steps))
    have = pd.MultiIndex.from_arrays(keys) if len(keys) > 1 else pd.Index(keys[0])
    want = pd.MultiIndex.from_arrays(wanted) if len(wanted) > 1 else pd.Index(wanted[0])
    if have.has_duplicates:
        twice = have[have.duplicated()][0]
        raise DataError(f"the future values hold {_where(twice, id_name)} twice")
    values = pd.DataFrame(frame[columns].to_numpy(), index=have, columns=columns)
    numbers = values.apply(pd.to_numeric, errors="coerce").reindex(want)
    absent = numbers.isna().to_numpy()
    if absent.any():
        row, col = np.argwhere(absent)[0]
        raise DataError(f"the future values of '{columns[col]}' miss {_where(want[row], id_name)} "
                        f"(the forecast needs every one of its {steps} steps, as numbers)")
    extra = len(have) - int(have.isin(want).sum())
    if extra:
        log.info("ignored %d rows of the future values outside the forecast", extra)
    return numbers.to_numpy(dtype=np.float64).reshape(len(panel), steps, len(columns))


def _where(key, id_name: str | None) -> str:
    if id_name is None:
        return f"the stamp {key}"
    return f"series '{key[0]}' at {key[1]}"


MAX_CATEGORIES = 64  # of one static column: each is an input channel (one-hot)


def static_matrix(table, panel: Panel, columns: tuple[str, ...]) -> np.ndarray:
    """The static covariates ``columns`` of ``panel``'s series, encoded ``(N, S)``: a column of
    numbers standardised across the series, a column of categories one-hot (the first layer's
    weights turn each category into a learned vector). ``table``: the long table, or a table
    with a row per series, holding the id column and ``columns``; a column that varies within a
    series, or a series without values, is an error naming them."""
    if panel.single:
        raise DataError("static covariates describe the series of a panel (--id-col); one series "
                        "needs none")
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"the static covariates {', '.join(columns)} need a table with the id "
                        f"column '{panel.id_name}' (the long data, or static_df=)")
    for name in (panel.id_name, *columns):
        if name not in table.columns:
            raise DataError(f"the static values have no column '{name}'")
    ids = table[panel.id_name].astype(str)
    parts = []
    for name in columns:
        column = table[name]
        if column.isna().any():
            raise DataError(f"static column '{name}' has no value for series "
                            f"'{ids[column.isna().to_numpy()].iloc[0]}'")
        changes = column.ne(column.groupby(ids.to_numpy()).transform("first")).to_numpy()
        if changes.any():
            row = int(np.argmax(changes))
            where = f" at {table[panel.time_name].iloc[row]}" if panel.time_name in table else \
                f" in row {row + 1}"
            raise DataError(f"static column '{name}' varies within series '{ids.iloc[row]}' "
                            f"({column.iloc[row]!r}{where}); a static value is one per series")
        per_series = column.groupby(ids.to_numpy()).first()
        absent = [key for key in panel.ids if key not in per_series.index]
        if absent:
            raise DataError(f"no static values for series '{absent[0]}'")
        parts.append(_encode(name, per_series.reindex(panel.ids)))
    return np.concatenate(parts, axis=1)


def _encode(name: str, values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        x = values.to_numpy(dtype=np.float64)
        spread = x.std()
        return ((x - x.mean()) / (spread if spread > 0 else 1.0))[:, None]
    categories = sorted(values.astype(str).unique())
    if len(categories) > MAX_CATEGORIES:
        raise DataError(f"static column '{name}' has {len(categories)} categories, more than "
                        f"{MAX_CATEGORIES}; for one vector per series use --id-embedding")
    return (values.astype(str).to_numpy()[:, None] == np.array(categories)[None]).astype(float)
