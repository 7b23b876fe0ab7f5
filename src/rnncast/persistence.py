"""Model directories and safe file writes.

A model directory holds ``weights.safetensors`` (tensors only: loading never runs code) and
``config.json`` (every setting, the scaler, the series' columns, frequency and last timestamp).
Everything is written under a temporary name and renamed into place, so an interrupted save
never leaves a broken model, or a half-written file, where a good one was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save

from rnncast import files
from rnncast.baselines import ridge_span
from rnncast.errors import ModelFileError, SettingError, describe
from rnncast.intervals import Calibration
from rnncast.networks import ModelConfig
from rnncast.panel import DATES, POSITIONS, STEPS, Clock, Panel, SeriesData
from rnncast.plan import Plan
from rnncast.scaling import LOG1P, SCALERS, Scaler
from rnncast.timeindex import spans
from rnncast.training import TrainConfig
from rnncast.transforms import Transforms

T = TypeVar("T")

FORMAT = files.MODEL_FORMAT
# 4: the plan (what the data decided) in place of the resolved series settings; 3: the series'
# tails as one flat tensor with per-series lengths and clocks (2: a tensor per series, a JSON
# object per series; 1: a JSON list of scalers)
FORMAT_VERSION = 4
READS = (1, 2, 3, 4)
CONFIG, WEIGHTS = "config.json", "weights.safetensors"


def save_model(model, path: str | Path, version: str) -> Path:
    """Save a fitted :class:`~rnncast.forecaster.Forecaster` as a model directory, swapped in
    whole for an older model at ``path`` (never for a folder that is not an rnncast model)."""
    return files.replace_directory(path, lambda folder: write_model(model, folder, version))


def write_model(model, folder: Path, version: str) -> None:
    """Write a fitted model's two files into the (new, empty) ``folder``."""
    if not model.nets:
        raise ValueError("fit the model before saving it")
    plan, panel = model.plan, model.panel
    tensors = {f"member{k}.{name}": p.detach().cpu().contiguous()
               for k, net in enumerate(model.nets) for name, p in net.state_dict().items()}
    # what each series needs to forecast again, and enough of its past to draw beside a forecast
    ridge = ridge_span(plan.season, plan.second_season) if "ridge_x" in plan.combine else 0
    tails = panel.tail(max(plan.max_window, 4 * plan.season, 3 * plan.head, 48, ridge))
    tensors["history"] = torch.from_numpy(np.ascontiguousarray(tails.values, dtype=np.float64))
    tensors["tail_lengths"] = torch.from_numpy(tails.lengths.astype(np.int64))
    tensors["ends"] = torch.from_numpy(tails.ends.astype(np.int64))
    first = tails.clock.first
    dated = tails.clock.kind == DATES
    tensors["first"] = torch.tensor(first.as_unit("ns").asi8 if dated else first.to_numpy(),
                                    dtype=torch.int64)  # dates: nanoseconds since 1970 (UTC)
    tensors["step"] = torch.from_numpy(tails.clock.step.astype(np.int64))
    transforms = model.transforms  # per series, as tensors: JSON would be slow for many series
    tensors["shift"] = torch.tensor(transforms.shift, dtype=torch.float64)
    tensors["scale"] = torch.tensor(transforms.scale, dtype=torch.float64)
    if transforms.seasonal is not None:
        tensors["seasonal"] = torch.tensor(transforms.seasonal, dtype=torch.float64)
    if model.classical is not None:  # the classical forecasts combined with the network's
        tensors["classical"] = torch.tensor(model.classical, dtype=torch.float64)
    if model.channels.static is not None:  # the static covariates, encoded
        tensors["static"] = torch.tensor(model.channels.static, dtype=torch.float64)
    if model.calibration is not None:  # forecast errors for prediction intervals
        tensors["calibration"] = torch.tensor(model.calibration.scores, dtype=torch.float32)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rnncast_version": version,
        **model.config(),
        "ensemble": len(model.nets),
        "aggregate": model.aggregate,
        "n_features": int(panel.values.shape[1]),
        "scaler": {"kind": transforms.kind,
                   "log": transforms.log if transforms.log == LOG1P else bool(transforms.log)},
        "data": {
            "columns": list(panel.columns),
            "freq": panel.freq,
            "ids": panel.ids,
            "id_name": panel.id_name,
            "name": panel.time_name,
            "clock": tails.clock.kind,
            "time_zone": str(first.tz) if dated and first.tz else None,
            "time_unit": first.unit if dated else None,
        },
    }
    (folder / WEIGHTS).write_bytes(save(tensors))
    (folder / CONFIG).write_text(json.dumps(config, indent=2))


