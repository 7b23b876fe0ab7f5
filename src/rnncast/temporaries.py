"""Temporaries that never outlive their writer for long: each is named ``.NAME.rnncast-PID-TOKEN``
and locked (``flock``) by the process that writes it, so the next rnncast command in that folder
removes a killed run's and never a live one's, even one in another container (where a process id
says nothing)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TAG = ".rnncast-"  # in every temporary name: .NAME.rnncast-PID-TOKEN
TEMPORARY = re.compile(r"\.([^/\s]+?)\.rnncast-\d+-[0-9a-f]{8}")  # one inside a longer text
LEFTOVER = re.compile(r"\..+\.rnncast-(\d+)-[0-9a-f]{8}")  # a whole temporary name


def temporary_name(final: Path) -> Path:
    """``.NAME.rnncast-PID-TOKEN`` beside ``final``, the name cut so that the whole stays within
    the file system's limit."""
    name = final.name.encode()[:120].decode(errors="ignore")
    return final.with_name(f".{name}{TAG}{os.getpid()}-{secrets.token_hex(4)}")


def create_locked(path: Path, folder: bool = False) -> int:
    """A new empty file (the umask applies) or folder at ``path``, locked by this process for
    as long as the returned descriptor stays open (:func:`clean_leftovers` leaves it alone)."""
    if folder:
        os.mkdir(path)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    else:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    with contextlib.suppress(OSError):  # a file system without locks: the process id decides
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


@contextlib.contextmanager
def scratch_folder(name: str) -> Iterator[Path]:
    """A locked folder of this process in the system's temporary folder, removed on the way out;
    a killed run's is removed by the next one (:func:`clean_leftovers`)."""
    root = Path(tempfile.gettempdir())
    clean_leftovers(root)
    folder = temporary_name(root / name)
    fd = create_locked(folder, folder=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as error:  # EPERM: another user's process, alive
        return error.errno != errno.ESRCH
    return True


def clean_leftovers(folder: Path) -> None:
    """Remove the temporaries in ``folder`` that rnncast processes left behind: those no process
    holds locked (and, as a second sign, whose writer no longer runs here)."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return
    for entry in entries:
        match = LEFTOVER.fullmatch(entry.name)
        if match is None or int(match.group(1)) == os.getpid() or entry.is_symlink():
            continue
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its writer is at work, in this container or another
            os.close(fd)
            continue
        except OSError:  # no locks here: the process id alone decides
            pass
        try:
            if not _alive(int(match.group(1))):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        finally:
            os.close(fd)
