"""The recipe's rules that read the data's facts: the season, the head, the input length and
whether to deseasonalise, each a plain function of the panel and what the user asked for
(:func:`rnncast.plan.resolve` applies them once)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnncast.classical import median_strength, spread
from rnncast.panel import Panel
from rnncast.settings import WINDOW_RULE, SeriesConfig

NO_SEASON_WINDOW = 16  # the default rule's input length for panels without a season
# a pandas offset's class → how a person says one step of it, and several (hourly, 2-hour)
WORDS = {"Second": ("one-second", "second"), "Minute": ("one-minute", "minute"),
         "Hour": ("hourly", "hour"), "Day": ("daily", "day"),
         "BusinessDay": ("business-day", "business-day"), "Week": ("weekly", "week"),
         "MonthBegin": ("monthly", "month"), "MonthEnd": ("monthly", "month"),
         "QuarterBegin": ("quarterly", "quarter"), "QuarterEnd": ("quarterly", "quarter"),
         "YearBegin": ("yearly", "year"), "YearEnd": ("yearly", "year")}


def freq_words(freq: str | None) -> str:
    """A frequency as a person says it: ``h`` → hourly, ``15min`` → 15-minute, ``W-MON`` →
    weekly; an alias it does not know, as it is."""
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (TypeError, ValueError):
        return str(freq)
    one, unit = WORDS.get(type(offset).__name__, (None, None))
    if one is None:
        return str(freq)
    return one if offset.n == 1 else f"{offset.n}-{unit}"


def season_of(panel: Panel, settings: SeriesConfig) -> int:
    """The season: the user's, else the one the frequency of the (first) series implies, else 1."""
    return max(settings.season or panel.season, 1)


def season_head(season: int, week: int = 1) -> int:
    """The head the recipe trains when none is given: one season of steps (one without), or
    the ``week`` of sub-daily data that hold enough weeks (:func:`week_head`)."""
    return week if week > 1 else max(season, 1)


def week_head(panel: Panel, season: int, second: int) -> int:
    """The week, for sub-daily data whose season is the day and whose series hold eight weeks
    or more (on EPF's hourly prices a week at once scored MASE 1.598 against 2.006 for a day's
    head run block by block over the week, docs/experiments.md); else 1."""
    long_enough = np.median(panel.lengths) >= 8 * second
    return second if second == 7 * season and season > 7 and long_enough else 1


def head_for(season: int, test: int | None, covariates: tuple[str, ...], week: int = 1) -> int:
    """The head when none is given: one season (or a week, :func:`week_head`), a longer
    forecast going block by block. To score a ``test`` range shorter than that, a head of its
    length; with covariates (known only up to the origin) a head covering the whole test range
    at once."""
    head = season_head(season, week)
    if test and (covariates or test < head):
        return test
    return head


def default_steps(panel: Panel, settings: SeriesConfig) -> int:
    """Steps to forecast or hold out when the user gives none: the head asked for, else one
    season, else a tenth of the first series."""
    if settings.head:
        return settings.head
    season = season_of(panel, settings)
    return season if season > 1 else max(1, int(panel.lengths[0]) // 10)


def zero_run(season: int) -> int:
    """How many trailing zeros mean a series has stopped: a season, at least 3."""
    return max(season, 3)


def window_for(panel: Panel, settings: SeriesConfig, season: int, head: int
               ) -> tuple[tuple[int, ...], str | None]:
    """The input lengths and why: the user's; else 16 points for a panel without a season; else
    the rule's seasons, but at most what the median series holds beside a head and a held-out
    end (and a head of training pairs for a single series): weekly series of two years would
    read three years, mostly padding, and a single one would be refused."""
    if settings.window is not None:
        given = settings.window
        return (given if isinstance(given, tuple) else (given,)), None
    if season == 1 and settings.window_rule == WINDOW_RULE and not panel.single:
        return (NO_SEASON_WINDOW,), (f"window {NO_SEASON_WINDOW}: no season (on M3 yearly's "
                                     "development ends MASE 3.207, 12: 3.220)")
    median, room = int(np.median(panel.lengths)), window_room(panel, settings, head)
    rule = settings.window_rule
    lengths = tuple(dict.fromkeys(max(min(round(f * season), room), m) for f, m in rule))
    capped = lengths != tuple(dict.fromkeys(max(round(f * season), m) for f, m in rule))
    shown = lengths[0] if len(lengths) == 1 else lengths
    said = ", ".join(f"{f:g} seasons of {season}, at least {m}" if season > 1 else
                     f"at least {m} (no season)" for f, m in rule)
    if capped:
        most = max(room, min(m for _, m in rule))  # the floor wins where little is left
        said += (f", at most {most}: the median series' {median} points less a head of {head}, "
                 f"the held-out end{' and a head of training pairs' if panel.single else ''}")
    return lengths, f"window {shown}: {said}"


def window_room(panel: Panel, settings: SeriesConfig, head: int, before: int = 0) -> int:
    """The longest input the median series holds beside a head and a held-out end of the
    default length (and, for a single series, a head of training pairs), counting only its
    points ``before`` the last few (a backtest's first origin)."""
    median = int(np.median(np.maximum(panel.lengths - before, 0)))
    held = validation_for(settings, head, median)
    return median - head - held - (head if panel.single else 0)


def validation_for(settings: SeriesConfig, head: int, median: int) -> int:
    """The points held out at each series' end for early stopping: the user's, else a head or a
    tenth of the ``median`` series, whichever is longer."""
    return settings.validation if settings.validation is not None else max(head, median // 10)


def auto_deseasonalize(panel: Panel, season: int) -> tuple[bool, float | None, str]:
    """Deseasonalise (classical indices, each series tested on its own) when a season exists
    and the series hold three cycles of it; the median seasonal strength, and why."""
    if season <= 1:
        return False, None, "deseasonalize off: no season"
    if np.median(panel.lengths) < 3 * season:
        return False, None, (f"deseasonalize off: most series are shorter than three seasons of "
                             f"{season}")
    strength = median_strength([panel.rows(k)[:, 0] for k in spread(len(panel))], season)
    said = "" if strength is None else f" (median seasonal strength {strength:.2f})"
    return True, strength, (f"deseasonalize on: season {season}{said}; each positive series whose "
                            "autocorrelation passes a 90% test is divided by its seasonal indices")