@dataclass(frozen=True)
class Saved:
    """Everything a model directory holds, checked: what a forecaster is rebuilt from."""

    model: ModelConfig
    plan: Plan
    train: TrainConfig
    ensemble: int
    aggregate: str
    transforms: Transforms
    panel: Panel
    weights: dict  # member{k}.<parameter> -> tensor
    calibration: Calibration | None
    classical: np.ndarray | None = None  # (methods, series, steps, targets); NaN: none there
    static: np.ndarray | None = None  # (series, channels): the static covariates, encoded


def load_model(path: str | Path, build: Callable[[Saved], T]) -> T:
    """Read a model directory written by :func:`save_model` and ``build`` the model from it
    (:meth:`rnncast.Forecaster.load` passes its own constructor, so imports run one way); never
    unpickles anything. Every field is checked (types, shapes, dtypes, finite values): a bad
    file is one :class:`ModelFileError`, never a model that forecasts nonsense."""
    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"{path}: no model directory here (expected {CONFIG} and {WEIGHTS})")
    for name in (CONFIG, WEIGHTS):
        if not (path / name).is_file():
            raise ModelFileError(f"{path}: not a complete model directory, {name} is missing")
    try:
        config = json.loads((path / CONFIG).read_text())
    except OSError as error:
        raise ModelFileError(f"{path / CONFIG}: cannot be read ({describe(error)})") from None
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
        raise ModelFileError(f"{path / WEIGHTS}: cannot be read ({describe(error)})") from None
    except Exception as error:  # safetensors' own errors: a damaged file
        raise ModelFileError(f"{path / WEIGHTS}: corrupt weights file ({_first(error)})") from None
    try:
        return build(_restore(config, tensors))
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


