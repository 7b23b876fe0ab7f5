"""Error types. Each message is one line that names the problem and says what to change."""


class RnncastError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero."""


class DataError(RnncastError, ValueError):
    """The input data cannot be used as given (file, column, row named in the message)."""


class ModelFileError(RnncastError):
    """A model directory is missing, corrupt or from an incompatible version."""


class TrainingDiverged(RnncastError, FloatingPointError):
    """The loss became NaN or infinite (``history``: the training history up to then)."""

    history = None
