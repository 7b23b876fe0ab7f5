"""The recipe that turns series into training windows and back: :class:`SeriesConfig`, and
its automatic choices resolved from the data (season, horizon, window, log, validation)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from rnncast import baselines, forecasting, metrics
from rnncast.combination import COMBINABLE, LABELS, one_forecast, spread, zero_run, zero_tails
from rnncast.data import Panel
from rnncast.errors import DataError, SettingError, bounded
from rnncast.scaling import SCALERS, first_level, window_level
from rnncast.transforms import LOG1P

log = logging.getLogger(__name__)

STRATEGIES = ("direct", "recursive", "stateful")
SHORT = ("error", "pad", "skip")
MAX_STEPS = 10_000  # window, horizon, season
STRONG_SEASON = 0.6  # seasonal strength from which a season is called strong
CHECK_STEPS = 6  # the fewest steps the classical methods are compared over without a season
COMBINE_SERIES = 20_000  # most series for an automatic combination (Theta: ~10 ms a series)
# Input lengths as (seasons, at least): one member each, in turn.
WINDOW_RULE = ((3.0, 12),)


@dataclass(frozen=True)
class SeriesConfig:
    """How series become training pairs and back (stored in a model directory's JSON).

    ``window``: input length, or several (ensemble members take them in turn); None: from
    ``window_rule``, (seasons, at least) pairs (default: three seasons, at least 12).
    ``horizon``: steps the direct head emits (None: one season).
    ``validation``: points at the end of each training series held out for early stopping
    (None: the larger of ``horizon`` and a tenth of the series; 0: none). ``deseasonalize``:
    divide by classical multiplicative seasonal indices first (the Theta/ES-RNN route).
    ``short``: a series too short for one window is an ``error``, ``pad``-ded at the start with
    its first value, or ``skip``-ped (None: error for one series, pad for many).
    ``covariates``: columns that are inputs only (past covariates, not forecast; direct strategy).
    ``calendar``: feed the position in the season (month of year, …) as sin/cos inputs.
    ``refit``: train each member again on all windows for the epochs early stopping chose
    (None: when an epoch visits every window, see :func:`rnncast.ensemble.train_members`).
    ``combine``: classical methods whose forecasts are averaged with the network's
    (:mod:`rnncast.combination`). ``zero_tail``: a series whose last season (at least 3 points)
    is all zeros is forecast as zeros. ``"auto"`` settings are chosen from the data by
    :meth:`resolve`, which says why.
    """

    window: int | tuple[int, ...] | None = None
    horizon: int | None = None
    season: int | None = None
    strategy: str = "direct"
    scaler: str = "auto"
    log: bool | str = "auto"
    level: bool = True
    validation: int | None = None
    refit: bool | None = None
    deseasonalize: bool | str = "auto"
    short: str | None = None
    covariates: tuple[str, ...] = ()
    calendar: bool = False
    combine: tuple[str, ...] | str = "auto"
    window_rule: tuple[tuple[float, int], ...] = WINDOW_RULE
    zero_tail: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.window, list | tuple):
            object.__setattr__(self, "window", tuple(int(w) for w in self.window))
        object.__setattr__(self, "covariates", tuple(self.covariates or ()))
        object.__setattr__(self, "window_rule", tuple((float(f), int(m)) for f, m in self.window_rule))
        if not self.window_rule or any(f <= 0 or m < 1 for f, m in self.window_rule):
            raise SettingError("window_rule must list (seasons > 0, at least >= 1) pairs")
        if self.combine != "auto":
            names = (self.combine,) if isinstance(self.combine, str) else tuple(self.combine)
            object.__setattr__(self, "combine", tuple(n for n in names if n and n != "none"))
            unknown = sorted(set(self.combine) - set(COMBINABLE))
            if unknown:
                raise SettingError(f"combine takes {', '.join(COMBINABLE)} (or none), got "
                                   f"{unknown[0]!r}")
        if self.deseasonalize not in (True, False, "auto"):
            raise SettingError("deseasonalize must be True, False or 'auto', got "
                               f"{self.deseasonalize!r}")
        if self.covariates and self.strategy != "direct":
            raise SettingError("covariates are known only up to the forecast origin, so they need "
                             f"strategy='direct', got {self.strategy!r}")
        if self.strategy not in STRATEGIES:
            raise SettingError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.scaler not in (*SCALERS, "auto"):
            raise SettingError(f"scaler must be one of {SCALERS}, got {self.scaler!r}")
        if self.log not in (True, False, "auto", LOG1P):
            raise SettingError(f"log must be True, False, 'log1p' or 'auto', got {self.log!r}")
        if self.short is not None and self.short not in SHORT:
            raise SettingError(f"short must be one of {SHORT}, got {self.short!r}")
        if self.window == ():
            raise SettingError("window must be a positive integer or a non-empty list of them")
        for name, value in (("window", w) for w in self.windows or ()):
            positive(name, value)
            bounded(name, value, MAX_STEPS, "backpropagation through more steps is slow and "
                    "forgets anyway; use a longer season or aggregate the data")
        for name in ("horizon", "season"):
            if getattr(self, name) is not None:
                positive(name, getattr(self, name))
                bounded(name, getattr(self, name), MAX_STEPS, "no forecast that far is meaningful; "
                        "aggregate the data to a coarser frequency")
        if self.validation is not None and self.validation < 0:
            raise SettingError(f"validation must be >= 0, got {self.validation}")

    @property
    def windows(self) -> tuple[int, ...] | None:
        """The window of each ensemble member, in turn."""
        if self.window is None:
            return None
        return self.window if isinstance(self.window, tuple) else (self.window,)

    @property
    def max_window(self) -> int:
        return max(self.windows)

    def resolved(self, panel: Panel) -> SeriesConfig:
        """Fill the automatic choices from the data (the first series gives the frequency)."""
        return self.resolve(panel)[0]

    def resolve(self, panel: Panel) -> tuple[SeriesConfig, list[str]]:
        """The automatic choices filled from the data, and one line saying why for each."""
        why: list[str] = []
        season = self.season or panel.season
        horizon = self.horizon or season_head(season)
        window = self.window
        if window is None:
            lengths = tuple(max(round(f * season), m) for f, m in self.window_rule)
            window = lengths[0] if len(lengths) == 1 else lengths
            rule = ", ".join(f"{f:g} seasons of {season}, at least {m}" for f, m in self.window_rule)
            why.append(f"window {window}: {rule}")
        positive = bool((panel.values > 0).all())
        use_log = self.log
        if self.log == "auto":
            counts = not positive and bool((panel.values >= 0).all())
            use_log = True if positive else LOG1P if counts else False
            why.append("log on: every value is positive" if positive else
                       "log1p, log(1 + y): values of 0 but none below" if counts else
                       "log off: some values are negative")
        if self.deseasonalize is True and not positive:
            raise DataError("deseasonalize needs strictly positive series; use deseasonalize=False")
        deseasonalize = self.deseasonalize
        if deseasonalize == "auto":
            deseasonalize, reason = auto_deseasonalize(panel, season)
            why.append(reason)
        scaler = self.scaler
        if scaler == "auto":
            scaler = "none" if use_log else "standard"
            why.append(f"scaler {scaler}: " + ("the log and each window's level make series "
                                               "scale-free" if use_log else "no log"))
        combine = self.combine
        if combine == "auto":
            combine, reason = auto_combine(panel, self.covariates, horizon, max(season, 1))
            why.append(reason)
        if self.zero_tail:
            stopped = int(zero_tails(panel, 1, zero_run(season)).sum())
            if stopped:
                why.append(f"zeros for {stopped} series whose last {zero_run(season)} values are "
                           "zero (stopped, as a seasonal naive forecast would say)")
        validation = self.validation
        if validation is None:
            validation = max(horizon, int(np.median(panel.lengths)) // 10)
        short = self.short or ("error" if panel.single else "pad")
        return replace(self, season=season, horizon=horizon, window=window, log=use_log,
                       validation=validation, short=short, deseasonalize=deseasonalize,
                       scaler=scaler, combine=combine), why

    @property
    def head(self) -> str:
        return {"direct": "direct", "recursive": "last", "stateful": "sequence"}[self.strategy]

    @property
    def head_horizon(self) -> int:
        return self.horizon if self.strategy == "direct" else 1

    def level_span(self, window: int) -> int:
        return min(self.season or 1, window)

    def level_fn(self, window: int, leveled: int | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
        """The window → level function for the first ``leveled`` channels (the data; calendar and
        id channels get no offset). Sequence training scores every step, so its level comes from
        the first steps of the window (causal for the steps after them)."""
        if not self.level:
            return forecasting.no_level
        span = self.level_span(window)
        level = first_level if self.strategy == "stateful" else window_level

        def offset(w: torch.Tensor) -> torch.Tensor:
            data = level(w[..., :leveled], span)  # (B, 1, leveled)
            rest = w.shape[2] - data.shape[2]
            return torch.cat([data, data.new_zeros(w.shape[0], 1, rest)], dim=2) if rest else data

        return offset

    def to_dict(self) -> dict:
        return asdict(self)



def positive(name: str, value) -> None:
    if int(value) != value or value < 1:
        raise SettingError(f"{name} must be a positive integer, got {value!r}")


def keep_long_enough(panel: Panel, cfg: SeriesConfig) -> Panel:
    """Apply the ``short`` policy to series without one full (window → horizon) pair."""
    need = cfg.max_window + cfg.head_horizon
    short = np.flatnonzero(panel.lengths < need)
    if not len(short):
        return panel
    names = [panel.ids[k] if panel.ids else "the series" for k in short[:10]]
    listed = ", ".join(names) + (f" and {len(short) - 10} more" if len(short) > 10 else "")
    if cfg.short == "error":
        what = f"series '{names[0]}'" if panel.ids else "series"
        raise DataError(f"{what} of length {panel.lengths[short[0]]} is too short for window "
                        f"{cfg.max_window} + horizon {cfg.head_horizon}; use a shorter window or "
                        "horizon")
    if cfg.short == "skip":
        log.warning("skipped %d series too short for window + horizon = %d: %s",
                    len(short), need, listed)
        if len(short) == len(panel):
            raise DataError(f"every series is shorter than window + horizon = {need}")
        return panel.take(np.flatnonzero(panel.lengths >= need))
    log.info("padding %d short series at the start: %s", len(short), listed)
    return panel


def seasonal_strength(y: np.ndarray, season: int) -> float | None:
    """How much of a series' variation its season explains, from 0 to 1 (Wang, Smith & Hyndman,
    2006): 1 − Var(remainder) / Var(season + remainder) of a robust STL decomposition, on logs
    when the values are positive. None without a season or two full cycles."""
    from statsmodels.tsa.seasonal import STL

    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    if season <= 1 or len(y) < 2 * season + 1 or np.ptp(y) == 0:
        return None
    if (y > 0).all():
        y = np.log(y)
    parts = STL(y, period=season, robust=True).fit()
    both = np.var(parts.seasonal + parts.resid)
    return float(max(0.0, 1 - np.var(parts.resid) / both)) if both > 0 else None


def season_head(season: int | None) -> int:
    """The head the recipe trains when none is given: one season of steps (one without)."""
    return max(season or 1, 1)


def median_strength(columns: list[np.ndarray], season: int) -> float | None:
    """The median seasonal strength of the series ``columns`` (1-D arrays, a sample such as
    :func:`spread` picks); None without a season or long enough series."""
    strengths = [seasonal_strength(column, season) for column in columns] if season > 1 else []
    strengths = [s for s in strengths if s is not None]
    return float(np.median(strengths)) if strengths else None


def auto_deseasonalize(panel: Panel, season: int) -> tuple[bool, str]:
    """Deseasonalise (classical indices, each series tested on its own) when a season exists
    and the series hold three cycles of it."""
    if season <= 1:
        return False, "deseasonalize off: no season"
    if np.median(panel.lengths) < 3 * season:
        return False, f"deseasonalize off: most series are shorter than three seasons of {season}"
    strength = median_strength([panel.rows(k)[:, 0] for k in spread(len(panel))], season)
    said = "" if strength is None else f" (median seasonal strength {strength:.2f})"
    return True, (f"deseasonalize on: season {season}{said}; each positive series whose "
                  "autocorrelation passes a 90% test is divided by its seasonal indices")


def auto_combine(panel: Panel, covariates: tuple[str, ...], horizon: int, season: int
                 ) -> tuple[tuple[str, ...], str]:
    """Average with the classical methods that are worth it: for one target without covariates
    (a univariate method would dilute what the other columns tell the network), in a panel
    small enough for their fits. Theta joins when it beats the seasonal naive forecast over the
    last ``horizon`` points of a sample of training series; without a season, where its fits
    are cheap, ETS joins too when it beats Theta there. Nothing the network learnt decides."""
    if covariates or panel.values.shape[1] > 1:
        return (), ("combine none: the network reads other columns too, which a univariate "
                    "method cannot (--combine theta to force)")
    if len(panel) > COMBINE_SERIES:
        return (), (f"combine none: {len(panel):,} series are more than the {COMBINE_SERIES:,} "
                    "for which per-series Theta fits stay cheap (--combine theta to force)")
    methods = ("theta", "ets") if season <= 1 else ("theta",)
    # a season is the natural span to compare over; without one, one step says little
    horizon = horizon if season > 1 else max(horizon, CHECK_STEPS)
    check = classical_check(panel, horizon, season, methods)
    if check is None:
        return ("theta",), ("combine theta: the mean of the network's and Theta's forecasts, "
                            "series by series (the series are too short to check Theta first)")
    scores, n = check
    said = (f"on the last {horizon} points of {n} training series, MASE "
            + ", ".join(f"{name.replace('_', ' ')} {score:.3f}" for name, score in scores.items()))
    chosen = ("theta",) if scores["theta"] < scores["seasonal_naive"] else ()
    if chosen and "ets" in scores and scores["ets"] < scores["theta"]:
        chosen = ("theta", "ets")
    if not chosen:
        return (), f"combine none: {said} (--combine theta to force)"
    names = ["the network's", *(LABELS[name] + "'s" for name in chosen)]
    names = ", ".join(names[:-1]) + " and " + names[-1]
    return chosen, f"combine {','.join(chosen)}: the mean of {names} forecasts; {said}"


def classical_check(panel: Panel, horizon: int, season: int, methods: tuple[str, ...] = ("theta",)
                    ) -> tuple[dict[str, float], int] | None:
    """Mean MASE of each method and of the seasonal naive forecast on the last ``horizon``
    points of up to :data:`~rnncast.combination.SAMPLE` series spread over the panel, and how many series
    that was; None when too few series are long enough."""
    rows = spread(len(panel))
    scores = []
    for k in rows:
        y = panel.rows(k)[:, 0]
        y = y[np.isfinite(y)]
        if len(y) < horizon + max(2 * season, 4) + 1:
            continue
        past, future = y[:-horizon], y[-horizon:]
        forecasts = [one_forecast(name, past, horizon, season) for name in methods]
        forecasts.append(baselines.seasonal_naive(past, horizon, season))
        row = [metrics.mase(future, f, past, season) for f in forecasts]
        if np.isfinite(row).all():
            scores.append(row)
    if len(scores) < min(len(rows), 5):
        return None
    means = np.mean(scores, axis=0)
    return dict(zip((*methods, "seasonal_naive"), map(float, means), strict=True)), len(scores)