def _restore(config: dict, tensors: dict) -> Saved:
    """What a checked ``config`` and its ``tensors`` describe."""
    settings = "plan" if config.get("format_version", 0) >= 4 else "series"
    for key in ("model", settings, "train", "data"):
        _check(isinstance(config.get(key), dict), f"{CONFIG}: '{key}' must be an object")
    ensemble, n_features = config.get("ensemble"), config.get("n_features")
    _check(type(ensemble) is int and ensemble >= 1, f"{CONFIG}: 'ensemble' must be a positive integer")
    _check(type(n_features) is int and n_features >= 1,
           f"{CONFIG}: 'n_features' must be a positive integer")
    plan = _plan(config[settings], settings)
    aggregate = config.get("aggregate", "median")
    _check(aggregate in ("median", "mean"), f"{CONFIG}: unknown aggregate {aggregate!r}")
    meta = config["data"]
    if "series" not in meta and "tail_lengths" not in tensors:  # 0.1.0's single-series layout
        meta = {**meta, "ids": None, "series": [meta]}
        if "history" in tensors:
            tensors["history0"] = tensors.pop("history")
        config["scalers"] = [config.get("scaler")]
    columns = meta.get("columns")
    _check(isinstance(columns, list) and len(columns) == n_features
           and all(isinstance(c, str) for c in columns),
           f"{CONFIG}: 'columns' must list {n_features} column names")
    panel = (_panel(meta, tensors, columns) if "tail_lengths" in tensors
             else _legacy_panel(meta, tensors, columns))
    n = len(panel)
    if "shift" in tensors:  # formats 2 and 3
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
        shift = np.stack([s.shift for s in scalers])
        scale = np.stack([s.scale for s in scalers])
    _check(kind in SCALERS and (isinstance(log, bool) or log == LOG1P),
           f"{CONFIG}: unknown scaler {kind!r}")
    _check(shift.shape == (n, n_features) and scale.shape == (n, n_features),
           f"{CONFIG}: the scaler must hold {n} series x {n_features} columns")
    bad = ~(np.isfinite(shift).all(1) & np.isfinite(scale).all(1) & (scale > 0).all(1))
    _check(not bad.any(), f"{CONFIG}: the scaler of series {int(np.argmax(bad))} is not finite "
                          f"and positive for {n_features} columns")
    targets = n_features - len(plan.inputs_only) if plan.own_scale else None
    _check(targets is None or targets >= 1, f"{CONFIG}: every column is a covariate")
    seasonal = None
    if "seasonal" in tensors:
        seasonal = _finite_tensor(tensors, "seasonal", 3, torch.float64).numpy()
        _check(seasonal.shape[0] == n and seasonal.shape[2] == n_features
               and (seasonal > 0).all(), "tensor 'seasonal' must be positive (series, season, columns)")
    classical = tensors.pop("classical", None)
    if classical is not None:
        _check(classical.dtype == torch.float64 and classical.dim() == 4
               and tuple(classical.shape[:2]) == (len(plan.combine), n)
               and not torch.isinf(classical).any(),
               f"tensor 'classical' must hold {len(plan.combine)} methods x {n} series "
               "of float64 forecasts")
        classical = classical.numpy()
    static = tensors.pop("static", None)
    if static is not None or plan.static:
        _check(static is not None and static.dtype == torch.float64 and static.dim() == 2
               and static.shape[0] == n and bool(torch.isfinite(static).all()),
               f"tensor 'static' must hold the static covariates of {n} series (float64)")
        static = static.numpy()
    calibration = None
    if "calibration" in tensors:
        calibration = Calibration(_finite_tensor(tensors, "calibration", 3, torch.float32).numpy())
    for name, t in tensors.items():
        _check(t.dtype == torch.float32, f"weight '{name}' is {t.dtype}, expected torch.float32")
        _check(bool(torch.isfinite(t).all()), f"weight '{name}' holds NaN or infinite values")
    return Saved(ModelConfig(**config["model"]), plan, TrainConfig(**config["train"]),
                 ensemble, aggregate, Transforms(kind, log, shift, scale, seasonal, targets), panel,
                 tensors, calibration, classical, static)


def _plan(data: dict, key: str) -> Plan:
    """The plan a model directory stores (``plan``), or the one its resolved ``series``
    settings describe (formats 1–3, whose models predate the settings they lack)."""
    _check(key != "series" or data.get("window") is not None, f"{CONFIG}: the model has no window")
    try:
        return Plan.from_dict(data) if key == "plan" else Plan.from_series_config(data)
    except (SettingError, TypeError) as error:
        raise ModelFileError(f"{CONFIG}: {key}: {error}") from None


def _ids(meta: dict, n: int) -> list[str] | None:
    ids = meta.get("ids")
    _check(ids is None or (isinstance(ids, list) and len(ids) == n
                           and all(isinstance(i, str) for i in ids)),
           f"{CONFIG}: 'ids' must list one name per series")
    return ids


def _int_tensor(tensors: dict, name: str, n: int, low: int) -> np.ndarray:
    t = tensors.pop(name, None)
    _check(t is not None and t.dtype == torch.int64 and t.shape == (n,),
           f"{WEIGHTS}: tensor '{name}' must hold {n} whole numbers")
    values = t.numpy()
    _check(bool((values >= low).all()), f"{WEIGHTS}: tensor '{name}' holds a value below {low}")
    return values


