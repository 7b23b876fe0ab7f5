"""The training loop: mini-batches, loss, clipping, validation, early stopping, NaN guard.

It knows nothing of series or scaling: it fits ``net(X) ≈ Y`` on tensors already shaped for the
network's head, and reports each epoch to an optional callback.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnncast.errors import SettingError, TrainingDiverged, bounded

log = logging.getLogger(__name__)

LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": lambda pred, target: F.huber_loss(pred, target, delta=1.0),
}
OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class TrainConfig:
    """How to train: Adam (or plain SGD) on ``loss``, early stopping on the validation loss."""

    epochs: int = 300
    batch_size: int | None = None  # None: follows the data (see auto_batch)
    lr: float = 3e-3
    loss: str = "mse"
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
        if self.optimizer not in OPTIMIZERS:
            raise SettingError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.lr <= 0:
            raise SettingError(f"lr must be > 0, got {self.lr}")
        for name in ("clip_norm", "clip_value", "spike_guard"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise SettingError(f"{name} must be > 0 or None, got {value}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EpochInfo:
    """What the callback receives after every epoch."""

    epoch: int
    loss: float
    val_loss: float | None
    elapsed: float
    net: nn.Module
    member: int = 0  # which ensemble member is training


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


def auto_batch(windows: int) -> int:
    """Windows per batch when not given: 32 up to 45,000 training windows, 64, then 128 from
    90,000: larger batches share well across cores, and beyond 128 the activations outgrow the
    CPU's caches and throughput falls (benchmarks/threads.py)."""
    return int(min(128, max(32, 2 ** round(math.log2(max(windows, 1) / 1000)))))


def auto_budget(windows: int) -> int:
    """The most windows one training run visits when not given: ten passes over the training
    windows, at least 100,000 and at most 1,500,000 (a fit's cost bounded for any data;
    measured: benchmarks/scale.py)."""
    return int(min(1_500_000, max(100_000, 10 * windows)))


def auto_threads(batch: int) -> int:
    """PyTorch threads when not given, for batches of ``batch`` windows: one for small batches
    (these small networks gain nothing from more threads); from 128 windows on, the cores that
    other work leaves idle now, as a busy core makes every thread wait. Measured in
    benchmarks/threads.py: batch 128 on 2 cores, 23,000 windows/s on one thread, 43,000 on two
    when idle, 10,000 on two beside a busy process."""
    if batch < 128:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, round(idle_cores(cores))))


def idle_cores(cores: int, seconds: float = 0.2) -> float:
    """How many of the machine's cores no process used over the next ``seconds`` (from
    ``/proc/stat``; ``cores`` where the system does not say)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, all

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return float(cores)
    share = (idle1 - idle0) / max(total1 - total0, 1)
    return share * (os.cpu_count() or cores)


@contextmanager
def threads(count: int | None):
    """PyTorch's CPU threads set to ``count`` (None: one, until :func:`auto_threads` knows
    the batch) for a while, then set back."""
    before = torch.get_num_threads()
    torch.set_num_threads(count or 1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_everything(seed: int) -> None:
    """Seed torch's generators (CPU and CUDA) so two runs on one machine match."""
    torch.manual_seed(seed)


class Batches(Protocol):
    """Training pairs that batches are taken from: :class:`Pairs`, or windows sampled from a
    flat array (:class:`rnncast.sampling.Windows`)."""

    def __len__(self) -> int: ...

    def take(self, index: Tensor) -> tuple[Tensor, Tensor]: ...


@dataclass(frozen=True)
class Pairs:
    """Pairs held as two tensors: pair ``k`` is ``(X[k], Y[k])``."""

    X: Tensor
    Y: Tensor

    def __len__(self) -> int:
        return len(self.X)

    def take(self, index: Tensor) -> tuple[Tensor, Tensor]:
        return self.X[index], self.Y[index]


def _batches(data, Y: Tensor | None = None) -> Batches:
    if isinstance(data, tuple):
        return Pairs(*data)
    return data if Y is None else Pairs(data, Y)


