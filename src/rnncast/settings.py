"""What the user asks of the recipe: :class:`SeriesConfig`, how series become training pairs
and back, with ``"auto"`` and None left for the data to decide (:func:`rnncast.plan.resolve`)."""

from __future__ import annotations

from dataclasses import dataclass

from rnncast.classical import COMBINABLE
from rnncast.errors import SettingError, bounded
from rnncast.holiday import HOLIDAY, country_of
from rnncast.scaling import LOG1P, SCALERS

STRATEGIES = ("direct", "recursive", "stateful")
MULTIVARIATE = ("auto", "joint", "columns")  # several targets: see rnncast.stacking
SHORT = ("error", "pad", "skip")
MAX_STEPS = 10_000  # window, head, season
# Input lengths as (seasons, at least): one member each, in turn.
WINDOW_RULE = ((3.0, 12),)


@dataclass(frozen=True)
class SeriesConfig:
    """How series become training pairs and back, as the user asks for it.

    ``window``: input length, or several (ensemble members take them in turn); None: from
    ``window_rule``, (seasons, at least) pairs (default: three seasons, at least 12; 16 for a
    panel without a season).
    ``head``: steps the network is trained to forecast from one window (the direct head's
    width; None: one season, or the test range when shorter).
    ``validation``: points at the end of each training series held out for early stopping
    (None: the larger of ``head`` and a tenth of the series; 0: none). ``deseasonalize``:
    divide by classical multiplicative seasonal indices first (the Theta/ES-RNN route).
    ``short``: a series too short for one window is an ``error``, ``pad``-ded at the start with
    its first value, or ``skip``-ped (None: error for one series, pad for many).
    ``covariates``: columns that are inputs only, known up to the forecast origin (past
    covariates, not forecast; direct strategy). ``future``: columns known over the forecast too
    (a promotion calendar, a weather forecast): inputs of the history and of every forecast step.
    ``static``: columns constant within a series (a store's type, a market), fed at every step.
    ``quantiles``: levels in (0, 1) the head forecasts, one output each, on the pinball loss
    (the median, the point forecast, among them; direct strategy).
    ``holidays``: a country code (``AU``, ``AU-VIC``) whose public holidays become the future
    covariate ``holiday``, built from the time stamps (the forecast needs no file for it).
    ``calendar``: feed the position in the season (month of year, …) as sin/cos inputs.
    ``refit``: train each member again on all windows for the epochs early stopping chose
    (None: when an epoch visits every window, see :func:`rnncast.ensemble.train_members`).
    ``combine``: classical methods whose forecasts are averaged with the network's
    (:mod:`rnncast.combination`). ``zero_tail``: a series whose last season (at least 3 points)
    is all zeros is forecast as zeros. ``multivariate``: several targets read ``joint``-ly by
    one network, or their ``columns`` as series of one panel (:mod:`rnncast.stacking`; auto:
    columns without covariates). ``"auto"`` settings are chosen by :func:`resolve`.
    """

    window: int | tuple[int, ...] | None = None
    head: int | None = None
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
    future: tuple[str, ...] = ()
    static: tuple[str, ...] = ()
    quantiles: tuple[float, ...] = ()
    holidays: str | None = None
    multivariate: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.window, list | tuple):
            object.__setattr__(self, "window", tuple(int(w) for w in self.window))
        object.__setattr__(self, "covariates", tuple(self.covariates or ()))
        object.__setattr__(self, "future", tuple(self.future or ()))
        object.__setattr__(self, "static", tuple(self.static or ()))
        object.__setattr__(self, "quantiles", tuple(sorted(float(q) for q in self.quantiles or ())))
        if self.quantiles and (0.5 not in self.quantiles or not min(self.quantiles) > 0
                               or not max(self.quantiles) < 1):
            raise SettingError(f"quantile levels lie in (0, 1) and hold 0.5, got {self.quantiles}")
        if self.quantiles and self.strategy != "direct":
            raise SettingError(f"quantiles need strategy='direct', got {self.strategy!r}")
        roles = [("past", self.covariates), ("future", self.future), ("static", self.static)]
        for k, (a, first) in enumerate(roles):
            for b, second in roles[k + 1 :]:
                both = sorted(set(first) & set(second))
                if both:
                    raise SettingError(f"column '{both[0]}' is given as a {a} and a {b} "
                                       "covariate; give it one role")
        object.__setattr__(self, "window_rule", tuple((float(f), int(m)) for f, m in self.window_rule))
        if not self.window_rule or any(f <= 0 or m < 1 for f, m in self.window_rule):
            raise SettingError("window_rule must list (seasons > 0, at least >= 1) pairs")
        if self.combine != "auto":
            object.__setattr__(self, "combine", combine_names(self.combine))
        if self.multivariate not in MULTIVARIATE:
            raise SettingError(f"multivariate must be one of {MULTIVARIATE}, got "
                               f"{self.multivariate!r}")
        if self.deseasonalize not in (True, False, "auto"):
            raise SettingError("deseasonalize must be True, False or 'auto', got "
                               f"{self.deseasonalize!r}")
        if self.strategy not in STRATEGIES:
            raise SettingError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.covariates and self.strategy != "direct":
            raise SettingError("covariates are known only up to the forecast origin, so they need "
                               f"strategy='direct', got {self.strategy!r}")
        if self.holidays is not None:
            object.__setattr__(self, "holidays", "-".join(filter(None, country_of(self.holidays))))
            if HOLIDAY in (*self.covariates, *self.future, *self.static):
                raise SettingError(f"holidays={self.holidays!r} builds the column '{HOLIDAY}'; "
                                   "the data's own column of that name needs another name")
        if (self.future or self.holidays) and self.strategy == "stateful":
            raise SettingError("future covariates enter the steps a head forecasts: use "
                               "strategy='direct' or 'recursive', not 'stateful'")
        if self.scaler not in (*SCALERS, "auto"):
            raise SettingError(f"scaler must be one of {SCALERS}, got {self.scaler!r}")
        if self.log not in (True, False, "auto", LOG1P):
            raise SettingError(f"log must be True, False, 'log1p' or 'auto', got {self.log!r}")
        if self.short is not None and self.short not in SHORT:
            raise SettingError(f"short must be one of {SHORT}, got {self.short!r}")
        if self.window == ():
            raise SettingError("window must be a positive integer or a non-empty list of them")
        windows = self.window if isinstance(self.window, tuple) else (self.window,)
        for value in windows if self.window is not None else ():
            positive("window", value)
            bounded("window", value, MAX_STEPS, "backpropagation through more steps is slow and "
                    "forgets anyway; use a longer season or aggregate the data")
        for name in ("head", "season"):
            if getattr(self, name) is not None:
                positive(name, getattr(self, name))
                bounded(name, getattr(self, name), MAX_STEPS, "no forecast that far is meaningful; "
                        "aggregate the data to a coarser frequency")
        if self.validation is not None and self.validation < 0:
            raise SettingError(f"validation must be >= 0, got {self.validation}")


def combine_names(names: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Classical method names to average in, checked (``none`` or empty: none)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    names = tuple(n for n in names if n and n != "none")
    unknown = sorted(set(names) - set(COMBINABLE))
    if unknown:
        raise SettingError(f"combine takes {', '.join(COMBINABLE)} (or none), got {unknown[0]!r}")
    return names


def positive(name: str, value) -> None:
    if int(value) != value or value < 1:
        raise SettingError(f"{name} must be a positive integer, got {value!r}")


def one_of(name: str, value, old: str, old_value):
    """The setting given under ``name`` or under its old name ``old`` (both: the same value)."""
    if value is not None and old_value is not None and value != old_value:
        raise SettingError(f"{name}={value} and {old}={old_value} name the same setting; give one")
    return value if value is not None else old_value
