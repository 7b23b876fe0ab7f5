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

import gc
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import Tensor, nn

from rnncast.errors import SettingError

DEVICES = ("auto", "cpu", "cuda")


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


def start(device: torch.device) -> Group:
    """Join the group torchrun describes in the environment (once per process): gloo on the
    CPU, NCCL on CUDA. One process when the environment describes none."""
    if requested() > 1 and not dist.is_initialized():
        if not dist.is_available():
            raise SettingError("this PyTorch build has no torch.distributed")
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
        dist.destroy_process_group()
        gc.collect()


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


def local_share(cores: int) -> int:
    """The cores one process may use when torchrun runs several on this machine."""
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))


def launch(argv: list[str], workers: int) -> int:
    """Run ``rnncast`` with ``argv`` in ``workers`` processes on this machine through torchrun
    (``torch.distributed.run --standalone``); its exit status."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", str(workers), "-m", "rnncast", *argv]
    return subprocess.call(command, env=env)
