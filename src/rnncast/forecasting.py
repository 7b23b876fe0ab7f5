"""Forecasting strategies over a trained network, each batched over many series at once.

All functions take windows ``(B, W, C)`` (B series, or B origins) whose first ``F`` channels are
the forecast targets (``F = net.n_outputs``); any further channels are inputs only (covariates,
calendar, series id). A ``level`` function gives each window's offset ``(B, 1, C)``, removed
before the network and added back to its outputs; an ``extend`` function turns predicted targets
``(B, k, F)`` into the full channels of those ``k`` future steps, so they can be fed back. No
function loops over series.

- :func:`recursive_rolling`: the deck's walk-through. Predict one step from the window, append
  the prediction, drop the oldest value, predict again. Re-runs the whole window each step.
- :func:`recursive_stateful`: the same recursion, but the recurrent state is carried: after the
  window, each step feeds only the newest value (``O(W + h)`` cell steps instead of ``O(W·h)``).
- :func:`direct`: one pass, the network emits all ``horizon`` values; longer horizons are
  covered block by block.
- :func:`one_to_many`: from a single vector, unroll the network on its own outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rnncast.ensemble import combine
from rnncast.errors import DataError, ForecastError, SettingError
from rnncast.networks import RecurrentNet

# level(window) -> offset subtracted from inputs and added back to outputs, (B, 1, C)
LevelFn = Callable[[Tensor], Tensor]
# extend(targets (B, k, F), steps already forecast) -> the k future steps' channels (B, k, C)
ExtendFn = Callable[[Tensor, int], Tensor]


def targets_only(values: Tensor, done: int) -> Tensor:
    """No input-only channels: the predicted targets are the whole input."""
    return values


def no_level(window: Tensor) -> Tensor:
    """No level normalisation: a zero offset of the right shape."""
    return window.new_zeros(window.shape[0], 1, window.shape[2])


@torch.no_grad()
def recursive_rolling(
    net: RecurrentNet, window: Tensor, steps: int, level: LevelFn = no_level,
    extend: ExtendFn = targets_only,
) -> Tensor:
    """``window: (B, W, C)`` -> ``(B, steps, F)`` by the deck's append-and-drop recursion."""
    net.eval()
    preds, F = [], net.n_outputs
    for k in range(steps):
        offset = level(window)  # (B, 1, C)
        nxt = net(window - offset)[:, -1:] + offset[..., :F]  # (B, 1, F)
        preds.append(nxt)
        window = torch.cat([window[:, 1:], extend(nxt, k)], dim=1)  # drop the oldest, append
    return torch.cat(preds, dim=1)


@torch.no_grad()
def recursive_stateful(
    net: RecurrentNet, window: Tensor, steps: int, level: LevelFn = no_level,
    extend: ExtendFn = targets_only,
) -> Tensor:
    """Like :func:`recursive_rolling`, carrying the recurrent state; the level stays the one of
    the forecast origin's window."""
    net.eval()
    offset = level(window)  # (B, 1, C), fixed at the origin
    nxt, state = net.step(window - offset)  # (B, F), normalised
    preds = [nxt]
    for k in range(steps - 1):
        # feed back the newest value only; input-only channels carry no offset
        nxt, state = net.step(extend(nxt[:, None], k), state)
        preds.append(nxt)
    return torch.stack(preds, dim=1) + offset[..., : net.n_outputs]


@torch.no_grad()
def direct(
    net: RecurrentNet, window: Tensor, steps: int, level: LevelFn = no_level,
    extend: ExtendFn = targets_only,
) -> Tensor:
    """All steps from one pass per ``net.horizon`` block: ``(B, W, C) -> (B, steps, F)``."""
    net.eval()
    blocks, done = [], 0
    while done < steps:
        offset = level(window)
        block = net(window - offset) + offset[..., : net.n_outputs]  # (B, horizon, F)
        blocks.append(block)
        if done + block.shape[1] < steps:  # continue from the block, as if it were observed
            window = torch.cat([window, extend(block, done)], dim=1)[:, -window.shape[1] :]
        done += block.shape[1]
    return torch.cat(blocks, dim=1)[:, :steps]


@torch.no_grad()
def one_to_many(net: RecurrentNet, x: Tensor, steps: int) -> Tensor:
    """From one vector per series, ``x: (B, F)``, produce ``(B, steps, F)`` by feeding the
    network its own outputs (the deck's vector-to-sequence shape)."""
    return recursive_stateful(net, x[:, None], steps)


STRATEGIES = {"recursive": recursive_rolling, "stateful": recursive_stateful, "direct": direct}


