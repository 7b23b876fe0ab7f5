"""Error types, and file-system failures in words. Each message is one line that names the
problem and says what to change.

The command line maps them to exit codes: 1 for bad data, model files or a file-system failure,
2 for a bad argument (:class:`SettingError`, :class:`OutputError`), 3 for anything else (a bug).
"""

import errno


class RnncastError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero."""


class DataError(RnncastError, ValueError):
    """The input data cannot be used as given (file, column, row named in the message)."""


class SettingError(RnncastError, ValueError):
    """A setting is out of its range or contradicts another (named in the message)."""


class OutputError(RnncastError):
    """An output path that would overwrite an input, a model or a folder rnncast did not write."""


class ModelFileError(RnncastError):
    """A model directory is missing, corrupt or from an incompatible version."""


class ForecastError(RnncastError):
    """A forecast came out NaN or infinite (the series is named); nothing is written."""


class TrainingDiverged(RnncastError, FloatingPointError):
    """The loss became NaN or infinite (``history``: the training history up to then)."""

    history = None


def bounded(name: str, value, high, why: str, low=1) -> None:
    """Refuse ``value`` outside ``[low, high]`` with a message giving the bound and ``why``."""
    if value < low:
        raise SettingError(f"{name} must be at least {low}, got {value}")
    if value > high:
        raise SettingError(f"{name} = {value} is over the limit of {high:,}: {why}")


class NotFitted(RnncastError, RuntimeError, AttributeError):
    """A fitted model's attribute or method asked for before :meth:`Forecaster.fit` (an
    AttributeError too, so that ``hasattr`` answers False rather than failing)."""


class Stopped(BaseException):
    """The process was asked to stop (SIGTERM): like Ctrl-C, it ends the command and discards
    its outputs (a BaseException, so that no ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# -- one line per file-system failure ------------------------------------------------------------
_PROBLEMS = {
    errno.EEXIST: "already exists", errno.EISDIR: "is a directory", errno.ENOTDIR: "is not a directory",
    errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "file name too long", errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded", errno.EBUSY: "busy (in use by another program)",
    errno.EROFS: "read-only file system", errno.ENOENT: "no such file or directory",
    errno.ENOTEMPTY: "directory not empty", errno.EIO: "input/output error",
    errno.EMFILE: "too many open files", errno.ELOOP: "a loop of symbolic links",
    errno.EFBIG: "file too large for this system's limits",
}


def describe(error: OSError) -> str:
    """``path: problem`` for a file-system error, in one line."""
    problem = _PROBLEMS.get(error.errno, error.strerror or type(error).__name__)
    where = error.filename if error.filename is not None else "a file"
    return f"{where}: {problem}"
