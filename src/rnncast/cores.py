"""CPU cores and threads: how many suit PyTorch's batches (from the data and the machine, never
from the load of the moment), and NumPy's BLAS held to one thread while rnncast works. Imports
no torch: the classical baselines count cores too."""

from __future__ import annotations

import os
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


def local_share(cores: int) -> int:
    """The cores one process may use when torchrun runs several on this machine."""
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))


def cores() -> int:
    """The CPU cores this process may use (its affinity mask), shared with the other processes
    torchrun runs on this machine."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    return local_share(count)


def auto_threads(batch: int) -> int:
    """PyTorch threads when not given, for batches of ``batch`` windows: one for small batches
    (these small networks gain nothing from more threads), every core this process may use from
    128 windows on. Fixed by the data and the machine, never by the momentary load: thread counts
    change the order of floating-point sums, and the same seed must give the same numbers.
    Measured in benchmarks/threads.py: batch 128 on 2 cores, 23,000 windows/s on one thread,
    43,000 on two when idle."""
    return 1 if batch < 128 else cores()


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
    import torch  # here: the rest of this module serves code that never imports torch

    before = torch.get_num_threads()
    torch.set_num_threads(count or 1)
    try:
        with one_blas_thread():
            yield
    finally:
        torch.set_num_threads(before)
