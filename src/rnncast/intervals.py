"""Conformal prediction intervals from out-of-sample forecast errors.

Split conformal prediction (Vovk et al. 2005) per horizon step: the band at level L around a
forecast is ± the ⌈(n+1)·L⌉-th smallest of n absolute errors that a model of the same kind made
on data it had not seen. Errors live on the model's scale (after log and scaling), so one set of
errors serves series of every size, and a log model's band is relative.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnncast.data import truncate
from rnncast.errors import DataError, ForecastError, SettingError
from rnncast.plan import Plan


@dataclass
class Calibration:
    """``scores (n, h, F)``: absolute forecast errors on the model's scale, for ``h`` steps."""

    scores: np.ndarray

    @property
    def horizon(self) -> int:
        return self.scores.shape[1]

    def halfwidth(self, level: float, horizon: int | None = None) -> np.ndarray:
        """Half-width ``(horizon, F)`` of the ``level``-% band (infinite with too few errors)."""
        if not 0 < level < 100:
            raise SettingError(f"interval levels are percentages between 0 and 100, got {level:g}")
        horizon = horizon or self.horizon
        if horizon > self.horizon:
            raise SettingError(f"intervals were calibrated for {self.horizon} steps, not {horizon}; "
                             "calibrate again with the longer horizon")
        steps = self.scores[:, :horizon].astype(np.float64)  # (n, horizon, F)
        out = np.full(steps.shape[1:], np.inf)
        for (t, f), _ in np.ndenumerate(out):
            errors = np.sort(steps[:, t, f][np.isfinite(steps[:, t, f])])
            rank = math.ceil((len(errors) + 1) * level / 100)  # the finite-sample correction
            if rank <= len(errors):
                out[t, f] = errors[rank - 1]
        return out


    def highest_level(self, horizon: int | None = None) -> float:
        """The highest level (%) whose band is finite at every step: with n errors, n/(n+1)."""
        horizon = horizon or self.horizon
        finite = np.isfinite(self.scores[:, :horizon]).sum(axis=0)  # (horizon, F)
        n = int(finite.min())
        return 100 * n / (n + 1)


def check_levels(levels) -> None:
    """Interval levels are percentages between 0 and 100; a fraction such as 0.8 is refused with
    the likely intent (a 0.8% band is nearly zero wide)."""
    for level in levels:
        if not 0 < level < 100:
            raise SettingError(f"interval levels are percentages between 0 and 100, got {level:g}")
        if level < 1:
            raise SettingError(f"levels are percentages: {level:g} would be a {level:g}% band, "
                               f"nearly zero wide; did you mean {level * 100:g}?")


def bands(calibration: Calibration | None, levels, horizon: int, columns: list[str]):
    """For each level: the half-width ``(horizon, F)`` on the model's scale and the names of
    its two columns per target (``lo-80, hi-80``, or ``<target>-lo-80 …`` for several). A level
    the calibration cannot bound is an error saying the highest one it can."""
    if calibration is None:
        raise SettingError("no prediction intervals without calibration: call calibrate() "
                           "before fit() (rnncast fit --intervals)")
    out = []
    for level in levels:
        q = calibration.halfwidth(level, horizon)
        if not np.isfinite(q).all():
            top = math.floor(calibration.highest_level(horizon) * 10) / 10
            raise ForecastError(f"a {level:g}% interval needs more calibration errors than the "
                                f"{len(calibration.scores)} this model kept; ask for at most "
                                f"{top:g}% (or calibrate on more data)")
        names = [f"{side}-{level:g}" if len(columns) == 1 else f"{c}-{side}-{level:g}"
                 for side in ("lo", "hi") for c in columns]
        out.append((q, names))
    return out


def with_bands(values: np.ndarray, columns: list[str], scaled: np.ndarray, shift: np.ndarray,
               calibration: Calibration | None, levels, inverse: Callable) -> tuple[np.ndarray, list]:
    """The forecast ``values (B, h, F)`` (original units; ``columns``) with the bands of each
    level appended: ``scaled`` ∓ the level's half-width, taken back to original units by
    ``inverse`` and moved by ``shift`` (what the combination moved the forecast by)."""
    parts, names = [values], list(columns)
    for q, level_names in bands(calibration, levels, values.shape[1], columns):
        parts += [inverse(scaled - q) + shift, inverse(scaled + q) + shift]
        names += level_names
    return np.concatenate(parts, axis=2), names


def coverage(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of the finite points of ``truth`` inside ``[lo, hi]``."""
    truth, lo, hi = (np.asarray(a, dtype=np.float64) for a in (truth, lo, hi))
    ok = np.isfinite(truth)
    return float(np.mean((truth[ok] >= lo[ok]) & (truth[ok] <= hi[ok])))


def calibrate(model, y, horizon: int | None = None, origins: int | None = None,
              callback: Callable | None = None, plan: Plan | None = None) -> Calibration:
    """How wrong forecasts of ``model``'s kind are on data like ``y``, per horizon step.

    A copy with the same settings is trained on ``y`` without its last ``horizon + origins - 1``
    points and forecasts ``horizon`` steps from each of the last ``origins`` origins; the errors,
    on the model's scale (log and scaling, so comparable across series), make the
    :class:`Calibration`. ``origins`` defaults to one for 20 series or more, else enough for
    about 20 errors per step. ``plan``: ``model``'s plan for ``y`` (default: resolved here),
    which the copy follows too. Uses ``model``'s public methods only.
    """
    panel = model.layout(y)
    plan = plan or model.resolve(panel)
    horizon = horizon or plan.head
    if int(horizon) != horizon or horizon < 1:
        raise SettingError(f"horizon must be a positive integer, got {horizon!r}")
    if origins is None:
        origins = 1 if len(panel) >= 20 else -(-20 // len(panel))
    shortest = int(panel.lengths.min())
    # one series must keep a window, a head and a few pairs; many may be padded
    need = plan.pair_length(plan.max_window) + 2 if panel.single else 2
    room = shortest - horizon - need
    if room < 0:
        raise DataError(f"a series of {shortest} points is too short to calibrate intervals "
                        f"over {horizon} steps; use a shorter window or horizon")
    origins = max(1, min(origins, room + 1))
    helper = model.unfitted_copy()
    helper.fit(truncate(panel, horizon + origins - 1), callback, plan=plan)
    scores = []
    for o in range(origins):
        seen = truncate(panel, horizon + origins - 1 - o)  # history up to this origin
        n = seen.lengths
        after = panel.cut(n, n + horizon)  # its future covariates are known (ex post)
        scaled, ends = helper.forecast_on_scale(horizon, seen, after)
        truth = after.values.reshape(len(panel), horizon, -1)[..., : scaled.shape[2]]
        scores.append(np.abs(to_model_scale(helper, truth, ends) - scaled))
    return Calibration(np.concatenate(scores).astype(np.float32))


def to_model_scale(model, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``(B, h, F)`` targets in original units → ``model``'s scale (NaN where a log meets a
    value that is not positive); series ``b`` starts at position ``lengths[b]``."""
    steps = np.asarray(lengths)[:, None] + np.arange(values.shape[1])
    return model.transforms.forward_rows(np.arange(len(values)), values[..., : model.n_targets],
                                         steps)
