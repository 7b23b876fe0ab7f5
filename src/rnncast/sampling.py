"""Training windows sampled from one flat array, never materialised.

Every series (scaled, padded, with its input-only channels) lies end to end in one ``(rows, C)``
float32 tensor; a window is just the row where it starts. A batch gathers its windows by index
arithmetic and normalises each by its own level on the fly, so memory grows with the number of
points, not with the number of windows, and an epoch can be any number of windows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
from torch import Tensor

from rnncast.windows import window_index


@dataclass(frozen=True)
class Windows:
    """Windows of ``span`` input steps followed by ``horizon`` target steps, starting at the
    rows ``starts`` of ``flat``. ``sequence``: every step predicts the next (``Y`` is ``X``
    shifted by one, its first ``skip`` steps dropped); ``level``: window → offset ``(B, 1, C)``;
    only the first ``targets`` channels are predicted."""

    flat: Tensor  # (rows, C)
    starts: Tensor  # (n,) int64
    span: int
    horizon: int
    targets: int
    level: Callable[[Tensor], Tensor]
    sequence: bool = False
    skip: int = 0

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
        return X - offset, Y[..., :F] - offset[..., :F]

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


def cut(series: list[np.ndarray], span: int, horizon: int, validation: int,
        make: Callable[..., Windows]) -> tuple[Windows, Windows]:
    """Lay ``series`` (each ``(T_k, C)``) end to end and index their windows: the last
    ``validation`` windows of each series (at most all but one) are held out, the rest train.
    ``make(flat=…, starts=…)`` builds each :class:`Windows` with the caller's other fields."""
    lengths = np.array([len(s) for s in series], dtype=np.int64)
    flat = torch.from_numpy(np.concatenate(series).astype(np.float32))
    offsets = np.cumsum(lengths) - lengths
    series_id, start = window_index(lengths, span, horizon)
    counts = np.bincount(series_id, minlength=len(series))
    held = np.clip(np.minimum(validation, counts - 1), 0, None) if validation else np.zeros_like(counts)
    is_val = start >= (counts - held)[series_id]
    rows = torch.from_numpy(offsets[series_id] + start)
    mask = torch.from_numpy(is_val)
    return make(flat=flat, starts=rows[~mask]), make(flat=flat, starts=rows[mask])


def training_windows(Z: list[np.ndarray], cfg, window: int, channels, device="cpu"
                     ) -> tuple[Windows, Windows]:
    """Training and validation windows across the scaled series ``Z`` (``cfg``: a resolved
    :class:`~rnncast.recipe.SeriesConfig`; ``channels``: the input layout): level-normalised
    ``X (B, W, C)`` → ``Y (B, h, F)``. The last
    ``validation`` windows of each series (targets ending in its last ``validation`` points)
    are held out; training windows' targets all end before them.

    For sequence training (``stateful``) every step predicts the next: spans of
    ``window + horizon`` give ``X (B, W+h-1, C)`` and ``Y`` = ``X`` shifted by one step.
    """
    sequence = cfg.head == "sequence"
    span = window + cfg.horizon - 1 if sequence else window
    horizon = 1 if sequence else cfg.head_horizon
    need = cfg.max_window + cfg.head_horizon + cfg.validation  # pad to this when asked
    series = []
    for k, z in enumerate(Z):
        pad = need - len(z) if cfg.short == "pad" and len(z) < need else 0
        z = np.concatenate([np.repeat(z[:1], pad, axis=0), z])  # (T + pad, F)
        positions = np.arange(-pad, len(z) - pad)[None]  # from the series' start
        series.append(np.concatenate([z, channels.extras(np.array([k]), positions)[0]], axis=1))
    skip = cfg.level_span(window) - 1 if sequence and cfg.level else 0
    make = partial(Windows, span=span, horizon=horizon, targets=channels.n_targets,
                   level=cfg.level_fn(window, channels.n_columns), sequence=sequence, skip=skip)
    train, val = cut(series, span, horizon, cfg.validation, make)
    flat = train.flat.to(device)
    return (replace(train, flat=flat, starts=train.starts.to(device)),
            replace(val, flat=flat, starts=val.starts.to(device)))
