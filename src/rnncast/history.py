"""What training reports: each epoch as it ends (:class:`EpochInfo`, to a callback) and the
whole run (:class:`History`, kept with the model)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EpochInfo:
    """What the callback receives after every epoch."""

    epoch: int
    loss: float
    val_loss: float | None
    elapsed: float
    net: Any  # the torch module being trained
    member: int = 0  # which ensemble member is training
    limit: int = 0  # the most epochs this run may take: the epoch cap or the window budget
    left: int = 0  # the most epochs this member may still take, a refit included
    refit: bool = False  # the member's second run, on all windows for the epochs chosen


@dataclass
class History:
    """Losses per epoch and where training stopped."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    clipped_steps: int = 0
    skipped_steps: int = 0  # exploding-gradient guard: non-finite or spiking gradient norms
    steps: int = 0

    def to_dict(self) -> dict:
        return asdict(self)
