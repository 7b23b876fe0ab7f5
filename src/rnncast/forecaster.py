"""The user's object: ``Forecaster(...).fit(y).predict(horizon)``.

It ties the pieces together: data → scaling → windows → network → training → forecasting.
One series is a panel of one: a list of series, a dict, or a long table trains one global
model across all of them, each scaled on its own, and forecasts them in one batched pass.

Defaults are chosen to work on an ordinary seasonal series without tuning: a log for positive
data, standard scaling fitted on the training data, each window normalised by its own last
season's level (so trends past the training range still forecast), a direct multi-step head,
early stopping on the end of the training data, a refit on all of it, the median of 5 seeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import torch

from rnncast import forecasting
from rnncast.data import Panel, SeriesData, as_panel, future_index
from rnncast.errors import DataError
from rnncast.networks import ModelConfig, RecurrentNet
from rnncast.scaling import SCALERS, Scaler, first_level, seasonal_indices, window_level
from rnncast.training import EpochInfo, History, TrainConfig, seed_everything, train
from rnncast.windows import count_windows, make_windows

log = logging.getLogger(__name__)

STRATEGIES = ("direct", "recursive", "stateful")
SHORT = ("error", "pad", "skip")


@dataclass(frozen=True)
class SeriesConfig:
    """How series become training pairs and back (stored in a model directory's JSON).

    ``window``: input length, or several (ensemble members take them in turn); None: three
    seasons, at least 8. ``horizon``: steps the direct head emits (None: one season).
    ``validation``: points at the end of each training series held out for early stopping
    (None: the larger of ``horizon`` and a tenth of the series; 0: none). ``deseasonalize``:
    divide by classical multiplicative seasonal indices first (the Theta/ES-RNN route).
    ``short``: a series too short for one window is an ``error``, ``pad``-ded at the start with
    its first value, or ``skip``-ped (None: error for one series, pad for many).
    """

    window: int | tuple[int, ...] | None = None
    horizon: int | None = None
    season: int | None = None
    strategy: str = "direct"
    scaler: str = "standard"
    log: bool | str = "auto"
    level: bool = True
    validation: int | None = None
    refit: bool = True
    deseasonalize: bool = False
    short: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.window, list | tuple):
            object.__setattr__(self, "window", tuple(int(w) for w in self.window))
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.scaler not in SCALERS:
            raise ValueError(f"scaler must be one of {SCALERS}, got {self.scaler!r}")
        if self.log not in (True, False, "auto"):
            raise ValueError(f"log must be True, False or 'auto', got {self.log!r}")
        if self.short is not None and self.short not in SHORT:
            raise ValueError(f"short must be one of {SHORT}, got {self.short!r}")
        for name, value in (("window", w) for w in self.windows or ()):
            _positive(name, value)
        for name in ("horizon", "season"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))
        if self.validation is not None and self.validation < 0:
            raise ValueError(f"validation must be >= 0, got {self.validation}")

    @property
    def windows(self) -> tuple[int, ...] | None:
        """The window of each ensemble member, in turn."""
        if self.window is None:
            return None
        return self.window if isinstance(self.window, tuple) else (self.window,)

    @property
    def max_window(self) -> int:
        return max(self.windows)

    def resolved(self, panel: Panel) -> SeriesConfig:
        """Fill the automatic choices from the data (the first series gives the frequency)."""
        first = panel.series[0]
        season = self.season or first.season
        horizon = self.horizon or max(season, 1)
        window = self.window or max(3 * season, 8)
        positive = all(bool((s.values > 0).all()) for s in panel.series)
        use_log = self.log if self.log != "auto" else positive
        if self.deseasonalize and not positive:
            raise DataError("deseasonalize needs strictly positive series; use deseasonalize=False")
        validation = self.validation
        if validation is None:
            validation = max(horizon, int(np.median([len(s.values) for s in panel.series])) // 10)
        short = self.short or ("error" if panel.single else "pad")
        return replace(self, season=season, horizon=horizon, window=window, log=use_log,
                       validation=validation, short=short)

    @property
    def head(self) -> str:
        return {"direct": "direct", "recursive": "last", "stateful": "sequence"}[self.strategy]

    @property
    def head_horizon(self) -> int:
        return self.horizon if self.strategy == "direct" else 1

    def level_span(self, window: int) -> int:
        return min(self.season or 1, window)

    def level_fn(self, window: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """The window → level function. Sequence training scores every step, so its level comes
        from the first steps of the window (causal for the steps after them)."""
        if not self.level:
            return forecasting.no_level
        span = self.level_span(window)
        if self.strategy == "stateful":
            return lambda w: first_level(w, span)
        return lambda w: window_level(w, span)

    def to_dict(self) -> dict:
        return asdict(self)


def _positive(name: str, value) -> None:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class Forecaster:
    """A recurrent forecaster for one series or many (uni- or multivariate).

    >>> model = Forecaster(cell="lstm", horizon=12).fit(y)   # y: pandas Series, monthly
    >>> model.predict(12)                                   # a Series with the next 12 months
    """

    def __init__(
        self,
        cell: str = "lstm",
        window: int | tuple[int, ...] | None = None,
        horizon: int | None = None,
        units: int = 64,
        layers: int = 1,
        *,
        dropout: float = 0.0,
        activation: str = "tanh",
        init: str = "xavier",
        layer_norm: bool = False,
        forget_bias: float = 1.0,
        fused: bool | None = None,
        strategy: str = "direct",
        season: int | None = None,
        scaler: str = "standard",
        log: bool | str = "auto",
        level: bool = True,
        deseasonalize: bool = False,
        short: str | None = None,
        validation: int | None = None,
        refit: bool = True,
        epochs: int = 300,
        batch_size: int = 32,
        lr: float = 3e-3,
        loss: str = "mse",
        patience: int = 40,
        clip_norm: float | None = 1.0,
        clip_value: float | None = None,
        spike_guard: float | None = 10.0,
        ensemble: int = 5,
        aggregate: str = "median",
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        if ensemble < 1:
            raise ValueError(f"ensemble must be >= 1, got {ensemble}")
        if aggregate not in ("median", "mean"):
            raise ValueError(f"aggregate must be 'median' or 'mean', got {aggregate!r}")
        self.ensemble, self.aggregate = ensemble, aggregate
        self.model_config = ModelConfig(cell, units, layers, dropout, activation, init,
                                        forget_bias, layer_norm, fused)
        self.series_config = SeriesConfig(window, horizon, season, strategy, scaler, log, level,
                                          validation, refit, deseasonalize, short)
        self.train_config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                                        patience=patience, clip_norm=clip_norm,
                                        clip_value=clip_value, spike_guard=spike_guard, seed=seed)
        self.device = torch.device(device)
        self.nets: list[RecurrentNet] = []
        self.histories: list[History] = []
        self.scalers: list[Scaler] = []
        self.seasonal: np.ndarray | None = None  # (N, season, F) multiplicative indices
        self.panel: Panel | None = None

    @classmethod
    def from_configs(cls, model: ModelConfig, series: SeriesConfig, train: TrainConfig,
                     ensemble: int = 1, device: str = "cpu") -> Forecaster:
        """Build from the three configuration objects (as stored in a model directory)."""
        self = cls(ensemble=ensemble, device=device)
        self.model_config, self.series_config, self.train_config = model, series, train
        return self

    @property
    def history(self) -> History | None:
        """Training history of the first ensemble member."""
        return self.histories[0] if self.histories else None

    @property
    def data(self) -> SeriesData | None:
        """The (first) series the model was fitted on."""
        return self.panel.series[0] if self.panel else None

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, y, callback: Callable[[EpochInfo], None] | None = None) -> Forecaster:
        """Train on the whole of ``y`` (early stopping on the last ``validation`` points of
        each series). ``y``: a series (pandas, NumPy), a list or dict of series, or a Panel."""
        panel = as_panel(y)
        cfg = self.series_config.resolved(panel)
        panel = self._keep_long_enough(panel, cfg)
        W, h, v = cfg.max_window, cfg.head_horizon, cfg.validation
        if panel.single and count_windows(len(panel.series[0].values) - v, W, h) < 2:
            log.warning("series too short to hold out %d validation points; training without", v)
            cfg = replace(cfg, validation=0)
        widths = {s.values.shape[1] for s in panel.series}
        if len(widths) > 1:
            raise DataError(f"all series need the same number of columns, got {sorted(widths)}")
        n_features = widths.pop()
        self.panel, self.fitted_config = panel, cfg  # set now, so callbacks can forecast
        Z = self._fit_transform(panel, cfg)
        self.nets, self.histories = [], []
        pairs = {w: self._pairs(Z, cfg, w) for w in set(cfg.windows)}  # built once per length
        for member in range(self.ensemble):
            window = cfg.windows[member % len(cfg.windows)]
            X, Y, Xv, Yv = pairs[window]
            tc = replace(self.train_config, seed=self.train_config.seed + 1000 * member)
            net = self._new_net(n_features, cfg, window, tc.seed)
            report = None if callback is None else _tagged(callback, member)
            validation = (Xv, Yv) if len(Xv) else None
            history = train(net, X, Y, tc, validation, report)
            if validation is not None and cfg.refit:
                # Same seed, all pairs, as many epochs as early stopping found best.
                net = self._new_net(n_features, cfg, window, tc.seed)
                train(net, torch.cat([X, Xv]), torch.cat([Y, Yv]), replace(tc, restore_best=False),
                      epochs=max(1, history.best_epoch))
            self.nets.append(net)
            self.histories.append(history)
        return self

    def _keep_long_enough(self, panel: Panel, cfg: SeriesConfig) -> Panel:
        """Apply the ``short`` policy to series without one full (window → horizon) pair."""
        need = cfg.max_window + cfg.head_horizon
        short = [k for k, s in enumerate(panel.series) if len(s.values) < need]
        if not short:
            return panel
        names = [panel.ids[k] if panel.ids else "the series" for k in short]
        listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        if cfg.short == "error":
            n = len(panel.series[short[0]].values)
            what = f"series '{names[0]}'" if panel.ids else "series"
            raise DataError(f"{what} of length {n} is too short for window {cfg.max_window} + "
                            f"horizon {cfg.head_horizon}; use a shorter window or horizon")
        if cfg.short == "skip":
            log.warning("skipped %d series too short for window + horizon = %d: %s",
                        len(short), need, listed)
            keep = [k for k in range(len(panel.series)) if k not in set(short)]
            if not keep:
                raise DataError(f"every series is shorter than window + horizon = {need}")
            return Panel([panel.series[k] for k in keep], [panel.ids[k] for k in keep],
                         panel.id_name)
        log.info("padding %d short series at the start: %s", len(short), listed)
        return panel

    def _fit_transform(self, panel: Panel, cfg: SeriesConfig) -> list[np.ndarray]:
        """Fit each series' seasonal indices and scaler on its own data; the scaled series."""
        m = cfg.season or 1
        if cfg.deseasonalize and m > 1:
            self.seasonal = np.stack([
                np.stack([seasonal_indices(col, m) for col in s.values.T], axis=1)  # (m, F)
                for s in panel.series])
        else:
            self.seasonal = None
        adjusted = [self._deseason(k, s.values, 0) for k, s in enumerate(panel.series)]
        self.scalers = [Scaler(cfg.scaler, cfg.log).fit(a) for a in adjusted]
        return [scaler.transform(a) for scaler, a in zip(self.scalers, adjusted, strict=True)]

    def _deseason(self, k: int, values: np.ndarray, start: int) -> np.ndarray:
        """Divide series ``k``'s values at positions ``start, start+1, …`` by its seasonal
        indices (:meth:`_inverse_all` multiplies them back)."""
        if self.seasonal is None:
            return values
        si = self.seasonal[k]  # (m, F)
        return values / si[(start + np.arange(len(values))) % len(si)]  # (T, F)

    def _pairs(self, Z: list[np.ndarray], cfg: SeriesConfig, window: int):
        """Training and validation tensors across all series: level-normalised ``X (N, W, F)``,
        ``Y (N, h, F)``. The last ``validation`` pairs of each series (targets ending in its last
        ``validation`` points) are held out; training pairs' targets all end before them.

        For sequence training (``stateful``) every step predicts the next: spans of
        ``window + horizon`` give ``X (N, W+h-1, F)`` and ``Y`` = ``X`` shifted by one step.
        """
        v = cfg.validation
        span = window + cfg.horizon - 1 if cfg.head == "sequence" else window
        horizon = 1 if cfg.head == "sequence" else cfg.head_horizon
        need = cfg.max_window + cfg.head_horizon + v  # pad to this when the policy says so
        train_parts, val_parts = [], []
        for z in Z:
            if cfg.short == "pad" and len(z) < need:
                z = np.concatenate([np.repeat(z[:1], need - len(z), axis=0), z])  # (need, F)
            X, Y = make_windows(z, span, horizon)
            pairs = np.concatenate([X, Y], axis=1)  # (n, span + horizon, F): one array per series
            n_val = min(v, len(pairs) - 1) if v else 0
            train_parts.append(pairs[: len(pairs) - n_val])
            val_parts.append(pairs[len(pairs) - n_val :])
        return (*self._split_pairs(np.concatenate(train_parts), cfg, window, span),
                *self._split_pairs(np.concatenate(val_parts), cfg, window, span))

    def _split_pairs(self, pairs: np.ndarray, cfg: SeriesConfig, window: int, span: int):
        pairs = torch.tensor(pairs, dtype=torch.float32, device=self.device)  # copies the views
        if cfg.head == "sequence":
            X, Y = pairs[:, :-1], pairs[:, 1:]  # (N, W+h-1, F) each, Y one step ahead
        else:
            X, Y = pairs[:, :span], pairs[:, span:]
        offset = cfg.level_fn(window)(X) if len(X) else 0  # (N, 1, F)
        if cfg.head == "sequence" and cfg.level:
            Y = Y[:, cfg.level_span(window) - 1 :]  # steps scored: after the level
        return X - offset, Y - offset

    def _new_net(self, n_features: int, cfg: SeriesConfig, window: int, seed: int) -> RecurrentNet:
        seed_everything(seed)
        skip = cfg.level_span(window) - 1 if cfg.head == "sequence" and cfg.level else 0
        net = RecurrentNet(self.model_config, n_features, n_features, cfg.head, cfg.head_horizon,
                           skip)
        net.window = window  # the input length this member reads
        return net.to(self.device)

    # -- forecasting ---------------------------------------------------------------------------
    def predict(self, horizon: int | None = None, y=None, strategy: str | None = None):
        """Forecast ``horizon`` steps past the end of the training data (or of ``y``).

        One series: a pandas Series (one target) or DataFrame indexed by the future times.
        Many: a long DataFrame with the id, the time and one column per target.
        """
        if not self.nets:
            raise RuntimeError("call fit() before predict()")
        cfg = self.fitted_config
        horizon = horizon or cfg.horizon
        _positive("horizon", horizon)
        panel = self.panel if y is None else as_panel(y)
        if len(panel.series) != len(self.scalers):
            raise DataError(f"the model was fitted on {len(self.scalers)} series, "
                            f"got {len(panel.series)}")
        window = torch.as_tensor(self._last_windows(panel), dtype=torch.float32,
                                 device=self.device)  # (B, W, F)
        scaled = self.forecast_scaled(window, horizon, strategy)  # (B, horizon, F)
        lengths = np.array([len(s.values) for s in panel.series])
        values = self._inverse_all(scaled, lengths)  # (B, horizon, F), original units
        indexes = [future_index(s.index, s.freq, len(s.values), horizon) for s in panel.series]
        first = panel.series[0]
        if panel.single:
            frame = pd.DataFrame(values[0], index=indexes[0], columns=first.columns)
            return frame.iloc[:, 0] if frame.shape[1] == 1 else frame
        time_name = (first.index.name if first.index is not None else None) or "time"
        long = {panel.id_name: np.repeat(np.asarray(panel.ids, dtype=object), horizon),
                time_name: np.concatenate([np.asarray(i) for i in indexes])}
        long.update(zip(first.columns, values.reshape(-1, values.shape[2]).T, strict=True))
        return pd.DataFrame(long)

    def _inverse_all(self, scaled: np.ndarray, lengths: np.ndarray, rows=slice(None)) -> np.ndarray:
        """Undo scaling, log and seasonal adjustment for many series at once: ``(B, h, F)``
        scaled → original units, for the series ``rows`` (all by default); series ``b``'s first
        step is position ``lengths[b]``."""
        scalers = np.asarray(self.scalers, dtype=object)[rows]
        shift = np.stack([s.shift for s in scalers])[:, None, :]  # (B, 1, F)
        scale = np.stack([s.scale for s in scalers])[:, None, :]
        values = scaled * scale + shift
        if self.scalers[0].log:
            values = np.exp(values)
        if self.seasonal is not None:
            m, steps = self.seasonal.shape[1], scaled.shape[1]
            phase = (lengths[:, None] + np.arange(steps)) % m  # (B, h)
            values = values * np.take_along_axis(self.seasonal[rows], phase[:, :, None], axis=1)
        return values

    def _last_windows(self, panel: Panel) -> np.ndarray:
        """The last ``max_window`` scaled points of every series, padded at the start if short."""
        W, out = self.fitted_config.max_window, []
        for k, s in enumerate(panel.series):
            tail = s.values[-W:]
            z = self.scalers[k].transform(self._deseason(k, tail, len(s.values) - len(tail)))
            if len(z) < W:
                if self.fitted_config.short != "pad":
                    raise DataError(f"need at least window = {W} points to forecast, got {len(z)}")
                z = np.concatenate([np.repeat(z[:1], W - len(z), axis=0), z])
            out.append(z)
        return np.stack(out)

    def forecast_scaled(self, window: torch.Tensor, steps: int, strategy: str | None = None):
        """Batched forecast in the scaled space: ``(B, W, F) -> (B, steps, F)`` NumPy; the
        median (or mean) over ensemble members, each reading its own window length from the end.
        The mean is taken in the scaled space: a geometric mean when a log is used."""
        cfg = self.fitted_config
        strategy = strategy or cfg.strategy
        if (strategy == "direct") != (cfg.strategy == "direct"):
            raise ValueError(f"a model trained for strategy {cfg.strategy!r} cannot forecast "
                             f"with {strategy!r}")
        run = forecasting.STRATEGIES[strategy]
        members = [run(net, window[:, -net.window :], steps, cfg.level_fn(net.window))
                   for net in self.nets]
        stacked = torch.stack(members)
        combined = stacked.median(0).values if self.aggregate == "median" else stacked.mean(0)
        return combined.double().cpu().numpy()

    def forecast_with(self, net: RecurrentNet, steps: int) -> np.ndarray:
        """Forecast ``(steps, F)`` past the first series with one network, for instance the one
        being trained (the deck's picture of the forecast improving while training)."""
        cfg, w = self.fitted_config, net.window
        first = Panel([self.panel.series[0]])
        window = torch.as_tensor(self._last_windows(first)[:1, -w:], dtype=torch.float32,
                                 device=self.device)
        was_training = net.training
        out = forecasting.STRATEGIES[cfg.strategy](net, window, steps, cfg.level_fn(w))
        net.train(was_training)
        length = np.array([len(self.panel.series[0].values)])
        return self._inverse_all(out.double().cpu().numpy(), length, rows=[0])[0]

    # -- saving --------------------------------------------------------------------------------
    def restore(self, scalers: list[Scaler], panel: Panel, weights: dict, n_features: int,
                seasonal: np.ndarray | None = None) -> None:
        """Install a fitted state: scalers, the tails of the series, each member's weights."""
        cfg = self.fitted_config = self.series_config
        self.scalers, self.panel, self.seasonal, self.nets = scalers, panel, seasonal, []
        for k in range(self.ensemble):
            net = self._new_net(n_features, cfg, cfg.windows[k % len(cfg.windows)], seed=0)
            prefix = f"member{k}."
            net.load_state_dict({name[len(prefix):]: t for name, t in weights.items()
                                 if name.startswith(prefix)})
            self.nets.append(net.eval())

    def save(self, path) -> None:
        """Write a model directory (safetensors weights + JSON config), atomically."""
        from rnncast import __version__
        from rnncast.persistence import save_model

        save_model(self, path, __version__)

    @staticmethod
    def load(path) -> Forecaster:
        """Read a model directory written by :meth:`save`."""
        from rnncast.persistence import load_model

        return load_model(path)

    def config(self) -> dict:
        """Every setting, as stored beside the weights."""
        series = getattr(self, "fitted_config", self.series_config)
        return {"model": self.model_config.to_dict(), "series": series.to_dict(),
                "train": self.train_config.to_dict()}


def _tagged(callback: Callable[[EpochInfo], None], member: int) -> Callable[[EpochInfo], None]:
    """Pass the ensemble member's number along with each epoch's report."""
    return lambda info: callback(replace(info, member=member))