def check_finite(values: np.ndarray, ids: list[str] | None) -> None:
    """A forecast ``(B, h, F)`` with NaN or infinite values is an error naming the series
    (``ids``; None for one unnamed series), never a result."""
    bad = ~np.isfinite(values).all(axis=(1, 2))
    if bad.any():
        k = int(np.argmax(bad))
        name = f"series '{ids[k]}'" if ids else "the series"
        more = f"; {int(bad.sum())} series in all" if bad.sum() > 1 else ""
        raise ForecastError(f"the forecast of {name} is not finite (NaN or infinite values): the "
                            "data's scale overflows the model (rescale it, or use the log "
                            f"transform){more}")


def last_windows(panel, transforms, channels, cfg, series: np.ndarray | None = None
                 ) -> np.ndarray:
    """The last ``cfg.max_window`` scaled points of every series of ``panel`` with their
    input-only channels, padded at the start with the first one if short: ``(N, W, C)``.
    ``series``: which of the fitted series ``panel``'s are (default: all, in order)."""
    W, short = cfg.max_window, panel.lengths < cfg.max_window
    if short.any() and cfg.short != "pad":
        raise DataError(f"need at least window = {W} points to forecast, got "
                        f"{panel.lengths[short][0]}")
    rows, positions = panel.last_rows(W)  # (N, W): a padded row repeats the first
    series = np.arange(len(panel)) if series is None else np.asarray(series)
    z = transforms.forward_rows(series, panel.values[rows], positions)
    nominal = panel.ends[:, None] - W + np.arange(W)  # where the padded steps would be
    return np.concatenate([z, channels.extras(series, nominal)], axis=2)  # (N, W, C)


def usable(cfg, strategy: str | None, steps: int, covariates: bool) -> str:
    """The strategy a model fitted with ``cfg`` forecasts ``steps`` with (its own by default);
    an error when it cannot: a direct head does not run recursively, and covariates are unknown
    past the origin, so with them only one direct block can be forecast."""
    strategy = strategy or cfg.strategy
    if (strategy == "direct") != (cfg.strategy == "direct"):
        raise SettingError(f"a model trained for strategy {cfg.strategy!r} cannot forecast with "
                           f"{strategy!r}")
    if covariates and (strategy != "direct" or steps > cfg.horizon):
        raise DataError("covariates are known only up to the forecast origin: forecast at most "
                        f"horizon = {cfg.horizon} steps")
    return strategy


def chains_blocks(cfg, steps: int) -> bool:
    """Whether a forecast of ``steps`` from a model fitted with ``cfg`` runs its direct head
    three times or more, each block reading the forecasts before it (errors compound)."""
    return cfg.strategy == "direct" and steps > 2 * cfg.horizon


def members(nets: list[RecurrentNet], window: Tensor, steps: int, strategy: str, cfg,
            leveled: int, extend: ExtendFn = targets_only, aggregate: str = "median") -> Tensor:
    """The ensemble's forecast ``(B, steps, F)`` from windows ``(B, W, C)``: each member reads
    its own input length from the end; their median (or mean) on the model's scale."""
    run = STRATEGIES[strategy]
    return combine([run(net, window[:, -net.window :], steps, cfg.level_fn(net.window, leveled),
                        extend) for net in nets], aggregate)


def extender(channels, rows: np.ndarray, ends: np.ndarray) -> ExtendFn:
    """The ``extend`` function of series ``rows`` whose forecasts begin at ``ends``: predicted
    targets → every input channel (calendar and id channels computed for the future steps)."""
    if not channels.n_extra:
        return targets_only

    def extend(values: Tensor, done: int) -> Tensor:
        positions = ends[:, None] + done + np.arange(values.shape[1])  # (B, k)
        extra = torch.as_tensor(channels.extras(rows, positions), dtype=values.dtype,
                                device=values.device)
        return torch.cat([values, extra], dim=2)

    return extend


def frame(panel, values: np.ndarray, columns: list[str], horizon: int):
    """The forecast ``(N, horizon, K)`` as pandas: for one series a Series (one column) or a
    DataFrame indexed by the future times; for many a long table (id, time, one column each)."""
    labels = panel.next_labels(horizon)  # (N·horizon,)
    if panel.single:
        out = pd.DataFrame(values[0], index=labels, columns=columns)
        return out.iloc[:, 0] if out.shape[1] == 1 else out
    long = {panel.id_name: np.repeat(np.asarray(panel.ids, dtype=object), horizon),
            panel.time_name or "time": labels.to_numpy()}
    long.update(zip(columns, values.reshape(-1, values.shape[2]).T, strict=True))
    return pd.DataFrame(long)
