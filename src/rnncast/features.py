"""The input layout, the same for every call that brings data: the targets first, then the
past covariates, then the future ones (known over the forecast too), then input-only channels —
sine and cosine of the position in each season, and the series' number for a learned embedding.
The targets are levelled by each window; covariates of models saved since the roles came are
standardised per series and not levelled (before, they were levelled like the targets)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from rnncast import stacking
from rnncast.errors import DataError
from rnncast.holiday import with_holidays
from rnncast.panel import Panel
from rnncast.plan import Plan
from rnncast.settings import SeriesConfig


@dataclass(frozen=True)
class Channels:
    """What the network reads at every step. ``phase0[k]``: where series ``k``'s position 0
    falls in a cycle of ``period`` steps (so that phases follow each series' own dates)."""

    n_columns: int  # targets + covariates (past, then future)
    n_targets: int
    seasons: tuple[int, ...]  # a sin/cos pair of the phase in each (none without calendar)
    series_number: bool  # feed the series' number (for an id embedding)
    phase0: np.ndarray  # (N,)
    period: int = 1  # a multiple of every season: the season, or both with calendar channels
    n_future: int = 0  # the last of the columns are known over the forecast
    leveled: int = 0  # the first channels each window's level is removed from
    static: np.ndarray | None = None  # (N, S): each series' static covariates, encoded

    @classmethod
    def of(cls, panel: Panel, plan: Plan, series_number: bool,
           static: np.ndarray | None = None) -> Channels:
        """The layout of ``panel`` (laid out by :func:`targets_first`) under ``plan``;
        ``static``: its series' static covariates, encoded ``(N, S)``."""
        n_columns = panel.values.shape[1]
        seasons = tuple(m for m in plan.seasons if m > 1)
        shown = seasons if plan.calendar else ()
        period = math.lcm(*shown) if shown else seasons[0] if seasons else 1
        phase = panel.clock.phase(period)  # of each first stored row, and of position 0:
        phase0 = np.zeros(len(panel), dtype=np.int64) if phase is None else phase - panel.starts
        n_targets = n_columns - len(plan.inputs_only)
        return cls(n_columns, n_targets, shown, series_number, phase0, period,
                   len(plan.future), n_targets if plan.own_scale else n_columns, static)

    @property
    def n_inputs(self) -> int:
        """Channels of one input step."""
        return self.n_columns + self.n_extra

    @property
    def known(self) -> slice:
        """The channels known over the forecast: the future columns and the input-only ones."""
        return slice(self.n_columns - self.n_future, self.n_inputs)

    @property
    def n_extra(self) -> int:
        width = 0 if self.static is None else self.static.shape[1]
        return 2 * len(self.seasons) + width + int(self.series_number)

    def extras(self, rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Input-only channels of series ``rows (B,)`` at ``positions (B, k)`` from each series'
        start: ``(B, k, n_extra)``: the calendar, the static covariates, the series' number
        (last: the network's embedding reads it there)."""
        parts = []
        for m in self.seasons:
            angle = 2 * np.pi * ((self.phase0[rows][:, None] + positions) % m) / m
            parts += [np.sin(angle), np.cos(angle)]
        if self.static is not None:
            parts += [np.broadcast_to(self.static[rows][:, None, j], positions.shape)
                      for j in range(self.static.shape[1])]
        if self.series_number:
            parts.append(np.broadcast_to(np.asarray(rows, dtype=np.float64)[:, None], positions.shape))
        if not parts:
            return np.zeros((*positions.shape, 0))
        return np.stack(parts, axis=2)


def targets_first(panel: Panel, covariates: tuple[str, ...]) -> Panel:
    """Reorder the panel's columns: targets, then ``covariates`` in their order (past, then
    future; checked to exist)."""
    if not covariates:
        return panel
    missing = [c for c in covariates if c not in panel.columns]
    if missing:
        raise DataError(f"no covariate column '{missing[0]}' (columns: {', '.join(panel.columns)})")
    order = [c for c in panel.columns if c not in covariates] + list(covariates)
    if len(order) == len(covariates):
        raise DataError("every column is a covariate: at least one column must be forecast")
    return panel.with_columns(order)


def laid_out(panel: Panel, settings: SeriesConfig) -> Panel:
    """``panel``'s columns as a model with ``settings`` reads them: targets, past covariates,
    future ones (the holidays column, built from the stamps, last); several targets without
    covariates as series of their own (:func:`rnncast.stacking.stack`)."""
    inputs = (*settings.covariates, *settings.future)
    panel = targets_first(panel, inputs)
    panel = with_holidays(panel, settings.holidays) if settings.holidays else panel
    return stacking.stack(panel, len(panel.columns) - len(inputs) - bool(settings.holidays),
                          settings.multivariate, bool(inputs or settings.static
                                                      or settings.holidays))


def like(panel: Panel, columns: list[str], phase0: np.ndarray, season: int) -> Panel:
    """New data laid out as the fitted data: the same number of series, ``columns`` in the
    fitted order, and each series placed so that its dates fall in the fitted series' phase
    (``phase0`` in a cycle of ``season`` steps, :attr:`Channels.period`; data without dates is
    taken to start where the fitted series started)."""
    if len(panel) != len(phase0):
        raise DataError(f"the model was fitted on {len(phase0)} series, got {len(panel)}")
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        raise DataError(f"the new data has no column '{missing[0]}' (the model reads "
                        f"{', '.join(columns)})")
    panel = panel.with_columns(list(columns))
    phase = panel.clock.phase(season)
    if phase is None:
        return panel
    return replace(panel, starts=(phase - phase0) % season)
