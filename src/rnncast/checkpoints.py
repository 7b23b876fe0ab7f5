"""Checkpoints: after every epoch, all that a training run carries to the next one, so that a
killed fit resumes where its last finished epoch left off.

One safetensors file per training run (an ensemble member's training, then its refit): the
weights, the best weights so far, the optimizer's tensors and the torch random state as tensors;
the epoch, history, early-stopping, scheduler, spike-guard and NumPy random state as JSON in the
file's metadata. Written to a temporary name and renamed into place, so a kill leaves the
previous epoch's file whole. Loading reads tensors and JSON only: nothing in it runs code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from rnncast.errors import ModelFileError, OutputError
from rnncast.files import atomic_write
from rnncast.temporaries import clean_leftovers
from rnncast.training import History, Loop

MARKER = "checkpoints.json"  # what a checkpoint folder holds and for which run
FORMAT = "rnncast-checkpoints"
# 2: the optimizer steps one flat tensor (gradients.flatten), so version 1's state cannot resume
VERSION = 2


def fingerprint(settings: dict, arrays: Iterable[np.ndarray]) -> str:
    """A digest of the settings and the data a run trains on: a resume must see the same."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for array in arrays:
        digest.update(np.ascontiguousarray(array).view(np.uint8).data)
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Checkpoints:
    """The checkpoint folder of one fit. ``write``: this process writes (rank 0 only)."""

    folder: Path
    fingerprint: str
    write: bool = True

    @classmethod
    def open(cls, folder: str | Path, fingerprint: str, resume: bool, write: bool = True
             ) -> Checkpoints:
        """Check ``folder`` for a fresh fit (empty or new) or a resume (checkpoints of a fit with
        the same settings and data), and mark it as rnncast's."""
        folder = Path(folder)
        marker = folder / MARKER
        if not write and not resume:
            return cls(folder, fingerprint, write)  # rank 0 checks and creates it
        if resume:
            if not marker.is_file():
                raise ModelFileError(f"--resume {folder}: no rnncast checkpoints there")
            try:
                held = json.loads(marker.read_text())
            except (OSError, ValueError) as error:
                raise ModelFileError(f"--resume {folder}: unreadable {MARKER} ({error})") from None
            version = held.get("version", 1) if isinstance(held, dict) else None
            if version != VERSION:
                raise ModelFileError(f"--resume {folder}: those checkpoints were written by "
                                     f"another rnncast version (checkpoint format {version}, "
                                     f"this one reads {VERSION}); start afresh with "
                                     "--checkpoint-dir and a new folder")
            if held.get("fingerprint") != fingerprint:
                raise ModelFileError(f"--resume {folder}: those checkpoints are of a fit with other "
                                 "data or settings; rerun with the same ones, or start afresh "
                                 "with --checkpoint-dir and a new folder")
        elif folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            what = ("checkpoints of an earlier fit: --resume it, or remove it"
                    if marker.is_file() else "not an empty folder rnncast created")
            raise OutputError(f"--checkpoint-dir {folder}: {what}")
        if not resume:
            folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps({"format": FORMAT, "version": VERSION, "fingerprint": fingerprint})
            atomic_write(marker, lambda tmp: tmp.write_text(text))
        clean_leftovers(folder)  # the half-written checkpoints of a killed run
        return cls(folder, fingerprint, write)

    @classmethod
    def for_fit(cls, folder: str | Path | None, resume: bool, settings: dict,
                arrays: Iterable[np.ndarray], ranks) -> Checkpoints | None:
        """The checkpoints of a fit with ``settings`` on the data ``arrays`` in ``folder`` (None
        without one), opened by every rank of the group ``ranks`` (rank 0 writes)."""
        if folder is None and not resume:
            return None
        print_ = fingerprint(settings | {"world": ranks.world}, arrays)
        kept = cls.open(folder, print_, resume, write=ranks.main)
        ranks.barrier()  # rank 0 has made the folder that all may write members to
        return kept

    def slot(self, member: int, phase: str) -> Slot:
        return Slot(self, member, phase)

    def finish(self, member: int, net: torch.nn.Module, history: History) -> None:
        """Keep ``member``'s final weights and history: a resume skips it."""
        if self.write:
            data = save(_on_cpu(net.state_dict()), metadata={"history": json.dumps(asdict(history))})
            atomic_write(self.path(member, "done"), lambda tmp: tmp.write_bytes(data))

    def load_finished(self, member: int, net: torch.nn.Module) -> History | None:
        """Load ``member``'s final weights into ``net`` and give its history when an earlier
        run finished it (None: it did not); a damaged file is one :class:`ModelFileError`."""
        path = self.path(member, "done")
        if not path.is_file():
            return None
        try:
            tensors, metadata = _read(path)
            _finite(tensors)
            history = _history(json.loads(metadata["history"]))
            net.load_state_dict(tensors)
        except (SafetensorError, OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
            raise ModelFileError(f"checkpoint {path} is damaged ({_first(error)}); remove it to "
                                 "retrain that member") from None
        return history

    def path(self, member: int, phase: str) -> Path:
        return self.folder / f"member{member}-{phase}.safetensors"

    def save(self, loop: Loop, member: int, phase: str) -> None:
        """Write ``loop``'s state after its epoch (rank 0; atomically)."""
        if self.write:
            tensors, meta = capture(loop)
            data = save(tensors, metadata={"rnncast": json.dumps(meta)})
            atomic_write(self.path(member, phase), lambda tmp: tmp.write_bytes(data))

    def restore(self, loop: Loop, member: int, phase: str) -> bool:
        """Put the last saved state of this run into ``loop``; False when there is none."""
        path = self.path(member, phase)
        if not path.is_file():
            return False
        try:
            tensors, metadata = _read(path)
            _finite(tensors)
            restore(loop, tensors, json.loads(metadata["rnncast"]))
        except (SafetensorError, OSError, ValueError, KeyError, TypeError, RuntimeError,
                AttributeError, IndexError) as error:
            raise ModelFileError(f"checkpoint {path} is damaged ({_first(error)}); remove it to "
                                 "restart that member") from None
        return True


def _on_cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Own CPU copies, as safetensors writes them (contiguous, no shared storage)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}


