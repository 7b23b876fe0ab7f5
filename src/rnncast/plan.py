"""The recipe's plan: what the data decided (:class:`Plan`, every setting concrete, each
automatic choice with its reason) under what the user asked for (:class:`SeriesConfig`),
resolved once by :func:`resolve` and passed down.

This module sits at the bottom of the house: it imports neither torch nor the forecasting code
that reads the plan, so that every layer above may take a plan and none re-derives a setting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from rnncast.baselines import KNOWN
from rnncast.errors import DataError, SettingError
from rnncast.holiday import HOLIDAY
from rnncast.panel import Panel
from rnncast.partners import auto_combine
from rnncast.rules import (
    auto_deseasonalize,
    freq_words,
    head_for,
    season_of,
    validation_for,
    week_head,
    window_for,
    zero_run,
)
from rnncast.scaling import ASINH, LOG1P, STEP, first_level, window_level
from rnncast.settings import SeriesConfig

LONG = 25  # seasons of history (median series) beyond which members are not refitted by default
# when the season is 2-12: us_employment (28), aus_livestock (44), aus_production (52) scored as
# well without the refit; EPF's hourly prices (season 24) lost 3% MAE, so longer seasons keep it.
# Without a season there is no refit either: on M3's development ends (seeds 0-2) yearly scored
# MASE 3.250 against 3.337 with it, "other" 1.858 either way, at half the CPU seconds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """Every setting the data decided, concrete: what training, forecasting, the combination
    and the saved model read. ``reasons``: one line per automatic choice, saying why.

    ``head``: steps the network is trained to forecast from one window (a direct head emits
    them at once; sequence training unrolls them; the recursive strategy trains one step).
    ``season``: 1 without one; ``second_season``: a longer one the data also follow (the week
    of sub-daily data, the year of daily data; 1 without). ``season_strength``: the median
    seasonal strength of a sample of the series when it was measured (for the verdict's
    advice), else None. ``covariates``: inputs known up to the origin; ``future``: inputs
    known over the forecast too. ``own_scale``: covariates standardised per series, never
    logged, deseasonalised or levelled (False in models saved before: scaled like the targets).
    """

    windows: tuple[int, ...]
    head: int
    season: int
    strategy: str = "direct"
    scaler: str = "none"
    log: bool | str = False
    level: bool = True
    deseasonalize: bool = False
    validation: int = 0
    refit: bool | None = None
    short: str = "error"
    covariates: tuple[str, ...] = ()
    calendar: bool = False
    combine: tuple[str, ...] = ()
    zero_tail: bool = True
    season_strength: float | None = None
    second_season: int = 1
    future: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    quantiles: tuple[float, ...] = ()
    quantile_shift: tuple[float, ...] = ()  # per level, on the model's scale (recalibration)
    own_scale: bool = False
    holidays: str | None = None  # the country whose holidays make the last future column
    stacked: tuple[str, ...] = ()  # several targets learnt as series of their own (stacking)
    reasons: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        whole = lambda v: isinstance(v, int | np.integer) and not isinstance(v, bool)  # noqa: E731
        if not self.windows or not all(whole(w) and w >= 1 for w in self.windows):
            raise SettingError(f"windows must be one or more positive integers, got {self.windows}")
        object.__setattr__(self, "windows", tuple(int(w) for w in self.windows))
        for name in ("head", "season", "second_season", "validation"):
            value = getattr(self, name)
            if not whole(value) or value < (0 if name == "validation" else 1):
                raise SettingError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        object.__setattr__(self, "covariates", tuple(self.covariates))
        object.__setattr__(self, "future", tuple(self.future))
        object.__setattr__(self, "static", tuple(self.static))
        object.__setattr__(self, "quantiles", tuple(self.quantiles))
        object.__setattr__(self, "quantile_shift", tuple(float(x) for x in self.quantile_shift))
        object.__setattr__(self, "combine", tuple(self.combine))
        object.__setattr__(self, "stacked", tuple(self.stacked))
        object.__setattr__(self, "reasons", tuple(self.reasons))

    @property
    def inputs_only(self) -> tuple[str, ...]:
        """The columns read but not forecast, in the layout's order: past, then future."""
        return (*self.covariates, *self.future)

    @property
    def given_future(self) -> tuple[str, ...]:
        """The future columns the user gives (the holidays column is built from the stamps)."""
        return self.future[:-1] if self.holidays else self.future

    @property
    def max_window(self) -> int:
        return max(self.windows)

    @property
    def head_kind(self) -> str:
        """The network's output layer: ``direct`` (the head at once), ``last`` (one step) or
        ``sequence`` (a step after every input step)."""
        return {"direct": "direct", "recursive": "last", "stateful": "sequence"}[self.strategy]

    @property
    def emits(self) -> int:
        """Steps one pass of the network emits."""
        return self.head if self.strategy == "direct" else 1

    def pair_length(self, window: int) -> int:
        """Rows one training pair takes: the window and the steps it is trained on (a sequence
        of ``window + head - 1`` inputs and its next value, for sequence training)."""
        return window + (1 if self.strategy == "recursive" else self.head)

    def pairs_in(self, length: int | np.ndarray, window: int) -> int | np.ndarray:
        """How many training pairs of input ``window`` a series of ``length`` rows holds."""
        return np.maximum(np.asarray(length) - self.pair_length(window) + 1, 0)

    def training_line(self, panel: Panel, members: int) -> str:
        """What a fit on ``panel`` trains, in words (a progress line)."""
        window = self.windows[0]
        pairs = int(self.pairs_in(panel.lengths, window).sum())
        nets = "a network" if members == 1 else f"{members} networks"
        series = "1 series" if len(panel) == 1 else f"{len(panel):,} series"
        return (f"training {nets} on {series}: {pairs:,} windows of {window} steps, "
                f"{self.head} ahead")

    @property
    def seasons(self) -> tuple[int, ...]:
        """The seasons, shortest first (none when 1)."""
        return tuple(m for m in (self.season, self.second_season) if m > 1)

    def level_span(self, window: int) -> int:
        return min(self.season, window)

    def level_fn(self, window: int, leveled: int | None = None) -> Callable:
        """The window → offset function ``(B, W, C) -> (B, 1, C)`` for the first ``leveled``
        channels (the data; calendar and id channels get no offset). Sequence training scores
        every step, so its level comes from the first steps of the window (causal for the steps
        after them). Works on tensors without importing torch."""
        if not self.level:
            return no_level
        span = self.level_span(window)
        level = first_level if self.head_kind == "sequence" else window_level

        def offset(w):
            out = w.new_zeros(w.shape[0], 1, w.shape[2])
            out[..., :leveled] = level(w[..., :leveled], span)  # (B, 1, leveled)
            return out

        return offset

    def with_reason(self, line: str, **changes) -> Plan:
        """This plan with ``changes`` and one more reason."""
        return replace(self, **changes, reasons=(*self.reasons, line))

    def to_dict(self) -> dict:
        """As a model directory's JSON stores it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SettingError(f"unknown plan setting {unknown[0]!r}")
        return cls(**data)

    @classmethod
    def from_series_config(cls, data: dict) -> Plan:
        """A plan from the resolved ``series`` settings of model formats 1–3."""
        window = data["window"]
        season = data.get("season") or 1
        return cls(
            windows=tuple(window) if isinstance(window, list | tuple) else (window,),
            head=data.get("horizon") or max(season, 1), season=season,
            strategy=data.get("strategy", "direct"), scaler=data.get("scaler", "standard"),
            log=data.get("log", False), level=data.get("level", True),
            deseasonalize=bool(data.get("deseasonalize", False)),
            validation=data.get("validation") or 0, refit=data.get("refit"),
            short=data.get("short") or "error", covariates=tuple(data.get("covariates") or ()),
            calendar=data.get("calendar", False), combine=tuple(data.get("combine") or ()),
            zero_tail=data.get("zero_tail", False))

    def as_settings(self) -> SeriesConfig:
        """The settings that resolve to this plan on any data (nothing left automatic)."""
        return SeriesConfig(window=self.windows if len(self.windows) > 1 else self.windows[0],
                            head=self.head, season=self.season, strategy=self.strategy,
                            scaler=self.scaler, log=self.log, level=self.level,
                            validation=self.validation, refit=self.refit,
                            deseasonalize=self.deseasonalize, short=self.short,
                            covariates=self.covariates, calendar=self.calendar,
                            combine=self.combine, zero_tail=self.zero_tail,
                            future=self.given_future, static=self.static,
                            quantiles=self.quantiles, holidays=self.holidays,
                            multivariate="columns" if self.stacked else "joint")


def no_level(window):
    """No level normalisation: a zero offset of the right shape ``(B, 1, C)``."""
    return window.new_zeros(window.shape[0], 1, window.shape[2])


def resolve(panel: Panel, settings: SeriesConfig, test: int | None = None) -> Plan:
    """The plan for ``panel`` (targets first, then covariates) under the user's ``settings``;
    ``test``: the length of a held-out range the plan's model will forecast (evaluation)."""
    why: list[str] = [f"multivariate columns: the targets {', '.join(panel.stacked)} as series of "
                      "their own, one network for all (--multivariate joint: read together)"
                      ] if panel.stacked else []
    season = season_of(panel, settings)
    second = panel.second_season if settings.season is None and season == panel.season else 1
    if second > 1:
        which = "the week and the year" if season == 7 else "the day and the week"
        why.append(f"seasons {season} and {second}: {which} of {freq_words(panel.freq)} data (the second "
                   "for the mstl baseline)")
    week = 0 if settings.head else week_head(panel, season, second)
    head = settings.head or head_for(season, test, settings.covariates, week)
    if week > 1 and head == week:
        why.append(f"head {week}: a week of {freq_words(panel.freq)} data forecast at once (the series hold "
                   "eight weeks or more)")
    windows, said = window_for(panel, settings, season, head)
    why += [said] if said else []
    future = (*settings.future, HOLIDAY) if settings.holidays else settings.future
    if settings.holidays:
        why.append(f"future column '{HOLIDAY}': the public holidays of {settings.holidays} (the "
                   "holidays package), 1 on a holiday (a count per period for coarser data)")
    targets = panel.values[:, : panel.values.shape[1] - len(settings.covariates)
                           - len(future)]  # covariates are standardised on their own
    positive_data = bool((targets > 0).all())
    use_log = settings.log
    if use_log == "auto" and settings.scaler == ASINH:
        use_log = False
        why.append("log off: the asinh scaler is a log for values of both signs")
    if use_log == "auto":
        counts = not positive_data and bool((targets >= 0).all())
        use_log = True if positive_data else LOG1P if counts else False
        why.append("log on: every value is positive" if positive_data else
                   "log1p, log(1 + y): values of 0 but none below" if counts else
                   "log off: some values are negative")
    if settings.deseasonalize is True and not positive_data:
        raise DataError("deseasonalize needs strictly positive series; use deseasonalize=False")
    deseasonalize, strength = settings.deseasonalize, None
    if deseasonalize == "auto":
        deseasonalize, strength, reason = auto_deseasonalize(panel, season)
        why.append(reason)
    scaler = settings.scaler
    if scaler == "auto":
        scaler = (STEP if season == 1 else "none") if use_log else "standard"
        why.append(f"scaler {scaler}: " + (
            "each series' mean step after the log is one unit, so the loss weighs series as MASE "
            "does (series without a season: on M3's development ends yearly MASE 3.220 against 3.250)"
            if scaler == STEP else
            "the log and each window's level make series scale-free" if use_log else
            "no log (--scaler asinh, a log for values of both signs, may suit prices with spikes)"))
    combine = settings.combine
    if combine == "auto":
        combine, reason = auto_combine(panel, settings.covariates, future, head,
                                       season, (season, second) if second > 1 else ())
        why.append(reason)
    elif set(combine) & set(KNOWN) and (not future or targets.shape[1] > 1):
        raise SettingError("combine ridge_x reads the future columns of one target: give them "
                           "(--future COL) or combine another method")
    if settings.zero_tail:
        run = zero_run(season)
        stopped = int((panel.trailing_zeros(1) >= run).sum())
        if stopped:
            why.append(f"zeros for {stopped} series whose last {run} values are zero (stopped, as "
                       "a seasonal naive forecast would say)")
    if settings.quantiles:
        why.append("quantiles " + ", ".join(f"{100 * q:g}" for q in settings.quantiles) + ": one "
                   "output each, trained on their pinball loss (the median's, the point forecast, "
                   "is half the absolute error the recipe trains on)")
    plan = Plan(windows=windows, head=head, season=season, strategy=settings.strategy,
                scaler=scaler, log=use_log, level=settings.level, deseasonalize=deseasonalize,
                validation=0, refit=settings.refit, short=settings.short or (
                    "error" if panel.single else "pad"),
                covariates=settings.covariates, calendar=settings.calendar, combine=combine,
                zero_tail=settings.zero_tail, season_strength=strength, second_season=second,
                future=future, static=settings.static, quantiles=settings.quantiles,
                own_scale=True, holidays=settings.holidays, stacked=panel.stacked,
                reasons=tuple(why))
    median = int(np.median(panel.lengths))
    validation = validation_for(settings, head, median)
    no_refit = ("no season; the held-out end reaches the network as inputs (yearly data: more "
                "accurate without, at half the cost)" if season == 1 else
                f"the median series holds {median} points, over {LONG} seasons; its held-out end "
                "reaches the network as inputs (long panels: as accurate, cheaper)"
                if season <= 12 and median > LONG * season else None)
    if settings.refit is None and no_refit:
        plan = replace(plan, refit=False).with_reason(f"refit off: {no_refit}")
    if panel.single and validation and plan.pairs_in(int(panel.lengths[0]) - validation,
                                                     plan.max_window) < 2:
        log.warning("series too short to hold out %d validation points; training without",
                    validation)
        return plan.with_reason(f"validation off: the series is too short to hold out "
                                f"{validation} points and keep two training pairs")
    return replace(plan, validation=validation)


def keep_long_enough(panel: Panel, plan: Plan) -> Panel:
    """Apply the ``short`` policy to series without one full training pair."""
    need = plan.pair_length(plan.max_window)
    short = np.flatnonzero(panel.lengths < need)
    if not len(short):
        return panel
    names = [panel.ids[k] if panel.ids else "the series" for k in short[:10]]
    listed = ", ".join(names) + (f" and {len(short) - 10} more" if len(short) > 10 else "")
    if plan.short == "error":
        what = f"series '{names[0]}'" if panel.ids else "series"
        raise DataError(f"{what} of length {panel.lengths[short[0]]} is too short for window "
                        f"{plan.max_window} + head {need - plan.max_window}; use a shorter window "
                        "or head")
    if plan.short == "skip":
        log.warning("skipped %d series too short for window + head = %d: %s",
                    len(short), need, listed)
        if len(short) == len(panel):
            raise DataError(f"every series is shorter than window + head = {need}")
        return panel.take(np.flatnonzero(panel.lengths >= need))
    log.info("padding %d short series at the start: %s", len(short), listed)
    return panel
