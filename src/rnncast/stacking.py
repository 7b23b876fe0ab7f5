"""Several targets read as a panel of their columns: each target column of each series becomes
a series of its own, one network learns them all, and the forecasts are put back side by side.

On fpp3's ``aus_production`` (development data) the four columns Beer, Gas, Electricity and
Cement read together by one network scored MASE 1.994 on the last 8 quarters, worse than
seasonal naive (1.421); as series of one panel the columns learn from each other's shapes
without one column's scale or noise entering another's inputs (docs/experiments.md)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rnncast.errors import SettingError
from rnncast.panel import Panel

VALUE = "value"  # the one column of a stacked panel
SEP = "/"  # a stacked series' name: the series', this, the target's


def stack(panel: Panel, targets: int, mode: str, inputs: bool) -> Panel:
    """``panel``'s first ``targets`` columns as series of their own (``mode`` columns; auto:
    where there are several targets and no covariate, ``inputs``); else ``panel`` itself."""
    if mode == "columns" and inputs:
        raise SettingError("multivariate 'columns' reads each target alone; with covariates "
                           "use multivariate='joint' (--multivariate joint)")
    if targets < 2 or mode == "joint" or inputs:
        return panel
    names = list(panel.columns[:targets])
    N = len(panel)
    parts = [panel.values[panel.offsets[k]:panel.offsets[k + 1], j]
             for k in range(N) for j in range(targets)]  # series k's columns, in turn
    lengths = np.repeat(panel.lengths, targets)
    rows = np.repeat(np.arange(N), targets)
    ids = names * N if panel.single else [f"{i}{SEP}{c}" for i in panel.ids for c in names]
    return replace(panel, values=np.concatenate(parts)[:, None],
                   offsets=np.r_[0, np.cumsum(lengths)], columns=[VALUE],
                   clock=panel.clock.take(rows), ids=ids, starts=panel.starts[rows],
                   stacked=tuple(names))


def unstack(values: np.ndarray, panel: Panel, columns: list[str],
            targets: tuple[str, ...]) -> tuple[np.ndarray, Panel, list[str]]:
    """Forecasts of a stacked panel ``(N·K, steps, C)`` (``columns``: C names, the first the
    target's) as the wide series' ``(N, steps, K·C)``: the targets' names, then each target's
    other columns named ``<target>-<column>`` as for several targets."""
    K = len(targets)
    N, steps, C = len(panel) // K, values.shape[1], values.shape[2]
    wide = values.reshape(N, K, steps, C).transpose(0, 2, 3, 1)  # (N, steps, C, K)
    names = [*targets, *(f"{t}-{c}" for c in columns[1:] for t in targets)]
    return wide.reshape(N, steps, C * K), unstacked(panel, targets), names


def unstacked(panel: Panel, targets: tuple[str, ...] = ()) -> Panel:
    """A stacked panel's series side by side again (the panel itself when not stacked; a saved
    model's tails are stacked by its plan's ``targets``): how forecasts are scored, per target,
    against the baselines' (VARMAX among them), and how a saved model's data look."""
    panel = replace(panel, stacked=targets) if targets else panel
    K = len(panel.stacked)
    if not K:
        return panel
    N = len(panel) // K
    firsts = np.arange(N) * K
    ids = None if N == 1 and list(panel.ids or []) == list(panel.stacked) else \
        [str(panel.ids[k]).removesuffix(SEP + panel.stacked[0]) for k in firsts]
    rows = [panel.values[panel.offsets[k]:panel.offsets[k + 1], 0] for k in range(len(panel))]
    together = [np.stack(rows[k:k + K], axis=1) for k in firsts]  # (T, K) each
    return replace(panel, values=np.concatenate(together), columns=list(panel.stacked),
                   offsets=np.r_[0, np.cumsum(panel.lengths[firsts])],
                   clock=panel.clock.take(firsts), ids=ids, starts=panel.starts[firsts],
                   stacked=())


def target_names(plan, panel: Panel, count: int) -> list[str]:
    """The names of what a model with ``plan``, fitted on ``panel``, forecasts (``count``
    targets on its own scale): the stacked targets, else the panel's first columns."""
    return list(plan.stacked) if plan.stacked else list(panel.columns[:count])
