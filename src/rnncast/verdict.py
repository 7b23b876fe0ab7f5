"""The verdict on an evaluation, in one plain sentence that never overstates: a model beats
another only by more than the noise of the test range (the paired differences of their errors,
step by step on one series, series by series on a panel), every model that beats the network is
named, a baseline left out is said to be, and the advice keeps the test range untouched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnncast.evaluation import Evaluation
from rnncast.forecasting import chains_blocks

NOISE = 2.0  # standard errors of the mean paired difference: a smaller margin is a tie
STRONG_SEASON = 0.6  # seasonal strength from which a season is called strong


@dataclass(frozen=True)
class Standing:
    """The baselines that beat the network beyond the noise (best first), those it ties with,
    those it beats, and the default ones left out."""

    better: list[str]
    tied: list[str]
    worse: list[str]
    left_out: list[str]


def margin(result: Evaluation, name: str) -> tuple[float, float]:
    """The mean paired difference of the network's errors and ``name``'s (positive: the
    network's are larger) and its standard error, over the units both have."""
    a, b = result.units.get("network"), result.units.get(name)
    if a is None or b is None:
        return np.nan, np.inf
    both = np.isfinite(a) & np.isfinite(b)
    d = (a - b)[both]
    if len(d) < 2:
        return (float(d.mean()) if len(d) else np.nan), np.inf
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def standing(result: Evaluation, metric: str | None = None) -> Standing:
    """Where the network stands against each baseline that ran, on ``metric`` (default: the
    headline one) and the noise of its units."""
    metric = metric or result.metric
    better, tied, worse = [], [], []
    for name, scores in result.baselines.items():
        if not np.isfinite(scores[metric]):
            continue
        mean, se = margin(result, name) if metric == result.metric else (np.nan, np.inf)
        if not np.isfinite(se):  # another metric, or too few units to tell the noise
            (better if scores[metric] < result.metrics[metric] else worse).append(name)
        elif abs(mean) > NOISE * se:
            (better if mean > 0 else worse).append(name)
        else:
            tied.append(name)
    better.sort(key=lambda name: result.baselines[name][metric])
    return Standing(better, tied, worse, list(result.left_out))


def plain(value) -> str:
    """A number as a person writes it: 22,270 / 123.4 / 1.234 / 0.00131 (never 2.227e+04; a
    value that rounds to zero at eight decimals is 0)."""
    if value is None or not np.isfinite(value):
        return "–"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 1 or size < 5e-9:
        return f"{value:.4g}" if size >= 1 else "0"
    return f"{value:.{min(8, 3 - int(np.floor(np.log10(size))))}f}"


def _names(names: list[str]) -> str:
    names = [n.replace("_", " ") for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sentence(result: Evaluation, metric: str | None = None) -> str:
    """One plain sentence: what beats the network on this test range, what ties with it, what
    it beats, and what that says nothing about."""
    metric = metric or result.metric
    where, stand = metric.upper(), standing(result, metric)
    mine = plain(result.metrics[metric])
    if stand.better:
        what = "baseline is" if len(stand.better) == 1 else "baselines are"
        values = ", ".join(plain(result.baselines[n][metric]) for n in stand.better)
        text = (f"The {_names(stand.better)} {what} more accurate than the network on this test "
                f"range ({where} {values} vs {mine}, beyond the noise of its points)")
        if stand.tied:
            text += f"; {_names(stand.tied)} {'ties' if len(stand.tied) == 1 else 'tie'} with it"
        text += f"; {advice(result)}."
    elif stand.tied:
        text = (f"The network ties with {_names(stand.tied)} on {where} ({mine}: the "
                "differences are within the noise of this test range)")
        text += f" and beats {_names(stand.worse)}." if stand.worse else "."
        text = text[:-1] + f"; {advice(result)}."
    else:
        text = (f"The network beats every baseline that ran on {where} ({mine}), each by more than "
                "the noise of this test range.")
    if stand.left_out:
        text += (f" The {_names(stand.left_out)} {'was' if len(stand.left_out) == 1 else 'were'} "
                 "left out (over the baseline budget): this says nothing about "
                 f"{'it' if len(stand.left_out) == 1 else 'them'}.")
    return text


def advice(result: Evaluation) -> str:
    """What to look at, without touching the test range: facts about the fit, then the tools
    that choose settings on the data before it."""
    plan, tips = result.model.plan, []
    strength = result.season_strength
    if strength is not None and strength >= STRONG_SEASON and not plan.deseasonalize:
        tips.append(f"its season is strong (strength {strength:.2f} of 1) and was left in "
                    "(--deseasonalize)")
    steps = len(result.truth)
    if chains_blocks(plan, steps):
        tips.append(f"the network forecasts {plan.head} step{'s' if plan.head > 1 else ''} at a "
                    f"time, each block reading the one before (--head {steps} forecasts the whole "
                    "range at once)")
    test = f"--test {steps}"
    tips.append(f"to compare settings without tuning on this test range, use `rnncast tune "
                f"{test}` (it backtests on the data before it) or `rnncast backtest`")
    return "; ".join(tips)


def backtest_sentence(names: list[str], rows: list[list[float]], means: list[float],
                      metric: str) -> str:
    """One plain sentence on a backtest: the baselines whose mean ``metric`` over the folds
    (``means``; ``rows``: fold by fold, the network first as in ``names``) is lower than the
    network's, each with the number of folds it was lower on; one range can flatter any model,
    several folds that agree say more."""
    folds, where = len(rows), metric.upper()
    lower = [(n, means[j], sum(row[j] < row[0] for row in rows))
             for j, n in enumerate(names) if j and means[j] < means[0]]
    if not lower:
        wins = sum(all(row[0] <= v for v in row[1:]) for row in rows)
        return (f"The network has the lowest mean {where} over the {folds} folds "
                f"({plain(means[0])}) and the lowest on {wins} of them.")
    said = "; ".join(f"{n.replace('_', ' ')} {plain(v)}, lower on {k} of {folds} folds"
                     for n, v, k in sorted(lower, key=lambda item: item[1]))
    return (f"Lower mean {where} than the network's {plain(means[0])} over the {folds} folds: "
            f"{said}.")