def train(
    net: nn.Module,
    X: Tensor | Batches,
    Y: Tensor | None,
    config: TrainConfig,
    validation: tuple[Tensor, Tensor] | Batches | None = None,
    callback: Callable[[EpochInfo], None] | None = None,
    epochs: int | None = None,
) -> History:
    """Fit ``net(X) ≈ Y`` (or on the pairs ``X`` takes batches from, with ``Y`` None);
    early-stop on ``validation`` when given (else run all epochs). An epoch visits every pair,
    or ``config.windows_per_epoch`` drawn at random when there are more; epochs end once
    ``config.max_windows`` windows have been visited.

    ``epochs`` overrides ``config.epochs`` (used to refit for the number of epochs that early
    stopping found). Raises :class:`TrainingDiverged` when the loss becomes NaN or infinite.
    """
    data = _batches(X, Y)
    validation = None if validation is None else _batches(validation)
    loss_fn = LOSSES[config.loss]
    optimizer = OPTIMIZERS[config.optimizer](net.parameters(), lr=config.lr,
                                             weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=config.lr_decay, patience=max(1, config.patience // 4)
    )
    rng = np.random.default_rng(config.seed)
    n, history = len(data), History()
    batch_size = config.batch_size or auto_batch(n)
    per_epoch = min(n, config.windows_per_epoch)
    budget = config.max_windows or auto_budget(n)
    limit = min(epochs or config.epochs, max(1, math.ceil(budget / max(per_epoch, 1))))
    best_state, best = None, math.inf
    start, bad_epochs = time.perf_counter(), 0
    guard = SpikeGuard(config.spike_guard)
    parameters = list(net.parameters())
    for epoch in range(1, limit + 1):
        net.train()
        if n <= config.windows_per_epoch:
            order = torch.from_numpy(rng.permutation(n))
        else:
            order = torch.from_numpy(rng.integers(0, n, config.windows_per_epoch))
        total = 0.0
        for batch in order.split(batch_size):
            xb, yb = data.take(batch)
            loss = loss_fn(net(xb), yb)
            value = loss.item()  # the one read-back of the step
            if not math.isfinite(value):
                error = TrainingDiverged(
                    f"training diverged at epoch {epoch}: the loss became {value}; "
                    "lower the learning rate or turn on gradient clipping"
                )
                error.history = history  # what happened up to here
                raise error
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            history.steps += 1
            grads = [p.grad for p in parameters if p.grad is not None]
            norm = float(nn.utils.get_total_norm(grads))  # once per step, for guard and clipping
            if guard.should_skip(norm):
                history.skipped_steps += 1
                log.info("skipped step %d: gradient norm %.3g (recent median %.3g)",
                         history.steps, guard.last, guard.median)
                continue
            history.clipped_steps += _clip(net, grads, norm, config)
            optimizer.step()
            total += value * len(batch)
        history.loss.append(total / len(order))
        val = evaluate_loss(net, validation, None, loss_fn) if validation is not None else None
        monitored = val if val is not None else history.loss[-1]
        scheduler.step(monitored)
        if val is not None:
            history.val_loss.append(val)
        if monitored < best - 1e-12:
            best, bad_epochs, history.best_epoch = monitored, 0, epoch
            if validation is not None and config.restore_best:
                best_state = copy.deepcopy(net.state_dict())
        else:
            bad_epochs += 1
        if callback is not None:
            callback(EpochInfo(epoch, history.loss[-1], val, time.perf_counter() - start, net))
        if validation is not None and bad_epochs >= config.patience:
            history.stopped_early = True
            log.info("early stop at epoch %d (best %d)", epoch, history.best_epoch)
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    history.seconds = time.perf_counter() - start
    return history


def evaluate_loss(net: nn.Module, X: Tensor | Batches, Y: Tensor | None,
                  loss_fn: Callable | str = "mse", chunk: int = 4096) -> float:
    """Mean loss of ``net`` on ``(X, Y)`` (or the pairs ``X`` holds) in evaluation mode, without
    gradients, ``chunk`` pairs at a time."""
    if isinstance(loss_fn, str):
        loss_fn = LOSSES[loss_fn]
    data = _batches(X, Y)
    was_training = net.training
    net.eval()
    total = 0.0
    with torch.no_grad():
        for index in torch.arange(len(data)).split(chunk):
            xb, yb = data.take(index)
            total += loss_fn(net(xb), yb).item() * len(index)
    net.train(was_training)
    return total / len(data)


class SpikeGuard:
    """Flags a step whose gradient norm is not finite, or exceeds ``factor`` times the median
    of the last 50 finite norms (after 20 steps), so the step can be skipped instead of taken.

    Skipped norms still enter the window: a lasting rise of the gradient scale (as when a model
    leaves a plateau) is accepted once it fills half the window, while a lone spike never moves
    the median."""

    def __init__(self, factor: float | None, window: int = 50, warmup: int = 20) -> None:
        self.factor, self.window, self.warmup = factor, window, warmup
        self.norms: list[float] = []  # the last `window` finite norms
        self.seen = 0  # finite norms seen so far
        self.last = self.median = float("nan")

    def should_skip(self, norm: float) -> bool:
        """``norm``: this step's total gradient norm."""
        self.last = norm
        if not math.isfinite(norm):
            return True
        self.median = statistics.median(self.norms) if self.norms else float("nan")  # 50 floats
        spike = (self.factor is not None and self.seen >= self.warmup
                 and norm > self.factor * self.median)
        self.norms = [*self.norms[-(self.window - 1) :], norm]  # the last `window` norms
        self.seen += 1
        return spike


def _clip(net: nn.Module, grads: list[Tensor], norm: float, config: TrainConfig) -> int:
    """Clip gradients as configured; 1 when this step was clipped, else 0. ``norm`` is the
    total norm of ``grads`` before any clipping."""
    clipped = 0
    if config.clip_value is not None:
        clipped = int(any(g.abs().max() > config.clip_value for g in grads))
        nn.utils.clip_grad_value_(net.parameters(), config.clip_value)  # in place: grads too
        if clipped:
            norm = float(nn.utils.get_total_norm(grads))  # the value clip changed it
    if config.clip_norm is not None and norm > config.clip_norm:
        nn.utils.clip_grads_with_norm_(net.parameters(), config.clip_norm, torch.tensor(norm))
        clipped = 1
    return clipped
