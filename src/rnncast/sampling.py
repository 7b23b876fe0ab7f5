"""Training windows sampled from one flat array, never materialised.

Every series (scaled, padded, with its input-only channels) lies end to end in one ``(rows, C)``
float32 tensor; a window is just the row where it starts. A batch gathers its windows by index
arithmetic and normalises each by its own level on the fly, so memory grows with the number of
points, not with the number of windows, and an epoch can be any number of windows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
from torch import Tensor

from rnncast.panel import Panel, gather_rows
from rnncast.plan import Plan


@dataclass(frozen=True)
class Windows:
    """Windows of ``span`` input steps followed by ``horizon`` target steps, starting at the
    rows ``starts`` of ``flat``. ``sequence``: every step predicts the next (``Y`` is ``X``
    shifted by one, its first ``skip`` steps dropped); ``level``: window → offset ``(B, 1, C)``;
    only the first ``targets`` channels are predicted. ``known``: the channels known over the
    forecast (future covariates, calendar): ``X`` then also holds the ``horizon`` target steps
    with only those channels (the others zero), for a head that reads them."""

    flat: Tensor  # (rows, C)
    starts: Tensor  # (n,) int64
    span: int
    horizon: int
    targets: int
    level: Callable[[Tensor], Tensor]
    sequence: bool = False
    skip: int = 0
    known: slice | None = None

    def __post_init__(self) -> None:
        steps = torch.arange(self.span + self.horizon, device=self.starts.device)
        object.__setattr__(self, "_steps", steps)  # the offsets of one window's rows

    def __len__(self) -> int:
        return len(self.starts)

    def take(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """The windows at positions ``index``: level-normalised ``X (B, span, C)`` and targets
        ``Y (B, horizon, targets)`` (``(B, span - skip, targets)`` for sequences)."""
        pairs = self.flat[self.starts[index][:, None] + self._steps]  # (B, span + horizon, C)
        if self.sequence:
            X, Y = pairs[:, :-1], pairs[:, 1:]
        else:
            X, Y = pairs[:, : self.span], pairs[:, self.span :]
        offset = self.level(X) if len(X) else X.new_zeros(1, 1, X.shape[2])
        if self.skip:
            Y = Y[:, self.skip :]
        F = self.targets
        X = X - offset
        if self.known is not None:
            X = torch.cat([X, ahead(Y, self.known)], dim=1)  # (B, span + horizon, C)
        return X, Y[..., :F] - offset[..., :F]

    def all(self) -> tuple[Tensor, Tensor]:
        """Every window at once (for small data and diagnostics)."""
        return self.take(torch.arange(len(self)))

    def joined(self, other: Windows) -> Windows:
        """These windows, then ``other``'s (same array)."""
        return replace(self, starts=torch.cat([self.starts, other.starts]))

    def sample(self, count: int, seed: int) -> Windows:
        """At most ``count`` of these windows, a fixed random choice kept in order."""
        if len(self) <= count:
            return self
        keep = np.sort(np.random.default_rng(seed).choice(len(self), count, replace=False))
        return replace(self, starts=self.starts[torch.from_numpy(keep)])


def ahead(steps: Tensor, known: slice) -> Tensor:
    """The forecast steps ``(B, h, C)`` as a head reads them: only the ``known`` channels, the
    others (targets, past covariates) zero."""
    out = torch.zeros_like(steps)
    out[..., known] = steps[..., known]
    return out


def cut(flat: Tensor, lengths: np.ndarray, span: int, horizon: int, validation: int,
        make: Callable[..., Windows]) -> tuple[Windows, Windows]:
    """Index the windows of series lying end to end in ``flat`` (``lengths`` rows each): the
    last ``validation`` windows of each series (at most all but one) are held out, the rest
    train. ``make(flat=…, starts=…)`` builds each :class:`Windows` with the caller's fields."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    counts = np.maximum(0, lengths - span - horizon + 1)
    held = np.clip(np.minimum(validation, counts - 1), 0, None) if validation else np.zeros_like(counts)
    # where each window starts in flat: consecutive rows of each series
    return (make(flat=flat, starts=torch.from_numpy(gather_rows(offsets, counts - held))),
            make(flat=flat, starts=torch.from_numpy(gather_rows(offsets + counts - held, held))))


def training_windows(Z: np.ndarray, panel: Panel, plan: Plan, windows: Sequence[int], channels,
                     device="cpu") -> dict[int, tuple[Windows, Windows]]:
    """For each input length in ``windows``: training and validation windows across the scaled
    rows ``Z (points, F)`` of ``panel``'s series (``channels``: the input layout), level-normalised
    ``X (B, W, C)`` → ``Y (B, h, F)``, all over one float32 copy of the rows. The last
    ``validation`` windows of each series (targets ending in its last ``validation`` points) are
    held out; training windows' targets all end before them. A series too short for them is
    padded at the start with its first value when ``plan.short`` says so.

    For sequence training (``stateful``) every step predicts the next: spans of
    ``window + head`` give ``X (B, W+h-1, C)`` and ``Y`` = ``X`` shifted by one step.
    """
    need = plan.pair_length(plan.max_window) + plan.validation  # pad to this when asked
    lengths = panel.lengths
    pad = np.maximum(need - lengths, 0) if plan.short == "pad" else np.zeros_like(lengths)
    padded = lengths + pad
    flat = np.asarray(Z, dtype=np.float32)
    if pad.any() or channels.n_extra:  # gather rows: the first repeated in front where padded
        first = panel.offsets[:-1]
        row = np.arange(int(padded.sum()), dtype=np.int64)  # in place from here: few temporaries
        row -= np.repeat(np.cumsum(padded) - padded + pad - first, padded)  # Z's row, or before
        extras = None
        if channels.n_extra:
            series = np.repeat(np.arange(len(panel)), padded)
            positions = (row - first[series] + panel.starts[series])[:, None]  # from its start
            extras = channels.extras(series, positions)[:, 0].astype(np.float32)
            del series, positions
        np.maximum(row, np.repeat(first, padded), out=row)  # a padded row repeats the first
        flat = flat[row]
        if extras is not None:
            flat = np.concatenate([flat, extras], axis=1)
        del row, extras
    flat = torch.from_numpy(np.ascontiguousarray(flat)).to(device)
    return {w: _windows(flat, padded, plan, w, channels, device) for w in dict.fromkeys(windows)}


def _windows(flat: Tensor, padded: np.ndarray, plan: Plan, window: int, channels, device
             ) -> tuple[Windows, Windows]:
    sequence = plan.head_kind == "sequence"
    span = plan.pair_length(window) - 1 if sequence else window
    horizon = 1 if sequence else plan.emits
    skip = plan.level_span(window) - 1 if sequence and plan.level else 0
    make = partial(Windows, span=span, horizon=horizon, targets=channels.n_targets,
                   level=plan.level_fn(window, channels.leveled), sequence=sequence, skip=skip,
                   known=channels.known if channels.n_future else None)
    train, val = cut(flat, padded, span, horizon, plan.validation, make)
    return (replace(train, starts=train.starts.to(device)),
            replace(val, starts=val.starts.to(device)))
