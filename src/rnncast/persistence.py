"""Model directories and safe file writes.

A model directory holds ``weights.safetensors`` (tensors only: loading never runs code) and
``config.json`` (every setting, the scaler, the series' columns, frequency and last timestamp).
Everything is written under a temporary name and renamed into place, so an interrupted save
never leaves a broken model, or a half-written file, where a good one was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rnncast.errors import ModelFileError

FORMAT = "rnncast-model"
FORMAT_VERSION = 1
CONFIG, WEIGHTS = "config.json", "weights.safetensors"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def save_directory(path: str | Path, files: dict[str, Callable[[Path], None]]) -> Path:
    """Write a whole directory under a temporary name, then swap it in for ``path``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ModelFileError(f"{path}: exists and is not a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        for name, write in files.items():
            write(tmp / name)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.rmdir(old)
            os.replace(path, old)  # keep the old model until the new one is in place
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def save_model(model, path: str | Path, version: str) -> Path:
    """Save a fitted :class:`~rnncast.forecaster.Forecaster` as a model directory."""
    if not model.nets:
        raise ValueError("fit the model before saving it")
    cfg, panel = model.fitted_config, model.panel
    tensors = {f"member{k}.{name}": p.detach().cpu().contiguous()
               for k, net in enumerate(model.nets) for name, p in net.state_dict().items()}
    for k, s in enumerate(panel.series):  # the tail each series needs to forecast again
        tensors[f"history{k}"] = torch.tensor(np.ascontiguousarray(s.values[-cfg.max_window:]),
                                              dtype=torch.float64)
    if model.seasonal is not None:
        tensors["seasonal"] = torch.tensor(model.seasonal, dtype=torch.float64)
    if model.calibration is not None:  # forecast errors for prediction intervals
        tensors["calibration"] = torch.tensor(model.calibration.scores, dtype=torch.float32)
    first = panel.series[0]
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rnncast_version": version,
        **model.config(),
        "ensemble": len(model.nets),
        "n_features": int(first.values.shape[1]),
        "scalers": [scaler.state() for scaler in model.scalers],
        "data": {
            "columns": first.columns,
            "freq": first.freq,
            "ids": panel.ids,
            "id_name": panel.id_name,
            "name": first.index.name if first.index is not None else None,
            "series": [_series_meta(s) for s in panel.series],
        },
    }
    text = json.dumps(config, indent=2)
    return save_directory(path, {
        WEIGHTS: lambda p: save_file(tensors, str(p)),
        CONFIG: lambda p: p.write_text(text),
    })


def _series_meta(s) -> dict:
    index = s.index
    return {
        "length": s.start + len(s.values),
        "index": ("datetime" if isinstance(index, pd.DatetimeIndex)
                  else "integer" if index is not None else "none"),
        "last": (str(index[-1]) if isinstance(index, pd.DatetimeIndex)
                 else int(index[-1]) if index is not None else None),
    }


def load_model(path: str | Path):
    """Load a model directory written by :func:`save_model`; never unpickles anything."""
    from rnncast.data import Panel, SeriesData
    from rnncast.forecaster import Forecaster, SeriesConfig
    from rnncast.intervals import Calibration
    from rnncast.networks import ModelConfig
    from rnncast.scaling import Scaler
    from rnncast.training import TrainConfig

    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"{path}: no model directory here (expected {CONFIG} and {WEIGHTS})")
    for name in (CONFIG, WEIGHTS):
        if not (path / name).is_file():
            raise ModelFileError(f"{path}: not a complete model directory, {name} is missing")
    try:
        config = json.loads((path / CONFIG).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{path / CONFIG}: corrupt model configuration ({error})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path / CONFIG}: not an rnncast model configuration")
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {config.get('format_version')} (written by rnncast "
            f"{config.get('rnncast_version')}) is not supported by this version, which reads "
            f"version {FORMAT_VERSION}; refit the model with this version"
        )
    try:
        tensors = load_file(str(path / WEIGHTS))
        model = Forecaster.from_configs(
            ModelConfig(**config["model"]), SeriesConfig(**config["series"]),
            TrainConfig(**config["train"]), ensemble=int(config["ensemble"]),
        )
        meta = config["data"]
        if "series" not in meta:  # 0.1.0's single-series layout
            meta = {**meta, "ids": None, "series": [meta]}
            tensors["history0"] = tensors.pop("history")
            config["scalers"] = [config["scaler"]]
        series = []
        for k, item in enumerate(meta["series"]):
            history = tensors.pop(f"history{k}").numpy()
            index = _index(item, len(history), meta["freq"], meta.get("name"))
            start = int(item["length"]) - len(history)
            series.append(SeriesData(history, index, meta["columns"], meta["freq"], start))
        seasonal = tensors.pop("seasonal").numpy() if "seasonal" in tensors else None
        if "calibration" in tensors:
            model.calibration = Calibration(tensors.pop("calibration").numpy())
        panel = Panel(series, meta["ids"], meta.get("id_name", "id"))
        model.restore([Scaler.from_state(s) for s in config["scalers"]], panel, tensors,
                      int(config["n_features"]), seasonal)
    except (SafetensorError, KeyError, TypeError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{path}: corrupt or incompatible model files ({first})") from None
    return model


def _index(meta: dict, rows: int, freq: str | None, name: str | None) -> pd.Index | None:
    """Rebuild the time index of the stored tail of a series."""
    if meta["index"] == "datetime" and freq:
        return pd.date_range(end=pd.Timestamp(meta["last"]), periods=rows, freq=freq, name=name)
    if meta["index"] == "integer":
        return pd.Index(np.arange(meta["last"] - rows + 1, meta["last"] + 1), name=name)
    return pd.RangeIndex(meta["length"] - rows, meta["length"], name=name)  # positions
