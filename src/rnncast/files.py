"""Writing files without ever losing one: the only module that replaces anything on disk.

- A file is written under a temporary name beside its final one, flushed to disk, then renamed
  over it; the folder is flushed after the rename.
- A directory is built whole under a temporary name, then exchanged with the old one in one
  atomic step (Linux ``renameat2(RENAME_EXCHANGE)``), so some complete directory is at the path at
  every instant; the old one is removed after. An existing directory is replaced only when it is
  empty or rnncast wrote everything in it (a model, or an output folder carrying :data:`MARKER`).
- :class:`Outputs` checks every output path of a command before any work starts (never an input,
  never inside a model, never a foreign folder), stages the outputs, and renames them all into
  place only when the whole command succeeded; :meth:`Outputs.discard` leaves everything as it was.

Every temporary is locked by its writer while it lives (:mod:`rnncast.temporaries`): the next
command in that folder removes a killed run's. Commits into one folder take turns (its lock).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from rnncast.errors import OutputError, describe
from rnncast.temporaries import LEFTOVER, TEMPORARY, clean_leftovers, create_locked, temporary_name

MARKER = ".rnncast.json"  # in every output folder rnncast writes: what it wrote there
MODEL_FILES = frozenset({"config.json", "weights.safetensors"})
MODEL_FORMAT = "rnncast-model"
_NAME_MAX = 255


# -- low-level steps -----------------------------------------------------------------------------
def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` (the folders last, so renames are durable)."""
    for folder, _, names in os.walk(root, topdown=False):
        for name in names:
            _fsync_path(Path(folder) / name)
        _fsync_path(Path(folder))


def _install_file(tmp: Path, final: Path) -> None:
    """Flush the complete file ``tmp``, rename it over ``final``, flush the folder."""
    _fsync_path(tmp)
    os.replace(tmp, final)
    _fsync_path(final.parent)


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")


@contextlib.contextmanager
def _folders_locked(folders: Iterable[Path]) -> Iterator[None]:
    """Hold an exclusive lock on each of ``folders`` (in a fixed order, so that two commits
    cannot wait for each other; not our own temporaries, which we hold locked already)."""
    fds = []
    try:
        for folder in sorted(set(folders)):
            own = LEFTOVER.fullmatch(folder.name)
            if own and int(own.group(1)) == os.getpid():  # our own temporary: locked, and private
                continue
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            fds.append(fd)
            with contextlib.suppress(OSError):  # no locks on this file system: as before
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in fds:
            os.close(fd)


_RENAME_NOREPLACE, _RENAME_EXCHANGE, _AT_FDCWD = 1, 2, -100


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """Linux's renameat2; False where the system or file system does not offer it."""
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = call(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(target))


# -- what may be replaced ------------------------------------------------------------------------
def is_model_directory(path: Path) -> bool:
    """Whether ``path`` holds an rnncast model (``config.json`` with the format marker)."""
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(config, dict) and config.get("format") == MODEL_FORMAT


