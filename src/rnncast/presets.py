"""The named points of rnncast's recipe (``Forecaster(preset=...)``, ``--preset``): settings
that a user's own settings override, and the training budget that gives way on little data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rnncast.errors import SettingError, bounded
from rnncast.panel import Panel
from rnncast.plan import Plan
from rnncast.settings import WINDOW_RULE, SeriesConfig
from rnncast.training import TrainConfig

ENSEMBLE = 5  # members by default: the median of five seeds
MAX_ENSEMBLE = 100
# Named points of the recipe: Forecaster settings that a user's own settings override. Their
# fixed training budgets (epochs of every window, large batches) suit panels; on fewer training
# windows than PRESET_WINDOWS the defaults' budget is used instead (:func:`budget` says so).
PRESETS: dict[str, dict] = {
    # the default point: the dataclasses' defaults (TrainConfig.loss, the absolute error, beat
    # the squared error on every M3 frequency of the development collection)
    "auto": {},
    # one network, no classical partner, 250,000 windows drawn in five passes of 50,000 (a cost
    # that does not grow with the panel): on M3 monthly's development ends (seeds 0-2) 1.5
    # seasons of input scored a median of 14.28 in 5-7 CPU-s, as four passes over every window
    # (14.28; two seasons 14.39); twelve passes with the DOTM partner, the point before issue
    # #25, 13.83 in ~20 (``combine="dotm"`` adds the partner back)
    "fast": dict(ensemble=1, loss="mae", window_rule=((1.5, 12),), epochs=5, patience=4,
                 batch_size=512, max_windows=10**9, windows_per_epoch=50_000, refit=False,
                 combine=()),
    # five members over three input lengths: on M3 monthly's training parts 13.826 against
    # 13.838 for three (one per length), in 293 CPU-s instead of 164 (64 units; with 32, a
    # median of 13.803 over seeds 0-2 in 88-122 CPU-s). Up to 20 epochs, so that early
    # stopping ends the runs: at 12, most members of a fit on M3 monthly's whole training parts
    # stopped at the cap; on the development ends 20 scored as 12 (13.803 median either way)
    "accurate": dict(ensemble=5, loss="mae", window_rule=((1.5, 8), (2.0, 12), (3.0, 16)),
                     epochs=20, patience=4, batch_size=512, max_windows=10**9, refit=True),
}
BUDGET = ("epochs", "patience", "batch_size", "max_windows")  # a preset's training budget
PRESET_WINDOWS = 20_000
# the Forecaster arguments a preset may set (None there: not given, the preset's or the default)
FIELDS = ("epochs", "loss", "patience", "ensemble", "batch_size", "max_windows", "refit",
          "window_rule", "combine", "windows_per_epoch")
DEFAULTS = dict(epochs=TrainConfig.epochs, loss=TrainConfig.loss, patience=TrainConfig.patience,
                ensemble=ENSEMBLE, window_rule=WINDOW_RULE, combine=SeriesConfig.combine,
                windows_per_epoch=TrainConfig.windows_per_epoch)


def settings(preset: str, given: dict) -> tuple[dict, frozenset[str]]:
    """The preset's settings under the user's own (``given``: those not None), and the names
    the preset supplied."""
    if preset not in PRESETS:
        raise SettingError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    chosen = {**DEFAULTS, **PRESETS[preset], **given}
    bounded("ensemble", chosen["ensemble"], MAX_ENSEMBLE, "the median stops changing long before; "
            "each member costs a whole training run")
    return chosen, frozenset(k for k in PRESETS[preset] if k not in given)


def budget(train: TrainConfig, supplied: frozenset[str], preset: str, panel: Panel,
           plan: Plan) -> tuple[TrainConfig, str | None]:
    """A preset's fixed training budget suits panels; on fewer training windows than
    :data:`PRESET_WINDOWS` the defaults' budget (epochs until early stopping, batches that follow
    the data) replaces it. The training settings to use, and a line saying which."""
    fields = supplied & set(BUDGET)
    if not fields:
        return train, None
    windows = int(np.maximum(plan.pairs_in(panel.lengths - plan.validation, plan.max_window),
                             1).sum())
    if windows >= PRESET_WINDOWS:
        return train, (f"training budget of preset {preset}: {windows:,} training windows (at "
                       f"least {PRESET_WINDOWS:,})")
    default = TrainConfig()
    return (replace(train, **{k: getattr(default, k) for k in fields}),
            f"training budget: the defaults' (up to {default.epochs} epochs, patience "
            f"{default.patience}), as {windows:,} training windows are too few for preset "
            f"{preset}'s (made for {PRESET_WINDOWS:,} or more)")
