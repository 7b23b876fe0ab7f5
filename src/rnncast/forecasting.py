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
- :func:`direct`: one pass, the network emits its whole head; a longer forecast is covered
  block by block.

Nothing here trains: the forecast path imports no training code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rnncast import covariates
from rnncast.errors import DataError, ForecastError, SettingError
from rnncast.networks import RecurrentNet
from rnncast.plan import Plan, no_level
from rnncast.rules import freq_words, season_head

log = logging.getLogger(__name__)

# level(window) -> offset subtracted from inputs and added back to outputs, (B, 1, C)
LevelFn = Callable[[Tensor], Tensor]
# extend(targets (B, k, F), steps already forecast) -> the k future steps' channels (B, k, C)
ExtendFn = Callable[[Tensor, int], Tensor]


AGGREGATES = ("median", "mean")


def targets_only(values: Tensor, done: int) -> Tensor:
    """No input-only channels: the predicted targets are the whole input."""
    return values


def combine(forecasts: list[Tensor], aggregate: str = "median") -> Tensor:
    """The members' forecasts ``(B, h, F)`` each, combined element-wise. torch's own median is
    the lower middle value for an even count; quantile 0.5 averages the two middle ones."""
    stacked = torch.stack(forecasts)
    return stacked.quantile(0.5, dim=0) if aggregate == "median" else stacked.mean(0)


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
        x = window - offset
        if net.known:  # the known inputs (future covariates) of the step it predicts
            x = torch.cat([x, extend(x.new_zeros(len(x), 1, F), k)], dim=1)
        nxt = net(x)[:, -1:] + offset[..., :F]  # (B, 1, F)
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
    """All steps from one pass per block of ``net.horizon``: ``(B, W, C) -> (B, steps, F)``
    (``(B, steps, F, Q)`` for a network of ``Q`` quantile levels, continued from the median; a
    later block's distances from its median add, in quadrature, the previous block's last: it
    starts from a forecast, not from data)."""
    net.eval()
    blocks, done, F, carry = [], 0, net.n_outputs, None
    while done < steps:
        offset = level(window)
        x = window - offset
        if net.known:  # the block's known inputs (future covariates, calendar) after the window
            x = torch.cat([x, extend(x.new_zeros(len(x), net.horizon, F), done)], dim=1)
        block = net(x)
        block = block + (offset[..., :F, None] if net.levels else offset[..., :F])
        if net.levels:
            centre = block[..., net.levels.index(0.5), None]
            spread = block - centre  # (B, horizon, F, Q)
            if carry is not None:
                spread = torch.sign(spread) * torch.sqrt(spread ** 2 + carry[:, None] ** 2)
            block, carry = centre + spread, spread[:, -1]
        blocks.append(block)  # (B, horizon, F) or (B, horizon, F, Q)
        point = block[..., net.levels.index(0.5)] if net.levels else block
        if done + block.shape[1] < steps:  # continue from the block, as if it were observed
            window = torch.cat([window, extend(point, done)], dim=1)[:, -window.shape[1] :]
        done += block.shape[1]
    return torch.cat(blocks, dim=1)[:, :steps]


STRATEGIES = {"recursive": recursive_rolling, "stateful": recursive_stateful, "direct": direct}
CHUNK = 4096  # series forecast at a time (the activations of 4,096 windows take ~150 MB)
LAST_YEAR = 9999  # of a forecast's dates (matplotlib's and most readers' last)


def point(scaled: np.ndarray, plan: Plan) -> np.ndarray:
    """The point forecast ``(B, h, F)`` of a forecast that may hold quantiles ``(B, h, F, Q)``:
    their median."""
    return scaled[..., plan.quantiles.index(0.5)] if scaled.ndim == 4 else scaled


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


def last_windows(panel, transforms, channels, plan: Plan, series: np.ndarray | None = None
                 ) -> np.ndarray:
    """The last ``plan.max_window`` scaled points of every series of ``panel`` with their
    input-only channels, padded at the start with the first one if short: ``(N, W, C)``.
    ``series``: which of the fitted series ``panel``'s are (default: all, in order)."""
    W, short = plan.max_window, panel.lengths < plan.max_window
    if short.any() and plan.short != "pad":
        raise DataError(f"need at least window = {W} points to forecast, got "
                        f"{panel.lengths[short][0]}")
    rows, positions = panel.last_rows(W)  # (N, W): a padded row repeats the first
    series = np.arange(len(panel)) if series is None else np.asarray(series)
    z = transforms.forward_rows(series, panel.values[rows], positions)
    nominal = panel.ends[:, None] - W + np.arange(W)  # where the padded steps would be
    return np.concatenate([z, channels.extras(series, nominal)], axis=2)  # (N, W, C)


def usable(plan: Plan, strategy: str | None, steps: int, covariates: bool) -> str:
    """The strategy a model fitted with ``plan`` forecasts ``steps`` with (its own by default);
    an error when it cannot: a direct head does not run recursively, and covariates are unknown
    past the origin, so with them only one direct block can be forecast."""
    strategy = strategy or plan.strategy
    if (strategy == "direct") != (plan.strategy == "direct"):
        raise SettingError(f"a model trained for strategy {plan.strategy!r} cannot forecast with "
                           f"{strategy!r}")
    if covariates and (strategy != "direct" or steps > plan.head):
        raise DataError("covariates are known only up to the forecast origin: forecast at most "
                        f"{plan.head} steps (the model's head), or fit with --head {steps}")
    return strategy


def chains_blocks(plan: Plan, steps: int) -> bool:
    """Whether a forecast of ``steps`` from a model fitted with ``plan`` runs its direct head
    three times or more, each block reading the forecasts before it (errors compound)."""
    return plan.strategy == "direct" and steps > 2 * plan.head


