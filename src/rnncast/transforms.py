"""Per-series transforms of many series at once: classical seasonal indices, a log, an affine
scale. Each series' are fitted on its own training data; forward and back they apply by
position, so a series' phase in its season comes from where its values stand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnncast.errors import DataError, SettingError
from rnncast.panel import Panel
from rnncast.plan import Plan
from rnncast.scaling import ASINH, LOG1P, SCALERS, STEP, seasonal_indices

ROWS = 1 << 20  # rows divided by their seasonal indices at a time
FLOOR = 0.1  # the step scaler's least scale, as a share of the median series' step


def _mean_step(part: np.ndarray, series: np.ndarray, N: int, season: int) -> np.ndarray:
    """Each of the ``N`` series' mean absolute change over a season (one step without one) in
    ``part`` (its rows belong to ``series``), ``(N, F)``: MASE's scale, at least :data:`FLOOR`
    times the median series'; 0 for a series too short to have one (then scaled by 1)."""
    lag = max(season, 1)
    same = series[lag:] == series[:-lag]  # both ends of the change in one series
    owner, change = series[lag:][same], np.abs(part[lag:] - part[:-lag])[same]
    total = np.stack([np.bincount(owner, change[:, j], N) for j in range(part.shape[1])], 1)
    count = np.bincount(owner, minlength=N)[:, None]
    step = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if np.isnan(step).all():
        return np.zeros_like(step)
    # a nearly constant series would be magnified beyond the others: a tenth of the median at least
    return np.nan_to_num(np.maximum(step, FLOOR * np.nanmedian(step, axis=0)))


def _blocks(offsets: np.ndarray, rows: int):
    """``(first, stop)`` series ranges of about ``rows`` rows each (one series at least)."""
    cuts = np.searchsorted(offsets, np.arange(0, offsets[-1], rows), side="right") - 1
    bounds = np.unique(np.r_[cuts, len(offsets) - 1])
    return zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)


LONG = 30  # seasons: a series this long has a season that drifts over them; its indices
RECENT = 8  # come from its last RECENT seasons (on aus_production MASE 1.341 against 1.594 with
# indices of 54 years, on aus_livestock 0.696 against 0.706; docs/experiments.md)