def _written_by_rnncast(path: Path, kind: str) -> set[str] | None:
    """The entries rnncast wrote in the folder ``path`` when it is a folder of ``kind``
    (``model`` or ``output``), else None."""
    if kind == "model":
        return set(MODEL_FILES) if is_model_directory(path) else None
    try:
        marker = json.loads((path / MARKER).read_text())
        return {*marker["files"], MARKER}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def check_replaceable(path: Path, flag: str = "--out", kind: str = "output") -> None:
    """Refuse (:class:`OutputError`) to replace ``path`` unless it is absent, an empty folder or
    a folder of the same ``kind`` (``model`` or ``output``) whose every entry rnncast wrote."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir():
        raise OutputError(f"{flag} {path}: exists and is not a directory; name a new folder")
    entries = sorted(p.name for p in path.iterdir())
    if not entries:
        return
    ours = _written_by_rnncast(path, kind)
    if ours is None:
        if kind == "output" and is_model_directory(path):
            raise OutputError(f"{flag} {path}: is an rnncast model, which only `rnncast fit` "
                              "replaces; name another folder")
        what = "a model" if kind == "model" else "output"
        raise OutputError(f"{flag} {path}: is a folder rnncast did not write {what} to (it holds "
                          f"{_few(entries)}); name a new or empty folder")
    foreign = [e for e in entries if e not in ours]
    if foreign:
        raise OutputError(f"{flag} {path}: holds files rnncast did not write ({_few(foreign)}); "
                          "move them out or name another folder")


# -- one file, one folder ------------------------------------------------------------------------
def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, flush it, rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    lock = create_locked(tmp)
    try:
        write(tmp)
        _install_file(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno and error.filename is None:  # say which
            raise OSError(error.errno, error.strerror, str(path)) from None
        raise
    finally:
        os.close(lock)
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def install_directory(staged: Path, final: Path, flag: str = "--out", kind: str = "output") -> None:
    """Put the complete folder ``staged`` at ``final`` in one step, then remove the old one."""
    _fsync_tree(staged)
    if not final.exists():
        try:
            if not _renameat2(staged, final, _RENAME_NOREPLACE):
                os.rename(staged, final)  # no renameat2 here; replaces at most an empty folder
            _fsync_path(final.parent)
            return
        except OSError as error:  # another writer put a folder there meanwhile
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    check_replaceable(final, flag, kind)  # again: something may have appeared since the first check
    if not _renameat2(staged, final, _RENAME_EXCHANGE):
        old = temporary_name(final)  # fallback: a moment without a folder at the path
        os.rename(final, old)
        os.rename(staged, final)
        staged = old
    _fsync_path(final.parent)
    shutil.rmtree(staged, ignore_errors=True)  # the old folder, now under the temporary name


def replace_directory(path: str | Path, fill: Callable[[Path], None], flag: str = "path",
                      kind: str = "model") -> Path:
    """Build a folder with ``fill(tmp)`` and swap it in for ``path`` (see :func:`check_replaceable`)."""
    final = _resolve(Path(path))  # follow a link: the link stays, its target is replaced
    check_replaceable(final, flag, kind)
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(final.parent)
    staged = temporary_name(final)
    lock = create_locked(staged, folder=True)
    try:
        fill(staged)
        with _folders_locked([final.parent]):
            install_directory(staged, final, flag, kind)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        os.close(lock)
    return final


# -- a command's outputs -------------------------------------------------------------------------
def _resolve(path: Path) -> Path:
    try:
        return Path(os.path.abspath(Path(path).expanduser())).resolve()
    except RuntimeError:  # Python 3.11's word for a loop of symbolic links (3.13: OSError)
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def overlaps(a: str | Path, b: str | Path) -> bool:
    """``a`` and ``b`` are the same path, or one lies inside the other."""
    a, b = _resolve(Path(a)), _resolve(Path(b))
    return _inside(a, b) or _inside(b, a)


class Outputs:
    """The outputs of one command: checked before work starts, staged, committed all at once.

    ``inputs``: files and folders the command reads; no output may be one of them, lie inside
    one of them, or contain one.
    """

    def __init__(self, inputs: Iterable[str | Path] = (), command: str = "") -> None:
        self.inputs = [(Path(p), _resolve(Path(p))) for p in inputs if p is not None]
        self.command = command
        self.staged: list[tuple[Path, Path, str, str]] = []  # (tmp, final, kind, flag)
        self.locks: list[int] = []  # each staged temporary's lock, held until commit or discard

    def _check(self, given: Path, flag: str) -> Path:
        try:
            final = _resolve(given)
        except OSError as error:
            raise OutputError(f"{flag} {describe(error)}") from None
        if len(final.name.encode()) > _NAME_MAX:
            raise OutputError(f"{flag} {given}: file name too long ({len(final.name.encode())} "
                              f"bytes; the limit is {_NAME_MAX})")
        for shown, source in self.inputs:
            if final == source:
                raise OutputError(f"{flag} {given}: is an input of this command ({shown}); "
                                  "name another output")
            if source in final.parents:
                raise OutputError(f"{flag} {given}: lies inside the input {shown}; "
                                  "write outputs elsewhere")
            if final in source.parents:
                raise OutputError(f"{flag} {given}: holds the input {shown}, which must not be "
                                  "replaced; name another folder")
        for _, other, _, other_flag in self.staged:
            if _inside(final, other) or _inside(other, final):
                raise OutputError(f"{flag} {given}: collides with {other_flag} {other}; "
                                  "give them different names")
        return final

    def directory(self, given: str | Path, flag: str = "--out", kind: str = "output") -> Path:
        """Check ``given`` as an output folder of ``kind`` (``output``, or ``model``) now;
        returns the folder to write into (staged)."""
        final = self._check(Path(given), flag)
        check_replaceable(final, flag, kind)
        return self._stage(final, kind, flag)

    def file(self, given: str | Path, flag: str = "--out") -> Path:
        """Check ``given`` as an output file now; returns the path to write (staged)."""
        final = self._check(Path(given), flag)
        if final.is_dir():
            raise OutputError(f"{flag} {given}: is a directory; name a file")
        return self._stage(final, "file", flag)

    def _stage(self, final: Path, kind: str, flag: str) -> Path:
        parent = final.parent
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"{flag} {final}: {parent} is not a directory")
        parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(parent)
        tmp = temporary_name(final)
        self.locks.append(create_locked(tmp, folder=kind != "file"))
        self.staged.append((tmp, final, kind, flag))
        return tmp

    def commit(self) -> None:
        """Rename every staged output into place (folders swapped whole), holding each
        destination folder's lock so that another run's outputs never mix with these."""
        for tmp, _, kind, _ in self.staged:
            if kind == "output":
                files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
                marker = {"format": "rnncast-output", "command": self.command, "files": files}
                (tmp / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        with _folders_locked(final.parent for _, final, _, _ in self.staged):
            for tmp, final, kind, flag in self.staged:
                if kind != "file":
                    install_directory(tmp, final, flag, kind)
                else:
                    _install_file(tmp, final)
        self.staged = []
        self._unlock()

    def _unlock(self) -> None:
        for fd in self.locks:
            os.close(fd)
        self.locks = []

    def shown(self, text: str) -> str:
        """``text`` (an error message) with staged and temporary names replaced by the final ones."""
        for tmp, final, _, _ in self.staged:
            text = text.replace(str(tmp), str(final))
        return TEMPORARY.sub(lambda m: m.group(1), text)

    def discard(self) -> None:
        """Remove every staged output: what was at the final paths stays as it was."""
        for tmp, _, kind, _ in self.staged:
            if kind != "file":
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        self._unlock()
        self.staged = []
