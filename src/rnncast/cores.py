"""CPU threads: how many suit PyTorch's batches, how many cores are idle now, and NumPy's BLAS
held to one thread while rnncast works."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits

from rnncast import distributed


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
    cores = distributed.local_share(cores)  # torchrun's processes on this machine share them
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


def one_blas_thread():
    """NumPy's and SciPy's BLAS held to one thread, from now until the returned context exits
    (or for good, as a worker's initializer): the classical models' matrices
    are tiny, and BLAS threads spinning beside them cost CPU for nothing (Theta on 300 M3
    monthly series: 2.7 CPU-s on two threads, 1.5 on one, the same wall time)."""
    import scipy.linalg  # noqa: F401  SciPy's own BLAS loads with it; a limit reaches only loaded ones

    return threadpool_limits(limits=1, user_api="blas")


@contextmanager
def threads(count: int | None):
    """PyTorch's CPU threads set to ``count`` (None: one, until :func:`auto_threads` knows
    the batch) for a while, then set back; NumPy's BLAS on one thread meanwhile."""
    before = torch.get_num_threads()
    torch.set_num_threads(count or 1)
    try:
        with one_blas_thread():
            yield
    finally:
        torch.set_num_threads(before)