def _panel(meta: dict, tensors: dict, columns: list[str]) -> Panel:
    """Format 3: the tails end to end in one tensor, each series' clock in four more."""
    history = _finite_tensor(tensors, "history", 2, torch.float64).numpy()
    _check(history.shape[1] == len(columns), f"tensor 'history' must be (time, {len(columns)})")
    lengths = tensors.get("tail_lengths")
    n = len(lengths) if lengths is not None and lengths.dim() == 1 else -1
    _check(n >= 1, f"{WEIGHTS}: tensor 'tail_lengths' must list the series")
    lengths = _int_tensor(tensors, "tail_lengths", n, 1)
    ends = _int_tensor(tensors, "ends", n, 1)
    first = _int_tensor(tensors, "first", n, np.iinfo(np.int64).min)
    step = _int_tensor(tensors, "step", n, 1)
    _check(int(lengths.sum()) == len(history) and bool((ends >= lengths).all()),
           f"{WEIGHTS}: the series' lengths do not match tensor 'history'")
    kind, freq, name = meta.get("clock"), meta.get("freq"), meta.get("name")
    _check(kind in (DATES, STEPS, POSITIONS), f"{CONFIG}: unknown clock {kind!r}")
    _check(name is None or isinstance(name, str), f"{CONFIG}: 'name' must be a column name")
    if kind == DATES:
        _check(isinstance(freq, str) and bool(freq), f"{CONFIG}: dated series need a 'freq'")
        try:
            pd.tseries.frequencies.to_offset(freq)
            stamps = pd.DatetimeIndex(first.view("M8[ns]"), name=name)
            zone, unit = meta.get("time_zone"), meta.get("time_unit")
            stamps = stamps.tz_localize("UTC").tz_convert(zone) if zone else stamps
            stamps = stamps.as_unit(unit) if unit else stamps
        except (ValueError, TypeError) as error:
            raise ModelFileError(f"{CONFIG}: unreadable dates ({_first(error)})") from None
    else:
        stamps = pd.Index(first)
    clock = Clock(kind, stamps, step, freq if kind == DATES else None, name)
    return Panel(history, np.r_[0, np.cumsum(lengths)], list(columns), clock, _ids(meta, n),
                 meta.get("id_name") or "id", ends - lengths)


def _legacy_panel(meta: dict, tensors: dict, columns: list[str]) -> Panel:
    """Formats 1 and 2: a tail tensor and a JSON object per series."""
    items = meta.get("series")
    _check(isinstance(items, list) and len(items) >= 1, f"{CONFIG}: 'series' must be a non-empty list")
    ids = _ids(meta, len(items))
    histories = []
    for k, item in enumerate(items):
        _check(isinstance(item, dict), f"{CONFIG}: series {k} must be an object")
        history = _finite_tensor(tensors, f"history{k}", 2, torch.float64).numpy()
        _check(history.shape[1] == len(columns) and len(history) >= 1,
               f"tensor 'history{k}' must be (time, {len(columns)})")
        _check(type(item.get("length")) is int and item["length"] >= len(history),
               f"{CONFIG}: series {k} has no valid 'length'")
        histories.append(history)
    freq, name = meta.get("freq"), meta.get("name")
    indexes = [_index(item, len(h), name) for item, h in zip(items, histories, strict=True)]
    dated = [k for k, item in enumerate(items) if item.get("index") == "datetime" and freq]
    if dated:  # the stored tails' dates, sliced from one grid
        ends = pd.DatetimeIndex(pd.to_datetime([items[k]["last"] for k in dated]), name=name)
        rows = np.array([len(histories[k]) for k in dated])
        for k, index in zip(dated, spans(ends, freq, rows, 0), strict=True):
            indexes[k] = index
    series = [SeriesData(h, index, columns, freq, item["length"] - len(h))
              for item, h, index in zip(items, histories, indexes, strict=True)]
    return Panel.of(series, ids, meta.get("id_name") or "id")


def _index(meta: dict, rows: int, name: str | None) -> pd.Index | None:
    """Rebuild the time index of the stored tail of a series (formats 1 and 2)."""
    if meta.get("index") == "integer":
        step = int(meta.get("step", 1))
        return pd.Index(np.arange(meta["last"] - step * (rows - 1), meta["last"] + 1, step), name=name)
    return None  # dates: filled in for all series at once; else positions
