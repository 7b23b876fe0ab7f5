"""Error types. Each message is one line that names the problem and says what to change.

The command line maps them to exit codes: 1 for bad data, model files or a file-system failure,
2 for a bad argument (:class:`SettingError`, :class:`OutputError`), 3 for anything else (a bug).
"""


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