def recent_seasons(y: np.ndarray, season: int) -> np.ndarray:
    """What a series' seasonal indices are estimated on: all of it, or the last :data:`RECENT`
    seasons of a series of :data:`LONG` seasons or more (cut at a multiple of the season from
    its first row, so that the phases stay those of the whole series)."""
    if len(y) < LONG * season:
        return y
    return y[(len(y) - RECENT * season) // season * season :]


@dataclass
class Transforms:
    """``z = (log?(y / seasonal[phase]) - shift) / scale`` for series ``k`` at position ``t``
    (phase ``t mod m``). ``shift, scale: (N, F)``; ``seasonal: (N, m, F)`` or None. ``log``:
    False, True, or ``"log1p"``: log(1 + y), for data with zeros but none below. ``targets``:
    the log, the indices and the scaler ``kind`` apply to the first ``targets`` columns, the
    others (covariates) are standardised; None: every column alike (models saved before)."""

    kind: str
    log: bool | str
    shift: np.ndarray
    scale: np.ndarray
    seasonal: np.ndarray | None = None
    targets: int | None = None

    def __len__(self) -> int:
        return len(self.shift)

    @classmethod
    def fit(cls, panel: Panel, kind: str, log: bool | str, season: int = 1,
            deseasonalize: bool = False, targets: int | None = None) -> Transforms:
        """Fit on each series of ``panel`` (its training data, from position 0), all at once."""
        if kind not in SCALERS:
            raise SettingError(f"scaler must be one of {SCALERS}, got {kind!r}")
        F = panel.values.shape[1]
        T = F if targets is None else targets
        seasonal = None
        if deseasonalize and season > 1:
            seasonal = np.ones((len(panel), season, F))
            for k in range(len(panel)):
                for j, col in enumerate(panel.rows(k)[:, :T].T):
                    seasonal[k, :, j] = seasonal_indices(recent_seasons(col, season), season)
        fitted = cls(kind, log, np.zeros((len(panel), F)), np.ones((len(panel), F)), seasonal,
                     targets)
        kinds = [(kind, slice(0, T)), ("standard", slice(T, F))]
        if (kind == "none" and T == F) or not len(panel):
            return fitted
        data, first, n = fitted._pre(panel), panel.offsets[:-1], panel.lengths[:, None]
        for how, cols in kinds:
            if how == "none" or cols.start == cols.stop:
                continue
            part = data[:, cols]
            if how in (ASINH, STEP):
                series = np.repeat(np.arange(len(panel)), panel.lengths)  # each row's series
            if how == ASINH:  # the median and the MAD (the standard deviation where it is 0)
                frame = pd.DataFrame(part).groupby(series)
                shift = frame.median().to_numpy()
                mad = (pd.DataFrame(np.abs(part - np.repeat(shift, panel.lengths, axis=0)))
                       .groupby(series).median().to_numpy() / 0.6745)
                scale = np.where(mad > 0, mad, frame.std(ddof=0).to_numpy())
            elif how == STEP:
                shift = np.add.reduceat(part, first, axis=0) / n
                scale = _mean_step(part, series, len(panel), season)
            elif how == "standard":
                shift = np.add.reduceat(part, first, axis=0) / n
                centred = np.repeat(shift, panel.lengths, axis=0)  # in place: one temporary
                np.subtract(part, centred, out=centred)
                np.square(centred, out=centred)
                scale = np.sqrt(np.add.reduceat(centred, first, axis=0) / n)
            else:  # minmax
                shift = np.minimum.reduceat(part, first, axis=0)
                scale = np.maximum.reduceat(part, first, axis=0) - shift
            fitted.shift[:, cols] = shift  # a constant column gets scale 1, not a division by 0
            fitted.scale[:, cols] = np.where(scale > 1e-12 * np.maximum(1, abs(shift)), scale, 1.0)
        return fitted

    @property
    def scaled(self) -> bool:
        """Whether any column is shifted and scaled."""
        return self.kind != "none" or (self.targets is not None and self.targets < self.shift.shape[1])

    def _logged(self, F: int) -> slice:
        """The columns of the first ``F`` the log applies to."""
        return slice(0, F if self.targets is None else min(F, self.targets))

    @classmethod
    def fit_checked(cls, panel: Panel, plan: Plan) -> Transforms:
        """:meth:`fit` with the plan's settings; refuses data whose shift or scale overflow,
        naming the first such series."""
        fitted = cls.fit(panel, plan.scaler, plan.log, plan.season, plan.deseasonalize,
                         panel.values.shape[1] - len(plan.inputs_only) if plan.own_scale else None)
        bad = fitted.not_finite()
        if len(bad):
            name = f"series '{panel.ids[bad[0]]}'" if panel.ids else "the series"
            raise DataError(f"{name} cannot be scaled: its values overflow floating point; "
                            "divide them by a power of ten first")
        return fitted

    def not_finite(self) -> np.ndarray:
        """The series whose fitted shift or scale overflowed (indices)."""
        ok = np.isfinite(self.shift).all(axis=1) & np.isfinite(self.scale).all(axis=1)
        return np.flatnonzero(~ok)

    def _pre(self, panel: Panel) -> np.ndarray:
        """Every row of ``panel`` divided by its seasonal index, then logged: a new array (the
        panel's own when neither applies), made block by block so that the temporaries of a
        panel of millions of points stay small."""
        if self.seasonal is None and not self.log:
            return panel.values
        z = np.array(panel.values, dtype=np.float64)
        if self.seasonal is not None:
            m = self.seasonal.shape[1]
            for lo, hi in _blocks(panel.offsets, ROWS):
                part, lengths = z[panel.offsets[lo] : panel.offsets[hi]], panel.lengths[lo:hi]
                series = np.repeat(np.arange(lo, hi), lengths)
                first = panel.offsets[lo:hi] - panel.offsets[lo] - panel.starts[lo:hi]
                position = np.arange(len(part)) - np.repeat(first, lengths)
                part /= self.seasonal[series, position % m]
        logged = z[:, self._logged(z.shape[1])]  # a view: logged in place
        if self.log == LOG1P:
            if np.any(logged < 0):
                raise SettingError("log1p scaling needs values of at least 0; turn it off "
                                   "(log=False, --log no)")
            np.log1p(logged, out=logged)
        elif self.log:
            if np.any(logged <= 0):
                raise SettingError("log scaling needs strictly positive values; turn it off "
                                   "(log=False, --log no)")
            np.log(logged, out=logged)
        return z

    def forward_panel(self, panel: Panel) -> np.ndarray:
        """Every row of every series on the model's scale: ``(points, F)``."""
        z = self._pre(panel)
        z = z.copy() if z is panel.values else z  # then in place: one temporary at a time
        if self.scaled:
            z -= np.repeat(self.shift, panel.lengths, axis=0)
            z /= np.repeat(self.scale, panel.lengths, axis=0)
            if self.kind == ASINH:
                np.arcsinh(z[:, self._logged(z.shape[1])], out=z[:, self._logged(z.shape[1])])
        return z

    def forward_rows(self, series: np.ndarray, values: np.ndarray, positions: np.ndarray
                     ) -> np.ndarray:
        """``values (B, W, F)`` (the first ``F`` columns) of the series ``series (B,)`` at
        ``positions (B, W)`` on the model's scale; NaN where a log meets a value ≤ 0 (log1p: < 0)."""
        F = values.shape[2]
        z = values
        if self.seasonal is not None:
            z = z / self.seasonal[series[:, None], positions % self.seasonal.shape[1]][..., :F]
        if self.log:
            z, cols = np.array(z, dtype=np.float64), self._logged(F)
            part = z[..., cols]
            if self.log == LOG1P:
                z[..., cols] = np.where(part >= 0, np.log1p(np.where(part >= 0, part, 0.0)), np.nan)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    z[..., cols] = np.where(part > 0, np.log(np.where(part > 0, part, 1.0)), np.nan)
        z = (z - self.shift[series][:, None, :F]) / self.scale[series][:, None, :F]
        if self.kind == ASINH:
            z[..., self._logged(F)] = np.arcsinh(z[..., self._logged(F)])
        return z

    def covariates_forward(self, series: np.ndarray, values: np.ndarray, first: int) -> np.ndarray:
        """Covariate values ``(B, h, K)`` of the series ``series``, columns ``first …`` of the
        layout, on the model's scale (standardised: they are neither logged nor deseasonalised)."""
        cols = slice(first, first + values.shape[2])
        return (values - self.shift[series][:, None, cols]) / self.scale[series][:, None, cols]

    def inverse_all(self, scaled: np.ndarray, starts: np.ndarray, rows=slice(None)) -> np.ndarray:
        """:meth:`forward_rows` backwards for the series ``rows`` (all by default), series
        ``b``'s ``h`` steps from position ``starts[b]``: ``(B, h, F)``."""
        F = scaled.shape[2]
        values = np.sinh(scaled) if self.kind == ASINH else scaled
        values = values * self.scale[rows][:, None, :F] + self.shift[rows][:, None, :F]
        if self.log == LOG1P:  # data of at least 0 are forecast at least 0
            values = np.maximum(np.expm1(values), 0.0)
        elif self.log:
            values = np.exp(values)
        if self.seasonal is not None:
            values = values * self._indices(rows, starts, scaled.shape[1], F)
        return values

    def _indices(self, rows, starts: np.ndarray, steps: int, F: int) -> np.ndarray:
        m = self.seasonal.shape[1]
        phase = (np.asarray(starts)[:, None] + np.arange(steps)) % m  # (B, h)
        return np.take_along_axis(self.seasonal[rows][..., :F], phase[:, :, None], axis=1)
