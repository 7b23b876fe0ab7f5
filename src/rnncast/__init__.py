"""rnncast: forecast sequences with recurrent neural networks.

The public API is re-exported here and imported on first use, so that a lower module (the
plan, the data readers) can be imported without torch and the whole house behind it."""

from importlib import import_module

from rnncast.version import __version__

_API = {"Forecaster": "rnncast.forecaster", "Plan": "rnncast.plan",
        "SeriesConfig": "rnncast.settings"}
_MODULES = ("baselines", "datasets", "metrics")
__all__ = [*_API, *_MODULES, "__version__"]


def __getattr__(name: str):
    if name in _API:
        return getattr(import_module(_API[name]), name)
    if name in _MODULES:
        return import_module(f"rnncast.{name}")
    raise AttributeError(f"module 'rnncast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
