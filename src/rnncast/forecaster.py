"""The user's object: ``Forecaster(...).fit(y).predict(horizon)``.

It ties the pieces together: data → scaling → windows → network → training → forecasting.
Defaults are chosen to work on an ordinary seasonal series without tuning: a log for positive
data, standard scaling fitted on the training data, each window normalised by its own last
season's level (so trends past the training range still forecast), a direct multi-step head,
early stopping on the end of the training data, then a refit on all of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import torch

from rnncast import forecasting
from rnncast.data import SeriesData, as_series, future_index
from rnncast.errors import DataError
from rnncast.networks import ModelConfig, RecurrentNet
from rnncast.scaling import SCALERS, Scaler, first_level, window_level
from rnncast.training import EpochInfo, History, TrainConfig, seed_everything, train
from rnncast.windows import count_windows, make_windows

log = logging.getLogger(__name__)

STRATEGIES = ("direct", "recursive", "stateful")


@dataclass(frozen=True)
class SeriesConfig:
    """How a series becomes training pairs and back (stored in a model directory's JSON).

    ``window``: input length (None: three seasons, at least 8). ``horizon``: steps the direct
    head emits (None: one season, at least 1). ``validation``: points at the end of the
    training data held out for early stopping (None: the larger of ``horizon`` and a tenth of
    the series; 0: none).
    """

    window: int | None = None
    horizon: int | None = None
    season: int | None = None
    strategy: str = "direct"
    scaler: str = "standard"
    log: bool | str = "auto"
    level: bool = True
    validation: int | None = None
    refit: bool = True

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.scaler not in SCALERS:
            raise ValueError(f"scaler must be one of {SCALERS}, got {self.scaler!r}")
        if self.log not in (True, False, "auto"):
            raise ValueError(f"log must be True, False or 'auto', got {self.log!r}")
        for name in ("window", "horizon", "season"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.validation is not None and self.validation < 0:
            raise ValueError(f"validation must be >= 0, got {self.validation}")

    def resolved(self, data: SeriesData) -> SeriesConfig:
        """Fill the automatic choices from the data."""
        season = self.season or data.season
        horizon = self.horizon or max(season, 1)
        window = self.window or max(3 * season, 8)
        use_log = self.log if self.log != "auto" else bool((data.values > 0).all())
        validation = self.validation
        if validation is None:
            validation = max(horizon, len(data.values) // 10)
        return replace(self, season=season, horizon=horizon, window=window, log=use_log,
                       validation=validation)

    @property
    def head(self) -> str:
        return {"direct": "direct", "recursive": "last", "stateful": "sequence"}[self.strategy]

    @property
    def head_horizon(self) -> int:
        return self.horizon if self.strategy == "direct" else 1

    @property
    def level_span(self) -> int:
        return min(self.season or 1, self.window or 1)

    def level_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The window → level function. Sequence training scores every step, so its level comes
        from the first steps of the window (causal for the steps after them)."""
        if not self.level:
            return forecasting._no_level
        span = self.level_span
        if self.strategy == "stateful":
            return lambda w: first_level(w, span)
        return lambda w: window_level(w, span)


class Forecaster:
    """A recurrent forecaster for one series (uni- or multivariate).

    >>> model = Forecaster(cell="lstm", horizon=12).fit(y)   # y: pandas Series, monthly
    >>> model.predict(12)                                   # a Series with the next 12 months
    """

    def __init__(
        self,
        cell: str = "lstm",
        window: int | None = None,
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
        validation: int | None = None,
        refit: bool = True,
        epochs: int = 300,
        batch_size: int = 32,
        lr: float = 3e-3,
        loss: str = "mse",
        patience: int = 40,
        clip_norm: float | None = 1.0,
        clip_value: float | None = None,
        ensemble: int = 5,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        if ensemble < 1:
            raise ValueError(f"ensemble must be >= 1, got {ensemble}")
        self.ensemble = ensemble
        self.model_config = ModelConfig(cell, units, layers, dropout, activation, init,
                                        forget_bias, layer_norm, fused)
        self.series_config = SeriesConfig(window, horizon, season, strategy, scaler, log, level,
                                          validation, refit)
        self.train_config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                                        patience=patience, clip_norm=clip_norm,
                                        clip_value=clip_value, seed=seed)
        self.device = torch.device(device)
        self.nets: list[RecurrentNet] = []
        self.histories: list[History] = []
        self.scaler: Scaler | None = None
        self.data: SeriesData | None = None

    @classmethod
    def from_configs(cls, model: ModelConfig, series: SeriesConfig, train: TrainConfig,
                     ensemble: int = 1, device: str = "cpu") -> Forecaster:
        """Build from the three configuration objects (as stored in a model directory)."""
        self = cls(ensemble=ensemble, device=device)
        self.model_config, self.series_config, self.train_config = model, series, train
        return self

    def restore(self, scaler: Scaler, data: SeriesData, weights: dict, n_features: int) -> None:
        """Install a fitted state: scaler, the tail of the history, and each member's weights."""
        cfg = self.fitted_config = self.series_config
        self.scaler, self.data, self.nets = scaler, data, []
        for k in range(self.ensemble):
            net = self._new_net(n_features, cfg, seed=0)
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

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, y, callback: Callable[[EpochInfo], None] | None = None) -> Forecaster:
        """Train on the whole of ``y`` (early stopping on its last ``validation`` points)."""
        data = y if isinstance(y, SeriesData) else as_series(y)
        cfg = self.series_config.resolved(data)
        T, W, h, v = len(data.values), cfg.window, cfg.head_horizon, cfg.validation
        if count_windows(T, W, h) < 1:
            raise DataError(f"series of length {T} is too short for window {W} + horizon {h}; "
                            "use a shorter window or horizon")
        if count_windows(T - v, W, h) < 2:  # too little left to hold validation back
            log.warning("series too short to hold out %d validation points; training without", v)
            cfg = replace(cfg, validation=0)
        self.scaler = Scaler(cfg.scaler, cfg.log).fit(data.values)
        self.data, self.fitted_config = data, cfg  # set now, so callbacks can forecast
        z = self.scaler.transform(data.values)  # (T, F)
        X, Y = self._pairs(z, cfg)
        n_val_origins = max(0, min(cfg.validation, len(X) - 1))
        n_train = len(X) - n_val_origins  # pairs whose targets end before the validation range
        validation = (X[n_train:], Y[n_train:]) if n_val_origins else None
        self.nets, self.histories = [], []
        for member in range(self.ensemble):
            tc = replace(self.train_config, seed=self.train_config.seed + 1000 * member)
            net = self._new_net(data.values.shape[1], cfg, tc.seed)
            report = None if callback is None else _tagged(callback, member)
            history = train(net, X[:n_train], Y[:n_train], tc, validation, report)
            if validation is not None and cfg.refit:
                # Same seed, all pairs, as many epochs as early stopping found best.
                net = self._new_net(data.values.shape[1], cfg, tc.seed)
                train(net, X, Y, replace(tc, restore_best=False), epochs=max(1, history.best_epoch))
            self.nets.append(net)
            self.histories.append(history)
        return self

    @property
    def history(self) -> History | None:
        """Training history of the first ensemble member."""
        return self.histories[0] if self.histories else None

    def _new_net(self, n_features: int, cfg: SeriesConfig, seed: int) -> RecurrentNet:
        seed_everything(seed)
        skip = cfg.level_span - 1 if cfg.head == "sequence" and cfg.level else 0
        net = RecurrentNet(self.model_config, n_features, n_features, cfg.head, cfg.head_horizon,
                           skip)
        return net.to(self.device)

    def _pairs(self, z: np.ndarray, cfg: SeriesConfig) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled series ``(T, F)`` -> level-normalised tensors ``X (N, W, F)``, ``Y (N, h, F)``.

        For sequence training (``stateful``) every step predicts the next: spans of
        ``window + horizon`` give ``X (N, W+h-1, F)`` and ``Y`` = ``X`` shifted by one step.
        """
        if cfg.head == "sequence":
            spans = np.concatenate(make_windows(z, cfg.window + cfg.horizon - 1, 1), axis=1)
            X, Y = spans[:, :-1], spans[:, 1:]  # (N, W+h-1, F) each, Y one step ahead
        else:
            X, Y = make_windows(z, cfg.window, cfg.head_horizon)
        X = torch.tensor(X, dtype=torch.float32, device=self.device)  # copies the strided views
        Y = torch.tensor(Y, dtype=torch.float32, device=self.device)
        offset = cfg.level_fn()(X)  # (N, 1, F)
        if cfg.head == "sequence":
            Y = Y[:, cfg.level_span - 1 :] if cfg.level else Y  # steps scored: after the level
        return X - offset, Y - offset

    # -- forecasting ---------------------------------------------------------------------------
    def predict(self, horizon: int | None = None, y=None, strategy: str | None = None):
        """Forecast ``horizon`` steps past the end of the training data (or of ``y``).

        Returns a pandas Series (one target) or DataFrame indexed by the future timestamps.
        """
        if not self.nets:
            raise RuntimeError("call fit() before predict()")
        cfg = self.fitted_config
        horizon = horizon or cfg.horizon
        if int(horizon) != horizon or horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
        data = self.data if y is None else (y if isinstance(y, SeriesData) else as_series(y))
        if len(data.values) < cfg.window:
            raise DataError(f"need at least window = {cfg.window} points to forecast, "
                            f"got {len(data.values)}")
        z = self.scaler.transform(data.values[-cfg.window :])  # (W, F)
        window = torch.as_tensor(z, dtype=torch.float32, device=self.device)[None]  # (1, W, F)
        values = self.scaler.inverse(self.forecast_scaled(window, horizon, strategy)[0])
        index = future_index(data.index, data.freq, len(data.values), horizon)
        return _frame(values, index, data.columns)

    def forecast_scaled(self, window: torch.Tensor, steps: int, strategy: str | None = None):
        """Batched forecast in the scaled space: ``(B, W, F) -> (B, steps, F)`` NumPy; the
        median over ensemble members."""
        cfg = self.fitted_config
        strategy = strategy or cfg.strategy
        if (strategy == "direct") != (cfg.strategy == "direct"):
            raise ValueError(f"a model trained for strategy {cfg.strategy!r} cannot forecast "
                             f"with {strategy!r}")
        run = forecasting.STRATEGIES[strategy]
        members = torch.stack([run(net, window, steps, cfg.level_fn()) for net in self.nets])
        return members.median(0).values.double().cpu().numpy()

    def forecast_with(self, net: RecurrentNet, steps: int) -> np.ndarray:
        """Forecast ``(steps, F)`` past the training data with one network, for instance the one
        being trained (the deck's picture of the forecast improving while training)."""
        cfg = self.fitted_config
        z = self.scaler.transform(self.data.values[-cfg.window :])
        window = torch.as_tensor(z, dtype=torch.float32, device=self.device)[None]
        was_training = net.training
        out = forecasting.STRATEGIES[cfg.strategy](net, window, steps, cfg.level_fn())
        net.train(was_training)
        return self.scaler.inverse(out[0].double().cpu().numpy())

    def config(self) -> dict:
        """Every setting, as stored beside the weights."""
        return {"model": self.model_config.to_dict(),
                "series": asdict(getattr(self, "fitted_config", self.series_config)),
                "train": self.train_config.to_dict()}


def _tagged(callback: Callable[[EpochInfo], None], member: int) -> Callable[[EpochInfo], None]:
    """Pass the ensemble member's number along with each epoch's report."""
    return lambda info: callback(replace(info, member=member))


def _frame(values: np.ndarray, index: pd.Index, columns: list[str]):
    frame = pd.DataFrame(values, index=index, columns=columns)
    return frame.iloc[:, 0] if len(columns) == 1 else frame
