"""Model directories and safe file writes.

A model directory holds ``weights.safetensors`` (tensors only: loading never runs code) and
``config.json`` (every setting, the scaler, the series' columns, frequency and last timestamp).
Everything is written under a temporary name and renamed into place, so an interrupted save
never leaves a broken model, or a half-written file, where a good one was.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save

from rnncast import files
from rnncast.data import integer_step
from rnncast.errors import ModelFileError
from rnncast.timeindex import spans

FORMAT = files.MODEL_FORMAT
FORMAT_VERSION = 2  # 2: per-series shift and scale as tensors (1: a JSON list of scalers)
READS = (1, 2)
CONFIG, WEIGHTS = "config.json", "weights.safetensors"


def save_model(model, path: str | Path, version: str) -> Path:
    """Save a fitted :class:`~rnncast.forecaster.Forecaster` as a model directory, swapped in
    whole for an older model at ``path`` (never for a folder that is not an rnncast model)."""
    return files.replace_directory(path, lambda folder: write_model(model, folder, version))


def write_model(model, folder: Path, version: str) -> None:
    """Write a fitted model's two files into the (new, empty) ``folder``."""
    if not model.nets:
        raise ValueError("fit the model before saving it")
    cfg, panel = model.fitted_config, model.panel
    tensors = {f"member{k}.{name}": p.detach().cpu().contiguous()
               for k, net in enumerate(model.nets) for name, p in net.state_dict().items()}
    for k, s in enumerate(panel.series):  # the tail each series needs to forecast again
        tensors[f"history{k}"] = torch.tensor(np.ascontiguousarray(s.values[-cfg.max_window:]),
                                              dtype=torch.float64)
    transforms = model.transforms  # per series, as tensors: JSON would be slow for many series
    tensors["shift"] = torch.tensor(transforms.shift, dtype=torch.float64)
    tensors["scale"] = torch.tensor(transforms.scale, dtype=torch.float64)
    if transforms.seasonal is not None:
        tensors["seasonal"] = torch.tensor(transforms.seasonal, dtype=torch.float64)
    if model.calibration is not None:  # forecast errors for prediction intervals
        tensors["calibration"] = torch.tensor(model.calibration.scores, dtype=torch.float32)
    first = panel.series[0]
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rnncast_version": version,
        **model.config(),
        "ensemble": len(model.nets),
        "aggregate": model.aggregate,
        "n_features": int(first.values.shape[1]),
        "scaler": {"kind": transforms.kind, "log": bool(transforms.log)},
        "data": {
            "columns": first.columns,
            "freq": first.freq,
            "ids": panel.ids,
            "id_name": panel.id_name,
            "name": first.index.name if first.index is not None else None,
            "series": [_series_meta(s) for s in panel.series],
        },
    }
    (folder / WEIGHTS).write_bytes(save(tensors))
    (folder / CONFIG).write_text(json.dumps(config, indent=2))


def _series_meta(s) -> dict:
    index = s.index
    return {
        "length": s.start + len(s.values),
        "index": ("datetime" if isinstance(index, pd.DatetimeIndex)
                  else "integer" if index is not None else "none"),
        "last": (str(index[-1]) if isinstance(index, pd.DatetimeIndex)
                 else int(index[-1]) if index is not None else None),
        "step": integer_step(index) if index is not None and not isinstance(index, pd.DatetimeIndex)
        else 1,
    }


