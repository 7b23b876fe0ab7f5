"""Data-parallel training on PyTorch's own engine, ``torch.distributed``.

The processes are started by ``torchrun`` (or by what launches it: Spark's TorchDistributor,
Kubernetes' PyTorchJob, Slurm, Ray Train), which describes the group in the environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``). Every rank holds the
whole data and the same random streams; each takes its share of every global batch, and
``DistributedDataParallel`` averages the gradients, so the steps are those of one process with
the same global batch. Losses are summed across ranks here, so every rank makes the same
early-stopping decision. An ensemble may instead be shared out whole: each rank trains every
``world``-th member alone and the finished members are broadcast to all (``Group.owner``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import Tensor, nn

from rnncast import launcher
from rnncast.errors import SettingError, Stopped

DEVICES = ("auto", "cpu", "cuda")
WORKER_TIMEOUT = 300.0  # seconds a worker may go without a sign of life before the job ends
_abort_hooks: list[Callable[[], None]] = []  # run before a job ends from a watchdog


@dataclass(frozen=True)
class Group:
    """Which process this is among ``world`` training together (rank 0 writes the outputs)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, batch: Tensor) -> Tensor:
        """This rank's part of a global batch (every ``world``-th window from ``rank``)."""
        return batch[self.rank :: self.world] if self.world > 1 else batch

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """``values`` summed over the ranks (float64; unchanged in one process)."""
        if self.world == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        if self.world > 1:
            dist.barrier()

    def owner(self, member: int, members: int, parallel: str) -> int | None:
        """The rank that trains ensemble ``member`` alone, or None when all train it together
        (``parallel``: members, batches, or auto: members when there are enough to go round)."""
        alone = parallel == "members" or (parallel == "auto" and members >= self.world)
        return member % self.world if self.world > 1 and alone else None

    def broadcast_module(self, net: nn.Module, owner: int) -> None:
        """Every rank's ``net`` takes ``owner``'s weights (and buffers)."""
        with torch.no_grad():
            for tensor in net.state_dict().values():
                dist.broadcast(tensor, src=owner)

    def broadcast_text(self, text: str, owner: int, device: torch.device) -> str:
        """``owner``'s ``text`` on every rank (as bytes: nothing is unpickled)."""
        data = torch.tensor(list(text.encode()), dtype=torch.uint8, device=device)
        size = torch.tensor([len(data)], dtype=torch.int64, device=device)
        dist.broadcast(size, src=owner)
        if self.rank != owner:
            data = torch.empty(int(size), dtype=torch.uint8, device=device)
        dist.broadcast(data, src=owner)
        return bytes(data.cpu().tolist()).decode()

    def wrap(self, net: nn.Module) -> nn.Module:
        """``net`` as DistributedDataParallel (gradients averaged over the ranks in backward)."""
        if self.world == 1:
            return net
        device = next(net.parameters()).device
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(net, device_ids=ids)


def requested() -> int:
    """How many processes the environment says train together (1 when not under torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def launched_rank() -> int:
    """This process's rank as torchrun set it (0 when not under torchrun); known before the
    group is joined."""
    return int(os.environ.get("RANK", "0") or 0)


def without_workers(argv: list[str]) -> list[str]:
    """``argv`` less its ``--workers N`` (what each process started by torchrun gets)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


def group() -> Group:
    """The group this process trains in: one process unless a process group is running."""
    if dist.is_available() and dist.is_initialized():
        return Group(dist.get_rank(), dist.get_world_size())
    return Group()


def start(device: torch.device, timeout: float | None = None) -> Group:
    """Join the group torchrun describes in the environment (once per process): gloo on the
    CPU, NCCL on CUDA. One process when the environment describes none. Each process then dies
    with its launcher, stops on SIGTERM like on Ctrl-C, and ends the job when another process
    gives no sign of life for ``timeout`` seconds (:data:`WORKER_TIMEOUT`)."""
    if requested() > 1 and not dist.is_initialized():
        if not dist.is_available():
            raise SettingError("this PyTorch build has no torch.distributed")
        _die_with_parent()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
        Watchdog.start_for(timeout or WORKER_TIMEOUT)  # before joining: a peer may never come
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timedelta(minutes=30))
    return group()


