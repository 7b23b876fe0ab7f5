"""An ensemble of networks: each member early-stopped on held-out windows, then trained again on
all of them for the epochs it found (their forecasts are combined by
:func:`rnncast.forecasting.combine`, a true median)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from functools import partial

from torch import nn

from rnncast import distributed
from rnncast.checkpoints import Checkpoints
from rnncast.sampling import Windows
from rnncast.training import EpochInfo, History, TrainConfig, auto_batch, train


def train_members(
    members: int,
    windows: Sequence[int],
    sources: dict[int, tuple[Windows, Windows]],
    new_net: Callable[[int, int], nn.Module],
    config: TrainConfig,
    refit: bool | None = None,
    callback: Callable[[EpochInfo], None] | None = None,
    checkpoints: Checkpoints | None = None,
    ranks: distributed.Group | None = None,
    stopped: Callable[[nn.Module], None] | None = None,
) -> tuple[list[nn.Module], list[History]]:
    """Train ``members`` networks; member ``k`` reads ``windows[k % len(windows)]`` steps, starts
    from ``new_net(window, seed)`` with seed ``config.seed + 1000·k``, and trains on that
    window's ``(train, validation)`` windows in ``sources``. With ``refit``, a member that early
    stopping trained is trained again from the same start on all windows, for its best epochs.
    ``refit=None``: only when an epoch visits every window. With more, epochs are samples of
    a larger pool, the held-out windows are a small part of it, and a refit would double the
    cost for data the model mostly never sees anyway. ``checkpoints``: each run saved after
    every epoch, finished members kept; a resume skips those and continues the one under way.
    ``stopped(net)``: called with each member this rank trains, early-stopped and before any
    refit (what it forecasts there has not been trained on the held-out windows).

    In a torch.distributed group (``ranks``), a member is trained by all ranks together, or
    by one alone (``config.parallel``) and then sent to the others: every rank ends with all."""
    ranks = ranks or distributed.group()
    owners = [ranks.owner(member, members, config.parallel) for member in range(members)]
    nets, histories = [], []
    for member, owner in enumerate(owners):
        window = windows[member % len(windows)]
        tc = replace(config, seed=config.seed + 1000 * member,
                     batch_size=config.batch_size or auto_batch(len(sources[window][0])))
        net = new_net(window, tc.seed)
        history = None  # another rank trains this member alone
        if owner is None or owner == ranks.rank:
            alone = owner is not None  # so its checkpoints are this rank's to write
            kept = replace(checkpoints, write=True) if checkpoints and alone else checkpoints
            history = _train_one(member, net, partial(new_net, window), sources[window], tc,
                                 refit, callback, kept, distributed.Group() if alone else ranks,
                                 stopped)
        nets.append(net)
        histories.append(history)
    for member, (net, history, owner) in enumerate(zip(nets, histories, owners, strict=True)):
        if owner is not None:  # every rank takes the member its owner trained
            ranks.broadcast_module(net, owner)
            text = ranks.broadcast_text(json.dumps(asdict(history)) if history else "", owner,
                                        next(net.parameters()).device)
            histories[member] = History(**json.loads(text))
            net.eval()
    return nets, histories


def _train_one(member: int, net: nn.Module, new_net: Callable[[int], nn.Module],
               source: tuple[Windows, Windows], tc: TrainConfig, refit: bool | None,
               callback: Callable[[EpochInfo], None] | None, checkpoints: Checkpoints | None,
               ranks: distributed.Group, stopped: Callable[[nn.Module], None] | None = None
               ) -> History:
    """Train one member into ``net`` (early stopping, then the refit where one is due)."""
    data, held = source
    done = checkpoints.load_finished(member, net) if checkpoints else None
    if done is not None:
        net.eval()
        return done
    again = refit if refit is not None else len(data) <= tc.windows_per_epoch
    validation = held.sample(tc.validation_windows, tc.seed) if len(held) else None
    again = again and validation is not None
    report = None if callback is None else _tagged(callback, member, again)
    saver = checkpoints.slot(member, "train") if checkpoints else None
    history = train(net, data, None, tc, validation, report, saver=saver, ranks=ranks)
    if stopped is not None and validation is not None:
        stopped(net)
    if again:
        net.load_state_dict(new_net(tc.seed).state_dict())  # the same start, trained on all
        saver = checkpoints.slot(member, "refit") if checkpoints else None
        report = None if callback is None else _tagged(callback, member, refit=True)
        train(net, data.joined(held), None, replace(tc, restore_best=False), callback=report,
              epochs=max(1, history.best_epoch), saver=saver, ranks=ranks)
    if checkpoints:
        checkpoints.finish(member, net, history)
    return history


def _tagged(callback: Callable[[EpochInfo], None], member: int, then_refit: bool = False,
            refit: bool = False) -> Callable[[EpochInfo], None]:
    """Pass the ensemble member's number along with each epoch's report, and the epochs a refit
    after this run may still take (at most as many as this run may)."""
    return lambda info: callback(replace(info, member=member, refit=refit,
                                         left=info.left + (info.limit if then_refit else 0)))