def load_model(path: str | Path):
    """Load a model directory written by :func:`save_model`; never unpickles anything. Every
    field is checked (types, shapes, dtypes, finite values): a bad file is one
    :class:`ModelFileError`, never a model that forecasts nonsense."""
    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"{path}: no model directory here (expected {CONFIG} and {WEIGHTS})")
    for name in (CONFIG, WEIGHTS):
        if not (path / name).is_file():
            raise ModelFileError(f"{path}: not a complete model directory, {name} is missing")
    try:
        config = json.loads((path / CONFIG).read_text())
    except OSError as error:
        raise ModelFileError(f"{path / CONFIG}: cannot be read ({files.describe(error)})") from None
    except (ValueError, RecursionError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelFileError(f"{path / CONFIG}: corrupt model configuration ({first})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path / CONFIG}: not an rnncast model configuration")
    version = config.get("format_version")
    if type(version) is not int:
        raise ModelFileError(f"{path / CONFIG}: format_version must be a whole number, got "
                             f"{version!r}")
    if version not in READS:
        raise ModelFileError(
            f"{path}: model format version {version} (written by rnncast "
            f"{config.get('rnncast_version')}) is not supported by this version, which reads "
            f"versions {', '.join(map(str, READS))}; refit the model with this version"
        )
    try:
        tensors = load_file(str(path / WEIGHTS))
    except OSError as error:
        raise ModelFileError(f"{path / WEIGHTS}: cannot be read ({files.describe(error)})") from None
    except Exception as error:  # safetensors' own errors: a damaged file
        raise ModelFileError(f"{path / WEIGHTS}: corrupt weights file ({_first(error)})") from None
    try:
        return _restore(config, tensors)
    except ModelFileError as error:
        raise ModelFileError(f"{path}: {error}") from None
    except Exception as error:  # anything else in a file is damage, not a bug to show
        raise ModelFileError(f"{path}: corrupt or incompatible model files ({_first(error)})") from None


def _first(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise ModelFileError(what)


def _finite_tensor(tensors: dict, name: str, ndim: int, dtype: torch.dtype) -> torch.Tensor:
    t = tensors.pop(name, None)
    _check(t is not None, f"{WEIGHTS} has no tensor '{name}'")
    _check(t.dtype == dtype, f"tensor '{name}' is {t.dtype}, expected {dtype}")
    _check(t.dim() == ndim, f"tensor '{name}' has {t.dim()} dimensions, expected {ndim}")
    _check(bool(torch.isfinite(t).all()), f"tensor '{name}' holds NaN or infinite values")
    return t


def _restore(config: dict, tensors: dict):
    """The model described by a checked ``config`` and its ``tensors``."""
    from rnncast.data import Panel, SeriesData
    from rnncast.forecaster import Forecaster
    from rnncast.intervals import Calibration
    from rnncast.networks import ModelConfig
    from rnncast.recipe import SeriesConfig
    from rnncast.scaling import SCALERS, Scaler
    from rnncast.training import TrainConfig
    from rnncast.transforms import Transforms

    for key in ("model", "series", "train", "data"):
        _check(isinstance(config.get(key), dict), f"{CONFIG}: '{key}' must be an object")
    ensemble, n_features = config.get("ensemble"), config.get("n_features")
    _check(type(ensemble) is int and ensemble >= 1, f"{CONFIG}: 'ensemble' must be a positive integer")
    _check(type(n_features) is int and n_features >= 1,
           f"{CONFIG}: 'n_features' must be a positive integer")
    model = Forecaster.from_configs(ModelConfig(**config["model"]), SeriesConfig(**config["series"]),
                                    TrainConfig(**config["train"]), ensemble=ensemble)
    model.aggregate = config.get("aggregate", "median")
    _check(model.aggregate in ("median", "mean"), f"{CONFIG}: unknown aggregate {model.aggregate!r}")
    _check(model.series_config.windows is not None, f"{CONFIG}: the model has no window")
    meta = config["data"]
    if "series" not in meta:  # 0.1.0's single-series layout
        meta = {**meta, "ids": None, "series": [meta]}
        if "history" in tensors:
            tensors["history0"] = tensors.pop("history")
        config["scalers"] = [config.get("scaler")]
    items, columns = meta.get("series"), meta.get("columns")
    _check(isinstance(items, list) and len(items) >= 1, f"{CONFIG}: 'series' must be a non-empty list")
    _check(isinstance(columns, list) and len(columns) == n_features
           and all(isinstance(c, str) for c in columns),
           f"{CONFIG}: 'columns' must list {n_features} column names")
    ids = meta.get("ids")
    _check(ids is None or (isinstance(ids, list) and len(ids) == len(items)
                           and all(isinstance(i, str) for i in ids)),
           f"{CONFIG}: 'ids' must list one name per series")
    n = len(items)
    if "shift" in tensors:  # format 2
        scaler = config.get("scaler")
        _check(isinstance(scaler, dict), f"{CONFIG}: 'scaler' must be an object")
        kind, log = scaler.get("kind"), scaler.get("log")
        shift = _finite_tensor(tensors, "shift", 2, torch.float64).numpy()
        scale = _finite_tensor(tensors, "scale", 2, torch.float64).numpy()
    else:  # format 1: one JSON scaler per series
        states = config.get("scalers")
        _check(isinstance(states, list) and len(states) == n,
               f"{CONFIG}: 'scalers' must hold one scaler per series")
        scalers = [Scaler.from_state(state) for state in states]
        kind, log = scalers[0].kind, scalers[0].log
        shift = np.stack([s.shift for s in scalers]) if n else np.zeros((0, n_features))
        scale = np.stack([s.scale for s in scalers]) if n else np.zeros((0, n_features))
    _check(kind in SCALERS and isinstance(log, bool), f"{CONFIG}: unknown scaler {kind!r}")
    for k in range(n):
        _check(shift.shape == (n, n_features) and scale.shape == (n, n_features)
               and np.isfinite(shift[k]).all() and np.isfinite(scale[k]).all()
               and (scale[k] > 0).all(), f"{CONFIG}: the scaler of series {k} is not finite "
                                         f"and positive for {n_features} columns")
    histories = []
    for k, item in enumerate(items):
        _check(isinstance(item, dict), f"{CONFIG}: series {k} must be an object")
        history = _finite_tensor(tensors, f"history{k}", 2, torch.float64).numpy()
        _check(history.shape[1] == n_features and len(history) >= 1,
               f"tensor 'history{k}' must be (time, {n_features})")
        _check(type(item.get("length")) is int and item["length"] >= len(history),
               f"{CONFIG}: series {k} has no valid 'length'")
        histories.append(history)
    freq, name = meta.get("freq"), meta.get("name")
    indexes = [_index(item, len(h), freq, name) for item, h in zip(items, histories, strict=True)]
    dated = [k for k, item in enumerate(items) if item.get("index") == "datetime" and freq]
    if dated:  # the stored tails' dates, sliced from one grid
        ends = pd.DatetimeIndex(pd.to_datetime([items[k]["last"] for k in dated]), name=name)
        rows = np.array([len(histories[k]) for k in dated])
        for k, index in zip(dated, spans(ends, freq, rows, 0), strict=True):
            indexes[k] = index
    series = [SeriesData(h, index, columns, freq, item["length"] - len(h))
              for item, h, index in zip(items, histories, indexes, strict=True)]
    seasonal = None
    if "seasonal" in tensors:
        seasonal = _finite_tensor(tensors, "seasonal", 3, torch.float64).numpy()
        _check(seasonal.shape[0] == len(items) and seasonal.shape[2] == n_features
               and (seasonal > 0).all(), "tensor 'seasonal' must be positive (series, season, columns)")
    if "calibration" in tensors:
        scores = _finite_tensor(tensors, "calibration", 3, torch.float32).numpy()
        model.calibration = Calibration(scores)
    for name, t in tensors.items():
        _check(t.dtype == torch.float32, f"weight '{name}' is {t.dtype}, expected torch.float32")
        _check(bool(torch.isfinite(t).all()), f"weight '{name}' holds NaN or infinite values")
    panel = Panel(series, ids, meta.get("id_name") or "id")
    model.restore(Transforms(kind, log, shift, scale, seasonal), panel, tensors, n_features)
    return model


def _index(meta: dict, rows: int, freq: str | None, name: str | None) -> pd.Index | None:
    """Rebuild the time index of the stored tail of a series."""
    if meta["index"] == "datetime" and freq:
        return None  # filled in for all series at once
    if meta["index"] == "integer":
        step = int(meta.get("step", 1))
        return pd.Index(np.arange(meta["last"] - step * (rows - 1), meta["last"] + 1, step), name=name)
    return pd.RangeIndex(meta["length"] - rows, meta["length"], name=name)  # positions
