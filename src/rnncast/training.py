"""The training loop: mini-batches, loss, clipping, validation, early stopping, NaN guard.

It knows nothing of series or scaling: it fits ``net(X) ≈ Y`` on tensors already shaped for the
network's head, and reports each epoch to an optional callback.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnncast import distributed, gradients
from rnncast.errors import DataError, SettingError, TrainingDiverged, bounded
from rnncast.gradients import SpikeGuard, clip
from rnncast.history import EpochInfo, History

log = logging.getLogger(__name__)

LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": lambda pred, target: F.huber_loss(pred, target, delta=1.0),
}
OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
# How processes training together (torchrun) share an ensemble's work: "members": each trains
# whole members on its own, no traffic until the end; "batches": every member data-parallel.
PARALLEL = ("auto", "members", "batches")
MAX_LR = 10.0  # a larger step makes any of these networks diverge
MAX_WEIGHT = 1e6  # far beyond sane training: Adam moves a weight ~lr a step (3e-3 × ≤ 50,000)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: Adam (or plain SGD) on ``loss``, early stopping on the validation loss."""

    epochs: int = 300
    batch_size: int | None = None  # None: follows the data (see auto_batch)
    lr: float = 3e-3
    loss: str = "mae"  # the absolute error: on every M3 frequency of the development collection
    # it beat the squared error (README, "What the defaults choose")
    patience: int = 40
    restore_best: bool = True
    clip_norm: float | None = 1.0
    clip_value: float | None = None
    weight_decay: float = 0.0
    lr_decay: float = 0.5  # multiply the learning rate by this after patience/4 epochs of no gain
    spike_guard: float | None = 10.0  # skip a step whose gradient norm tops this × the recent median
    seed: int = 0
    optimizer: str = "adam"  # or "sgd": plain gradient descent, the deck's setting
    # An epoch: every window when there are at most this many, else this many drawn at random,
    # so that training cost follows the budget, not the number of windows.
    windows_per_epoch: int = 200_000
    validation_windows: int = 50_000  # a fixed random choice of them when there are more
    # The most windows one training run visits over all its epochs, so that the cost of a fit
    # is bounded whatever the size of the data. None: auto_budget.
    max_windows: int | None = None
    parallel: str = "auto"  # PARALLEL; auto: members when there are at least as many as processes

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise SettingError(f"loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        bounded("epochs", self.epochs, 100_000, "a longer run is a mistake; early stopping ends "
                "far sooner")
        if self.batch_size is not None:
            bounded("batch_size", self.batch_size, 1_000_000, "a batch this large cannot fit in "
                    "memory")
        bounded("patience", self.patience, 100_000, "a longer wait than any run is a mistake")
        bounded("windows_per_epoch", self.windows_per_epoch, 10**9, "an epoch that long never ends")
        bounded("validation_windows", self.validation_windows, 10**9, "too many to score each epoch")
        if self.max_windows is not None:
            bounded("max_windows", self.max_windows, 10**12, "a run that long never ends")
        if self.parallel not in PARALLEL:
            raise SettingError(f"parallel must be one of {', '.join(PARALLEL)}, got {self.parallel!r}")
        if self.optimizer not in OPTIMIZERS:
            raise SettingError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.lr <= 0:
            raise SettingError(f"lr must be > 0, got {self.lr}")
        if self.lr > MAX_LR:
            raise SettingError(f"lr = {self.lr:g} is over the limit of {MAX_LR:g}: a larger step "
                               "makes any network diverge (the default is 0.003)")
        for name in ("clip_norm", "clip_value", "spike_guard"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise SettingError(f"{name} must be > 0 or None, got {value}")

    def to_dict(self) -> dict:
        return asdict(self)


def auto_batch(windows: int) -> int:
    """Windows per batch when not given: 32 up to 45,000 training windows, 64, then 128 from
    90,000: larger batches share well across cores, and beyond 128 the activations outgrow the
    CPU's caches and throughput falls (benchmarks/threads.py)."""
    return int(min(128, max(32, 2 ** round(math.log2(max(windows, 1) / 1000)))))


STEPS = 22_000_000  # window steps one run visits at most: the largest budget of the development
# collection (M3 monthly's training parts: ten passes over 60,212 windows of 36 steps), so that it
# binds on long windows only, such as a half-hourly series' three days (scale.py --half-hourly)


def auto_budget(windows: int, span: int = 1) -> int:
    """The most windows one training run visits when not given: ten passes over the training
    windows, at least 100,000 and at most 1,500,000, and at most :data:`STEPS` steps of input
    in all for windows of ``span`` steps (a fit's cost bounded for any data, as its cost grows
    with the steps; measured: benchmarks/scale.py)."""
    return int(min(1_500_000, max(100_000, 10 * windows), STEPS // max(span, 1)))


def seed_everything(seed: int) -> None:
    """Seed torch's generators (CPU and CUDA) so two runs on one machine match."""
    torch.manual_seed(seed)


class Batches(Protocol):
    """Training pairs that batches are taken from: :class:`Pairs`, or windows sampled from a
    flat array (:class:`rnncast.sampling.Windows`)."""

    span: int  # input steps of one pair: what one pair costs

    def __len__(self) -> int: ...

    def take(self, index: Tensor) -> tuple[Tensor, Tensor]: ...


@dataclass(frozen=True)
class Pairs:
    """Pairs held as two tensors: pair ``k`` is ``(X[k], Y[k])``."""

    X: Tensor
    Y: Tensor

    @property
    def span(self) -> int:
        return self.X.shape[1]

    def __len__(self) -> int:
        return len(self.X)

    def take(self, index: Tensor) -> tuple[Tensor, Tensor]:
        return self.X[index], self.Y[index]


def _batches(data, Y: Tensor | None = None) -> Batches:
    if isinstance(data, tuple):
        return Pairs(*data)
    return data if Y is None else Pairs(data, Y)


@dataclass
class Loop:
    """What a training run carries from one epoch to the next: what a checkpoint holds."""

    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    rng: np.random.Generator  # draws each epoch's order of windows
    guard: SpikeGuard
    history: History = field(default_factory=History)
    epoch: int = 0  # epochs finished
    best: float = math.inf
    bad_epochs: int = 0
    best_state: dict[str, Tensor] | None = None
    grads: Tensor | None = None  # one buffer behind every weight's gradient (gradients.flatten)


class Saver(Protocol):
    """Where a run's state goes after every epoch and comes back from on a resume
    (:class:`rnncast.checkpoints.Slot`)."""

    def save(self, loop: Loop) -> None: ...

    def restore(self, loop: Loop) -> bool: ...


def train(
    net: nn.Module,
    X: Tensor | Batches,
    Y: Tensor | None,
    config: TrainConfig,
    validation: tuple[Tensor, Tensor] | Batches | None = None,
    callback: Callable[[EpochInfo], None] | None = None,
    epochs: int | None = None,
    saver: Saver | None = None,
    ranks: distributed.Group | None = None,
) -> History:
    """Fit ``net(X) ≈ Y`` (or on the pairs ``X`` takes batches from, with ``Y`` None);
    early-stop on ``validation`` when given (else run all epochs). An epoch visits every pair,
    or ``config.windows_per_epoch`` drawn at random when there are more; epochs end once
    ``config.max_windows`` windows have been visited.

    ``epochs`` overrides ``config.epochs`` (used to refit for the number of epochs that early
    stopping found); ``saver`` keeps the state after every epoch and resumes from it. In a
    torch.distributed group (``ranks``, default: the running one) each rank takes its share of
    every batch (DistributedDataParallel).
    Raises :class:`TrainingDiverged` when the loss becomes NaN or infinite, or a weight grows past
    :data:`MAX_WEIGHT` (a model that would forecast nonsense is never returned)."""
    data = _batches(X, Y)
    if not len(data):
        raise DataError("nothing to train on: no series holds a window and the steps after it; "
                        "use a shorter window or head")
    validation = None if validation is None else _batches(validation)
    loss_fn = net.loss_fn if getattr(net, "levels", ()) else LOSSES[config.loss]
    ranks = ranks or distributed.group()
    flat = gradients.flatten(net) if ranks.world == 1 and _device(net).type == "cpu" else None
    optimizer = OPTIMIZERS[config.optimizer]([flat] if flat is not None else net.parameters(), lr=config.lr,
                                             weight_decay=config.weight_decay)  # flat: one step
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=config.lr_decay, patience=max(1, config.patience // 4))
    loop = Loop(net, optimizer, scheduler, np.random.default_rng(config.seed),
                SpikeGuard(config.spike_guard), grads=None if flat is None else flat.grad)
    try:
        return _run(loop, data, validation, loss_fn, config, callback, epochs, saver, ranks)
    finally:
        if flat is not None:
            gradients.unflatten(net)


def _run(loop: Loop, data: Batches, validation: Batches | None, loss_fn: Callable,
         config: TrainConfig, callback: Callable[[EpochInfo], None] | None, epochs: int | None,
         saver: Saver | None, ranks: distributed.Group) -> History:
    """:func:`train`'s epochs, from a resumed state when ``saver`` holds one."""
    net = loop.net
    if saver is not None and saver.restore(loop):
        log.info("resumed after epoch %d", loop.epoch)
    model = ranks.wrap(net)
    n = len(data)
    batch_size = config.batch_size or auto_batch(n)
    per_epoch = min(n, config.windows_per_epoch)
    budget = config.max_windows or auto_budget(n, data.span)
    limit = min(epochs or config.epochs, max(1, math.ceil(budget / max(per_epoch, 1))))
    start = time.perf_counter() - loop.history.seconds
    history = loop.history
    while loop.epoch < limit and not history.stopped_early:
        loop.epoch += 1
        epoch = loop.epoch
        net.train()
        if n <= config.windows_per_epoch:
            order = torch.from_numpy(loop.rng.permutation(n))
        else:
            order = torch.from_numpy(loop.rng.integers(0, n, config.windows_per_epoch))
        order = order.to(_device(net))
        total = _epoch(model, data, order, batch_size, loss_fn, config, loop, ranks)
        history.loss.append(total / len(order))
        val = None
        if validation is not None:
            val = evaluate_loss(net, validation, None, loss_fn, ranks=ranks)
        monitored = val if val is not None else history.loss[-1]
        loop.scheduler.step(monitored)
        if val is not None:
            history.val_loss.append(val)
        if monitored < loop.best - 1e-12:
            loop.best, loop.bad_epochs, history.best_epoch = monitored, 0, epoch
            if validation is not None and config.restore_best:
                loop.best_state = copy.deepcopy(net.state_dict())
        else:
            loop.bad_epochs += 1
        if validation is not None and loop.bad_epochs >= config.patience:
            history.stopped_early = True
            log.info("early stop at epoch %d (best %d)", epoch, history.best_epoch)
        history.seconds = time.perf_counter() - start
        if saver is not None:
            saver.save(loop)
        if callback is not None:
            callback(EpochInfo(epoch, history.loss[-1], val, history.seconds, net, limit=limit,
                               left=limit - epoch))
            if loop.grads is not None:  # the callback may have dropped the gradients' views
                gradients.regrad(net, loop.grads)
    if loop.best_state is not None:
        net.load_state_dict(loop.best_state)
    net.eval()
    history.seconds = time.perf_counter() - start
    _check_weights(net, config.lr, history)
    return history


def _check_weights(net: nn.Module, lr: float, history: History) -> None:
    """Refuse a trained ``net`` with a weight beyond :data:`MAX_WEIGHT`: it forecasts nonsense."""
    with torch.no_grad():
        largest = max((float(p.abs().max()) for p in net.parameters() if p.numel()), default=0.0)
    if not math.isfinite(largest) or largest > MAX_WEIGHT:
        error = TrainingDiverged(f"training diverged: a weight reached {largest:.3g} with learning "
                                 f"rate {lr:g}; lower the learning rate (--lr)")
        error.history = history
        raise error


def _epoch(model: nn.Module, data: Batches, order: Tensor, batch_size: int, loss_fn: Callable,
           config: TrainConfig, loop: Loop, ranks: distributed.Group) -> float:
    """One pass over the windows ``order``; the summed loss of the steps taken, over all ranks.
    The steps' losses stay on the device until the end of the pass; so does the gradient norm
    unless a host decision needs it each step (see :func:`reads_each_step`)."""
    history, guard = loop.history, loop.guard
    parameters = list(loop.net.parameters())
    device = parameters[0].device
    each_step = reads_each_step(config, device)
    losses: list[Tensor] = []
    sizes: list[int] = []
    clipped: list[Tensor] = []
    for batch in order.split(batch_size):
        mine = ranks.share(batch)
        size = len(mine)
        if not size:  # a batch smaller than the group: this rank joins with a weight of zero
            mine = batch[:1]
        xb, yb = data.take(mine)
        loss = loss_fn(model(xb), yb)
        if loop.grads is not None:
            loop.grads.zero_()  # the flat buffer the weights' gradients are views of
        else:
            loop.optimizer.zero_grad(set_to_none=True)
        # DistributedDataParallel averages the ranks' gradients: weigh each by its share so the
        # step is that of the whole batch in one process.
        (loss * (size * ranks.world / len(batch)) if ranks.world > 1 else loss).backward()
        history.steps += 1
        grads = [p.grad for p in parameters if p.grad is not None]
        if not each_step:  # clip on the device, count at the end
            norm_t = nn.utils.get_total_norm(grads)
            if config.clip_norm is not None:
                nn.utils.clip_grads_with_norm_(parameters, config.clip_norm, norm_t)
                clipped.append(norm_t > config.clip_norm)
            loop.optimizer.step()
            losses.append(loss.detach())
            sizes.append(size)
            continue
        norm = float(nn.utils.get_total_norm(grads))  # the same on every rank (after DDP)
        if not math.isfinite(norm):
            _check_finite(float(loss.detach()), loop.epoch, history, ranks, device)
        if guard.should_skip(norm):
            history.skipped_steps += 1
            log.info("skipped step %d: gradient norm %.3g (recent median %.3g)",
                     history.steps, guard.last, guard.median)
            continue
        history.clipped_steps += clip(loop.net, grads, norm, config.clip_value, config.clip_norm)
        loop.optimizer.step()
        losses.append(loss.detach())
        sizes.append(size)
    if clipped:
        history.clipped_steps += int(torch.stack(clipped).sum())
    values = torch.stack(losses).double().cpu().tolist() if losses else []
    total = 0.0
    for value, size in zip(values, sizes, strict=True):
        total += value * size
    (total,) = ranks.sum([total], device)
    if not math.isfinite(total):
        _check_finite(total, loop.epoch, history, ranks, device)
    return total


def reads_each_step(config: TrainConfig, device: torch.device) -> bool:
    """Whether each step reads its gradient norm back to the host: on the CPU (free there, and
    clipping only the steps over the limit keeps the numbers as they were), or when the spike
    guard or clipping by value decide per step. On a GPU without them, nothing waits for it."""
    return device.type == "cpu" or config.spike_guard is not None or config.clip_value is not None


def _check_finite(value: float, epoch: int, history: History, ranks: distributed.Group,
                  device: torch.device) -> None:
    """Raise :class:`TrainingDiverged` on every rank when the loss ``value`` is not finite on
    any."""
    (bad,) = ranks.sum([float(not math.isfinite(value))], device)
    if bad:
        error = TrainingDiverged(f"training diverged at epoch {epoch}: the loss became {value}; "
                                 "lower the learning rate or turn on gradient clipping")
        error.history = history  # what happened up to here
        raise error


def _device(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


def evaluate_loss(net: nn.Module, X: Tensor | Batches, Y: Tensor | None,
                  loss_fn: Callable | str = "mse", chunk: int = 4096,
                  ranks: distributed.Group | None = None) -> float:
    """Mean loss of ``net`` on ``(X, Y)`` (or the pairs ``X`` holds) in evaluation mode, without
    gradients, ``chunk`` pairs at a time; in a distributed group each rank scores its share."""
    if isinstance(loss_fn, str):
        loss_fn = LOSSES[loss_fn]
    ranks = ranks or distributed.Group()
    data = _batches(X, Y)
    was_training = net.training
    net.eval()
    total = 0.0
    with torch.no_grad():
        for index in ranks.share(torch.arange(len(data))).split(chunk):
            xb, yb = data.take(index)
            total += loss_fn(net(xb), yb).item() * len(index)
    net.train(was_training)
    (total,) = ranks.sum([total], _device(net))
    return total / len(data)