def say_if_chained(plan: Plan, steps: int) -> None:
    """Say when a forecast of ``steps`` chains the direct head's blocks (:func:`chains_blocks`):
    a warning for a head set by hand, a note for the recipe's own (one season, by design)."""
    if chains_blocks(plan, steps):
        mine = plan.head in (season_head(plan.season), plan.second_season)
        log.log(logging.INFO if mine else logging.WARNING, "forecasting %d steps with a model "
                "trained for %d: every step past %d feeds on earlier forecasts, so errors "
                "compound; fit with --head %d for a direct forecast", steps, plan.head, plan.head,
                steps)


def members(nets: list[RecurrentNet], window: Tensor, steps: int, strategy: str, plan: Plan,
            leveled: int, extend: ExtendFn = targets_only, aggregate: str = "median") -> Tensor:
    """The ensemble's forecast ``(B, steps, F)`` from windows ``(B, W, C)``: each member reads
    its own input length from the end; their median (or mean) on the model's scale."""
    run = STRATEGIES[strategy]
    return combine([run(net, window[:, -net.window :], steps, plan.level_fn(net.window, leveled),
                        extend) for net in nets], aggregate)


def forecast_panel(nets: list[RecurrentNet], panel, transforms, channels, plan: Plan, steps: int,
                   strategy: str | None = None, aggregate: str = "median", device="cpu",
                   series: np.ndarray | None = None, future: np.ndarray | None = None
                   ) -> np.ndarray:
    """The ensemble ``nets``' forecast of ``steps`` past every series of ``panel`` (laid out as
    the fitted data; ``series``: which of the fitted series they are, default all in order), on
    the model's scale: ``(N, steps, F)``, :data:`CHUNK` series at a time so that memory stays
    bounded for any number of series. ``future``: the future covariates over the forecast,
    ``(N, steps, K)`` on the model's scale."""
    strategy = usable(plan, strategy, steps, len(plan.covariates) > 0)
    window = torch.as_tensor(last_windows(panel, transforms, channels, plan, series),
                             dtype=torch.float32, device=device)  # (N, W, C)
    rows = np.arange(len(panel)) if series is None else np.asarray(series)
    ends = panel.ends  # where each forecast begins
    parts = [members(nets, window[k : k + CHUNK], steps, strategy, plan, channels.leveled,
                     extender(channels, rows[k : k + CHUNK], ends[k : k + CHUNK],
                              None if future is None else future[k : k + CHUNK]), aggregate)
             for k in range(0, len(panel), CHUNK)]
    return torch.cat(parts).double().cpu().numpy()


def one_net(model, net: RecurrentNet, steps: int, rows: np.ndarray, drop: int = 0,
            bands: bool = False) -> np.ndarray:
    """One network's forecast (for instance one being trained), on ``model``'s scale, of
    ``steps`` past its fitted series ``rows`` without their last ``drop`` points:
    ``(len(rows), steps, F)`` (``bands``: with its quantiles, ``(…, F, Q)``); the future
    covariates, if any, from the points dropped."""
    whole = model.panel.take(rows)
    part = whole.head(drop) if drop else whole
    known = covariates.scaled(model.transforms, model.channels.known.start, covariates.ahead(
        model.plan, part, whole.tail(drop), steps, model.long[:2]), rows) if drop else None
    was_training = net.training
    out = forecast_panel([net], part, model.transforms, model.channels, model.plan, steps, None,
                         model.aggregate, model.device, rows, known)
    net.train(was_training)
    return out if bands else point(out, model.plan)


def held_out(model, early: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """``model``'s early-stopped members' combined forecast of the held-out ends of its series
    ``rows`` (``early``: each member's, on the model's scale), in original units."""
    scaled = combine([torch.from_numpy(e) for e in early], model.aggregate).numpy()
    ends = model.panel.take(rows).head(model.plan.validation).ends
    return model.transforms.inverse_all(scaled[..., : model.n_targets], ends, rows)


def extender(channels, rows: np.ndarray, ends: np.ndarray, future: np.ndarray | None = None
             ) -> ExtendFn:
    """The ``extend`` function of series ``rows`` whose forecasts begin at ``ends``: predicted
    targets → every input channel (past covariates zero, as unknown; future covariates from
    ``future (B, steps, K)``; calendar and id channels computed for the future steps)."""
    if not channels.n_extra and not channels.n_future:
        return targets_only
    F, C = channels.n_targets, channels.n_columns

    def extend(values: Tensor, done: int) -> Tensor:
        k = values.shape[1]
        parts = [values, values.new_zeros(len(values), k, C - F - channels.n_future)]
        if channels.n_future:  # a last block past the forecast reads the last values again
            known = future[:, np.minimum(np.arange(done, done + k), future.shape[1] - 1)]
            parts.append(torch.as_tensor(known, dtype=values.dtype, device=values.device))
        if channels.n_extra:
            positions = ends[:, None] + done + np.arange(k)  # (B, k)
            parts.append(torch.as_tensor(channels.extras(rows, positions), dtype=values.dtype,
                                         device=values.device))
        return torch.cat(parts, dim=2)

    return extend


def check_reach(panel, steps: int) -> None:
    """Refuse a forecast whose dates would run past :data:`LAST_YEAR` (before computing it)."""
    if panel.clock.kind != "dates":
        return
    try:
        late = panel.clock.labels(panel.lengths + steps - 1, 1).max().year > LAST_YEAR
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        late = True
    if late:
        raise DataError(f"a forecast of {steps:,} {freq_words(panel.freq)} steps runs past the year "
                        f"{LAST_YEAR}, the last one dates are written and drawn for; forecast "
                        "fewer steps")


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