def _first(error: BaseException) -> str:
    """The error's text on one line (torch's state-dict errors say what on their second)."""
    text = " ".join(str(error).split())
    return text[:200] if text else type(error).__name__


def _finite(tensors: dict[str, torch.Tensor]) -> None:
    """Refuse NaN or infinite weights: a model resumed from them would forecast nonsense."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"tensor '{name}' holds NaN or infinite values")


def _history(data) -> History:
    """A finished member's history from its JSON, checked field by field."""
    if not isinstance(data, dict) or set(data) - set(History.__dataclass_fields__):
        raise ValueError("its history is not a training history")
    history = History(**data)
    numbers = (int, float)
    if not (all(isinstance(v, numbers) for v in [*history.loss, *history.val_loss])
            and all(isinstance(getattr(history, k), numbers) for k in
                    ("best_epoch", "seconds", "clipped_steps", "skipped_steps", "steps"))):
        raise ValueError("its history holds values that are not numbers")
    return history


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A checkpoint file's tensors and metadata, in one read."""
    with safe_open(path, "pt") as handle:
        return {k: handle.get_tensor(k) for k in handle.keys()}, handle.metadata() or {}  # noqa: SIM118


def capture(loop: Loop) -> tuple[dict[str, torch.Tensor], dict]:
    """``loop`` as tensors (CPU copies) and JSON-ready values."""
    tensors = {f"net.{k}": v for k, v in loop.net.state_dict().items()}
    if loop.best_state is not None:
        tensors |= {f"best.{k}": v for k, v in loop.best_state.items()}
    optimizer = loop.optimizer.state_dict()
    scalars: dict[str, dict] = {}
    for pid, state in optimizer["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{pid}.{name}"] = value
            else:
                scalars.setdefault(str(pid), {})[name] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    tensors = _on_cpu(tensors)
    meta = {
        "epoch": loop.epoch, "best": loop.best, "bad_epochs": loop.bad_epochs,
        "history": asdict(loop.history), "param_groups": optimizer["param_groups"],
        "optimizer_scalars": scalars, "scheduler": loop.scheduler.state_dict(),
        "rng": loop.rng.bit_generator.state,
        "guard": {"norms": loop.guard.norms, "seen": loop.guard.seen},
    }
    return tensors, meta


def restore(loop: Loop, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Put a captured state back into ``loop`` (same network and optimizer, freshly built)."""

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    loop.net.load_state_dict(part("net."))
    best = part("best.")
    loop.best_state = best or None
    state: dict[int, dict] = {}
    for key, value in part("optimizer.").items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    for pid, values in meta["optimizer_scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    loop.optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    loop.scheduler.load_state_dict(meta["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    loop.rng.bit_generator.state = meta["rng"]
    loop.guard.norms, loop.guard.seen = list(meta["guard"]["norms"]), int(meta["guard"]["seen"])
    loop.history = History(**meta["history"])
    loop.epoch, loop.best, loop.bad_epochs = meta["epoch"], meta["best"], meta["bad_epochs"]


@dataclass(frozen=True)
class Slot:
    """The checkpoint of one training run: ensemble ``member``'s ``phase`` (train or refit)."""

    checkpoints: Checkpoints
    member: int
    phase: str

    def save(self, loop: Loop) -> None:
        self.checkpoints.save(loop, self.member, self.phase)

    def restore(self, loop: Loop) -> bool:
        return self.checkpoints.restore(loop, self.member, self.phase)