def finish() -> None:
    """Leave the group once every rank is done (a process that exits inside it aborts). The
    DistributedDataParallel wrappers, which hold the group, are collected first: a group freed
    only while the interpreter shuts down can leave gloo's threads running, and abort."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        Watchdog.stop_running()
        dist.destroy_process_group()
        gc.collect()


def on_abort(hook: Callable[[], None]) -> None:
    """Run ``hook`` (discard this command's outputs) before a watchdog ends the job."""
    _abort_hooks.append(hook)


def _stop(signum: int, frame) -> None:
    raise Stopped(signum)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent (torchrun's agent) dies, so that no
    worker outlives a killed command; leave at once if the launcher is already gone."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (AttributeError, OSError):  # not Linux
        return
    expected = os.environ.get(launcher.LAUNCHER)
    if expected and os.getppid() != int(expected):
        os._exit(1)


class Watchdog(threading.Thread):
    """Every second, a sign of life in torchrun's store for this process, and a look at the
    others': one whose count has not moved for ``timeout`` seconds (stopped, hung, on a lost
    machine) ends the job, in one line, instead of leaving every other process waiting in a
    collective for gloo's half hour. Counts, not clocks: machines' clocks may differ."""

    running: Watchdog | None = None

    def __init__(self, timeout: float) -> None:
        super().__init__(daemon=True, name="rnncast-watchdog")
        self.timeout, self.halt = timeout, threading.Event()
        self.rank, self.world = launched_rank(), requested()
        run = os.environ.get("TORCHELASTIC_RUN_ID", "run")
        self.prefix = f"rnncast/{run}/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}"
        self.store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]),
                                   is_master=False, timeout=timedelta(seconds=60))

    @classmethod
    def start_for(cls, timeout: float) -> None:
        try:
            cls.running = cls(timeout)
        except (KeyError, ValueError, RuntimeError):  # no store to watch by: go unwatched
            return
        cls.running.start()

    @classmethod
    def stop_running(cls) -> None:
        """This process is done: stop watching, and tell the others not to wait for it."""
        watchdog, cls.running = cls.running, None
        if watchdog is not None:
            watchdog.halt.set()
            watchdog.join()
            with contextlib.suppress(RuntimeError):
                watchdog.store.set(f"{watchdog.prefix}/done/{watchdog.rank}", "1")

    def run(self) -> None:
        # a peer not yet seen may still be starting (importing torch): a minute at least
        start = time.monotonic() + max(0.0, 60.0 - self.timeout)
        peers = {p: (0, start) for p in range(self.world) if p != self.rank}
        with contextlib.suppress(RuntimeError):
            self.store.set(f"{self.prefix}/pid/{self.rank}", f"{socket.gethostname()} {os.getpid()}")
        while not self.halt.wait(1.0):
            try:
                self.store.add(f"{self.prefix}/beat/{self.rank}", 1)
                now = time.monotonic()
                for peer, (count, since) in list(peers.items()):
                    if self.store.check([f"{self.prefix}/done/{peer}"]):
                        del peers[peer]
                        continue
                    value = self.store.add(f"{self.prefix}/beat/{peer}", 0)
                    if value != count:
                        peers[peer] = (value, now)
                    elif now - since > self.timeout:
                        self.abort(peer, {p for p, (_, t) in peers.items() if now - t > self.timeout})
            except Exception:  # the store is gone with the launcher: this process goes with it
                return

    def abort(self, peer: int, stale: set[int]) -> None:
        """End the job: discard this command's outputs, say why once, kill the stale processes
        on this machine (a stopped process ignores torchrun's SIGTERM for half a minute), exit."""
        line = (f"worker {peer} has not answered for {self.timeout:g} s (stopped or hung); the "
                "job ends and no output was written or changed")
        for hook in _abort_hooks:
            with contextlib.suppress(Exception):
                hook()
        live = [r for r in range(self.world) if r not in stale]
        if not launcher.leave_message(1, line) and self.rank == min(live):
            print(f"rnncast: error: {line}", file=sys.stderr, flush=True)
        for other in stale:
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                host, pid = self.store.get(f"{self.prefix}/pid/{other}").decode().split()
                if host == socket.gethostname():
                    os.kill(int(pid), signal.SIGKILL)
        os._exit(1)


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when a GPU is there, else the CPU. Under torchrun on CUDA, each process
    takes the GPU of its ``LOCAL_RANK``."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise SettingError(f"device must be one of {', '.join(DEVICES)} (or cuda:N), got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SettingError("--device cuda: no CUDA device is visible to PyTorch here "
                           "(use --device cpu or auto)")
    if name == "cuda" and requested() > 1:
        name = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    device = torch.device(name)
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise SettingError(f"{name}: this machine has {torch.cuda.device_count()} GPU(s); start "
                           "at most that many processes per machine")
    return device
