"""An ensemble of networks: each member early-stopped on held-out windows, then trained again on
all of them for the epochs it found, and the members' forecasts combined by a true median."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from torch import nn

from rnncast.checkpoints import Checkpoints
from rnncast.sampling import Windows
from rnncast.training import EpochInfo, History, TrainConfig, auto_batch, train

AGGREGATES = ("median", "mean")


def train_members(
    members: int,
    windows: Sequence[int],
    sources: dict[int, tuple[Windows, Windows]],
    new_net: Callable[[int, int], nn.Module],
    config: TrainConfig,
    refit: bool | None = None,
    callback: Callable[[EpochInfo], None] | None = None,
    checkpoints: Checkpoints | None = None,
) -> tuple[list[nn.Module], list[History]]:
    """Train ``members`` networks; member ``k`` reads ``windows[k % len(windows)]`` steps, starts
    from ``new_net(window, seed)`` with seed ``config.seed + 1000·k``, and trains on that
    window's ``(train, validation)`` windows in ``sources``. With ``refit``, a member that early
    stopping trained is trained again from the same start on all windows, for its best epochs.
    ``refit=None``: only when an epoch visits every window. With more, epochs are samples of
    a larger pool, the held-out windows are a small part of it, and a refit would double the
    cost for data the model mostly never sees anyway. ``checkpoints``: each run saved after
    every epoch, finished members kept; a resume skips those and continues the one under way."""
    nets, histories = [], []
    for member in range(members):
        window = windows[member % len(windows)]
        data, held = sources[window]
        tc = replace(config, seed=config.seed + 1000 * member,
                     batch_size=config.batch_size or auto_batch(len(data)))  # refit: same batch
        again = refit if refit is not None else len(data) <= config.windows_per_epoch
        net = new_net(window, tc.seed)
        done = checkpoints.finished(member) if checkpoints else None
        if done is not None:
            net.load_state_dict(done[0])
            nets.append(net.eval())
            histories.append(done[1])
            continue
        report = None if callback is None else _tagged(callback, member)
        validation = held.sample(tc.validation_windows, tc.seed) if len(held) else None
        saver = checkpoints.slot(member, "train") if checkpoints else None
        history = train(net, data, None, tc, validation, report, saver=saver)
        if validation is not None and again:
            net = new_net(window, tc.seed)
            saver = checkpoints.slot(member, "refit") if checkpoints else None
            train(net, data.joined(held), None, replace(tc, restore_best=False),
                  epochs=max(1, history.best_epoch), saver=saver)
        if checkpoints:
            checkpoints.finish(member, net, history)
        nets.append(net)
        histories.append(history)
    return nets, histories


def combine(forecasts: list[torch.Tensor], aggregate: str = "median") -> torch.Tensor:
    """The members' forecasts ``(B, h, F)`` each, combined element-wise. torch's own median is
    the lower middle value for an even count; quantile 0.5 averages the two middle ones."""
    stacked = torch.stack(forecasts)
    return stacked.quantile(0.5, dim=0) if aggregate == "median" else stacked.mean(0)


def _tagged(callback: Callable[[EpochInfo], None], member: int) -> Callable[[EpochInfo], None]:
    """Pass the ensemble member's number along with each epoch's report."""
    return lambda info: callback(replace(info, member=member))
