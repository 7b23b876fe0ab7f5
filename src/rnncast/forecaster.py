"""The user's object: ``Forecaster(...).fit(y).predict(horizon)``.

It ties the pieces together: data → scaling → windows → network → training → forecasting.
One series is a panel of one: a list of series, a dict, or a long table trains one global
model across all of them, each scaled on its own, and forecasts them in one batched pass.

The settings left out are chosen from the data (:meth:`SeriesConfig.resolve`, reasons in
``choices``) or by a named point of the recipe (:mod:`rnncast.presets`): each window normalised
by its own last season's level (so trends past the training range still forecast), a direct
multi-step head, early stopping on the end of the training data, a refit on all of it, the
median of 5 seeds, and the mean with Theta's forecast where Theta is worth it (checked before
training, judged again after it on held-out ends: :mod:`rnncast.combination`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from rnncast import combination, distributed, features, forecasting, intervals, presets
from rnncast.checkpoints import Checkpoints, fingerprint
from rnncast.cores import auto_threads, threads
from rnncast.data import Panel, SeriesData, as_panel
from rnncast.ensemble import AGGREGATES, train_members
from rnncast.errors import SettingError, bounded
from rnncast.features import Channels
from rnncast.intervals import Calibration
from rnncast.networks import ModelConfig, RecurrentNet, check_memory
from rnncast.persistence import Saved, load_model, save_model
from rnncast.recipe import SeriesConfig, keep_long_enough, positive, season_head
from rnncast.sampling import training_windows
from rnncast.training import EpochInfo, History, TrainConfig, auto_batch, seed_everything
from rnncast.transforms import Transforms
from rnncast.windows import count_windows

log = logging.getLogger(__name__)

MAX_FORECAST = 100_000  # steps one predict() may chain
MAX_ENSEMBLE = 100
CHUNK = 4096  # series forecast at a time (the activations of 4,096 windows take ~150 MB)


class Forecaster:
    """A recurrent forecaster for one series or many (uni- or multivariate).

    >>> model = Forecaster(cell="lstm", horizon=12).fit(y)   # y: pandas Series, monthly
    >>> model.predict(12)                                   # a Series with the next 12 months
    """

    def __init__(
        self,
        cell: str = "lstm", window: int | tuple[int, ...] | None = None,
        horizon: int | None = None, units: int = ModelConfig.units, layers: int = 1,
        *,
        # the network (ModelConfig)
        dropout: float = 0.0, activation: str = "tanh", init: str = "xavier",
        layer_norm: bool = False, forget_bias: float | None = None, chrono: int = 0,
        fused: bool | None = None, id_embedding: int = 0,
        # the series and how they are read (SeriesConfig; "auto": chosen from the data)
        strategy: str = "direct", season: int | None = None, scaler: str = "auto",
        log: bool | str = "auto", level: bool = True, deseasonalize: bool | str = "auto",
        combine: str | tuple[str, ...] = "auto", short: str | None = None,
        covariates: list[str] | tuple[str, ...] | None = None, calendar: bool = False,
        window_rule: tuple[tuple[float, int], ...] | None = None, zero_tail: bool = True,
        validation: int | None = None, refit: bool | None = None,
        # training (TrainConfig; None: the preset's or the default)
        epochs: int | None = None, batch_size: int | None = None, lr: float = 3e-3,
        loss: str | None = None, patience: int | None = None, clip_norm: float | None = 1.0,
        clip_value: float | None = None, spike_guard: float | None = 10.0,
        windows_per_epoch: int = TrainConfig.windows_per_epoch, max_windows: int | None = None,
        parallel: str = TrainConfig.parallel,
        # the ensemble, the recipe's named point, where it runs
        ensemble: int | None = None, aggregate: str = "median", seed: int = 0,
        preset: str = "auto", device: str = "auto", threads: int | None = None,
    ) -> None:
        given = {k: v for k, v in locals().items() if k in presets.FIELDS and v is not None}
        chosen, self.from_preset = presets.settings(preset, given)
        self.preset = preset
        epochs, loss, patience, ensemble = (chosen[k] for k in ("epochs", "loss", "patience",
                                                                 "ensemble"))
        batch_size, max_windows, refit, window_rule = (chosen.get(k) for k in (
            "batch_size", "max_windows", "refit", "window_rule"))
        if ensemble < 1:
            raise SettingError(f"ensemble must be >= 1, got {ensemble}")
        bounded("ensemble", ensemble, MAX_ENSEMBLE, "the median stops changing long before; "
                "each member costs a whole training run")
        if aggregate not in AGGREGATES:
            raise SettingError(f"aggregate must be 'median' or 'mean', got {aggregate!r}")
        self.ensemble, self.aggregate = ensemble, aggregate
        self.model_config = ModelConfig(cell, units, layers, dropout, activation, init,
                                        forget_bias, layer_norm, fused, id_embedding, chrono)
        self.series_config = SeriesConfig(window, horizon, season, strategy, scaler, log, level,
                                          validation, refit, deseasonalize, short,
                                          tuple(covariates or ()), calendar, combine,
                                          window_rule, zero_tail)
        self.train_config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                                        patience=patience, clip_norm=clip_norm,
                                        clip_value=clip_value, spike_guard=spike_guard, seed=seed,
                                        windows_per_epoch=windows_per_epoch,
                                        max_windows=max_windows, parallel=parallel)
        self.requested_train = self.train_config  # fit may trade a preset's budget (presets.budget)
        self.device = distributed.resolve_device(device)  # auto: CUDA when there is one
        self.threads = threads  # PyTorch CPU threads to fit and forecast; None: auto_threads
        self.freq: str | None = None
        self.nets: list[RecurrentNet] = []
        self.histories: list[History] = []
        self.transforms: Transforms | None = None  # per series: seasonal indices, log, scale
        self.panel: Panel | None = None
        self.calibration: Calibration | None = None  # forecast errors, for prediction intervals
        self.choices: list[str] = []  # why each automatic setting was chosen (set by fit)
        self.classical: np.ndarray | None = None  # (methods, N, steps, targets), see combination
        self.loaded = False  # read from a model directory: self.panel holds only the tails

    @classmethod
    def from_configs(cls, model: ModelConfig, series: SeriesConfig, train: TrainConfig,
                     ensemble: int = 1, device: str = "auto") -> Forecaster:
        """Build from the three configuration objects (as stored in a model directory)."""
        self = cls(ensemble=ensemble, device=device)
        self.model_config, self.series_config, self.train_config = model, series, train
        self.requested_train = train
        return self

    @property
    def history(self) -> History | None:
        """Training history of the first ensemble member."""
        return self.histories[0] if self.histories else None

    @property
    def data(self) -> SeriesData | None:
        """The (first) series the model was fitted on."""
        return self.panel.series_at(0) if self.panel else None

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, y, callback: Callable[[EpochInfo], None] | None = None,
            freq: str | None = None, checkpoints: str | Path | None = None,
            resume: bool = False) -> Forecaster:
        """Train on the whole of ``y`` (early stopping on the last ``validation`` points of
        each series). ``y``: a series (pandas, NumPy), a list or dict of series, a Panel, or a
        long DataFrame ``unique_id, ds, y``; ``freq``: its frequency where the dates do not
        tell it. ``checkpoints``: a folder for the state after every epoch; ``resume``: go on
        from the checkpoints there (same data and settings). Under torchrun, the processes
        train together (rnncast.distributed)."""
        self.freq = freq or self.freq
        with threads(self.threads):
            return self._fit(y, callback, checkpoints, resume)

    def _fit(self, y, callback: Callable[[EpochInfo], None] | None,
             folder: str | Path | None, resume: bool) -> Forecaster:
        ranks = distributed.start(self.device)
        panel, cfg = self._prepare(y)
        self.train_config, said = presets.budget(self.requested_train, self.from_preset,
                                                 self.preset, panel, cfg)
        self.choices += [said] if said else []
        check_memory(self.model_config, self.n_columns + self.n_extra, cfg.max_window,
                     self.train_config.batch_size or 128, self.n_targets * cfg.head_horizon)
        Z = self._fit_transform(panel, cfg)
        kept = None
        if folder is not None or resume:
            settings = self.config() | {"ensemble": self.ensemble, "world": ranks.world}
            kept = Checkpoints.open(folder, fingerprint(settings, [Z, panel.lengths]), resume,
                                    write=ranks.main)
            ranks.barrier()  # rank 0 has made the folder that all may write members to
        sources = training_windows(Z, panel, cfg, cfg.windows, self.channels, self.device)
        del Z  # the sources hold a float32 copy
        if self.threads is None:
            first = sources[cfg.windows[0]][0]
            torch.set_num_threads(auto_threads(self.train_config.batch_size or auto_batch(len(first))))
        judge = self.series_config.combine == "auto" and ranks.world == 1  # not a forced one
        held, early = combination.judged_rows(panel, cfg) if judge else None, []
        steps = min(cfg.validation, cfg.horizon)  # each early-stopped member's held-out forecast
        self.nets, self.histories = train_members(
            self.ensemble, cfg.windows, sources, lambda w, seed: self._new_net(cfg, w, seed),
            self.train_config, cfg.refit, callback, kept, ranks, None if held is None else
            lambda net: early.append(self.net_forecast(net, steps, held, cfg.validation)))
        if early:
            self.fitted_config, said = combination.judged(self, held, early)
            self.choices.append(said)
        # as many steps as a forecast is likely to ask for: a saved model keeps them (only the
        # process that saves needs them; another computes them if it forecasts)
        self.classical = self._classical(panel, max(2 * cfg.horizon, 2 * (cfg.season or 1), 24)) \
            if ranks.main else None
        return self

    def _classical(self, panel: Panel, steps: int) -> np.ndarray | None:
        """The forecasts combined with the network's (None when ``combine`` names none)."""
        cfg = self.fitted_config
        if not cfg.combine:
            return None
        return combination.classical_forecasts(panel, cfg.combine, steps, cfg.season or 1,
                                               self.n_targets)

    def pairs(self, y, window: int | None = None) -> tuple[torch.Tensor, ...]:
        """The level-normalised tensors one member trains on, ``(X, Y, Xv, Yv)``, for input
        length ``window`` (default: the first): what :meth:`fit` would build from ``y``."""
        panel, cfg = self._prepare(y)
        window = window or cfg.windows[0]
        data, val = training_windows(self._fit_transform(panel, cfg), panel, cfg, [window],
                                     self.channels, self.device)[window]
        return (*data.all(), *val.all())

    def _prepare(self, y) -> tuple[Panel, SeriesConfig]:
        """Check ``y`` and resolve the settings that depend on it; sets the fitted panel."""
        panel = as_panel(y, self.series_config.covariates, self.freq)
        cfg, self.choices = self.series_config.resolve(panel)
        panel = keep_long_enough(panel, cfg)
        W, h, v = cfg.max_window, cfg.head_horizon, cfg.validation
        if panel.single and count_windows(int(panel.lengths[0]) - v, W, h) < 2:
            log.warning("series too short to hold out %d validation points; training without", v)
            cfg = replace(cfg, validation=0)
        panel = features.targets_first(panel, cfg.covariates)
        self.panel, self.fitted_config = panel, cfg  # set now, so callbacks can forecast
        self._set_channels(panel, cfg)
        return panel, cfg

    def _set_channels(self, panel: Panel, cfg: SeriesConfig) -> None:
        self.channels = Channels.of(panel, cfg.covariates, cfg.season or 1, cfg.calendar,
                                    bool(self.model_config.id_embedding))

    @property
    def n_columns(self) -> int:
        """Targets and covariates: the columns the network reads and levels."""
        return self.channels.n_columns

    @property
    def n_targets(self) -> int:
        return self.channels.n_targets

    @property
    def n_extra(self) -> int:
        return self.channels.n_extra

    def _fit_transform(self, panel: Panel, cfg: SeriesConfig) -> np.ndarray:
        """Fit each series' seasonal indices and scaler on its own data; the scaled rows."""
        self.transforms = Transforms.fit_checked(panel, cfg)
        return self.transforms.forward_panel(panel)

    def _new_net(self, cfg: SeriesConfig, window: int, seed: int) -> RecurrentNet:
        seed_everything(seed)
        skip = cfg.level_span(window) - 1 if cfg.head == "sequence" and cfg.level else 0
        net = RecurrentNet(self.model_config, self.n_columns + self.n_extra, self.n_targets,
                           cfg.head, cfg.head_horizon, skip, n_ids=len(self.panel))
        net.window = window  # the input length this member reads
        return net.to(self.device)

    # -- forecasting ---------------------------------------------------------------------------
    def predict(self, horizon: int | None = None, y=None, strategy: str | None = None,
                levels: tuple[float, ...] | list[float] | None = None, combined: bool = True):
        """Forecast ``horizon`` steps past the end of the training data (or of ``y``).

        One series: a pandas Series (one target) or DataFrame indexed by the future times.
        Many: a long DataFrame with the id, the time and one column per target.
        With ``levels`` (e.g. ``(80, 95)``, after :meth:`calibrate`), conformal prediction
        intervals too: columns ``lo-80, hi-80, …`` (``<target>-lo-80`` … for several targets),
        and a DataFrame even for one target. ``combined=False``: the networks' forecast alone,
        without the classical ones the ``combine`` setting averages in.
        """
        horizon = horizon or (self.fitted_config.horizon if self.nets else None)
        with threads(self.threads):
            panel, scaled, ends = self._forecast(horizon, y, strategy)
        network = self._inverse_all(scaled, ends)  # (B, horizon, F), original units
        values = self._combined(network, panel, y is None) if combined else network
        if self.fitted_config.zero_tail:  # a series that has stopped stays stopped
            values = combination.stopped_at_zero(values, panel, self.fitted_config.season)
        shift = values - network  # the combination moves the intervals with the forecast
        forecasting.check_finite(values, panel.ids)
        columns = list(panel.columns[: self.n_targets])
        if levels:
            parts, names = [values], list(columns)
            for q, level_names in intervals.bands(self.calibration, levels, horizon, columns):
                parts += [self._inverse_all(scaled - q, ends) + shift,
                          self._inverse_all(scaled + q, ends) + shift]
                names += level_names
            values, columns = np.concatenate(parts, axis=2), names
            forecasting.check_finite(values, panel.ids)
        return forecasting.frame(panel, values, columns, horizon)

    def _combined(self, network: np.ndarray, panel: Panel, fitted: bool) -> np.ndarray:
        """The network's forecast averaged with the classical ones (:mod:`rnncast.combination`):
        those made at fit time for the fitted series, new ones for other data or more steps."""
        if not self.fitted_config.combine:
            return network
        classical = self.classical if fitted else None
        if classical is None or classical.shape[2] < network.shape[1]:
            if fitted and self.loaded:
                log.warning("this saved model holds classical forecasts for %d steps; the longer "
                            "forecast combines ones fitted to the stored tails only",
                            0 if self.classical is None else self.classical.shape[2])
            classical = self._classical(panel, network.shape[1])
        return combination.combined(network, classical)

    def _forecast(self, horizon: int, y=None, strategy: str | None = None):
        """``(panel, scaled (B, horizon, F), ends (B,))``: the forecast on the model's scale."""
        if not self.nets:
            raise RuntimeError("call fit() before predict()")
        positive("horizon", horizon)
        bounded("horizon", horizon, MAX_FORECAST, "forecasts that far are meaningless; "
                "aggregate the data to a coarser frequency")
        panel = self.panel if y is None else features.like(  # laid out as the fitted series
            as_panel(y, self.series_config.covariates, self.freq), self.panel.columns,
            self.channels.phase0, self.fitted_config.season or 1)
        cfg = self.fitted_config
        if forecasting.chains_blocks(cfg, horizon):
            # the recipe's head (one season) forecasts block by block by design: only say so
            mine = cfg.horizon == season_head(cfg.season)
            log.log(logging.INFO if mine else logging.WARNING, "forecasting %d steps with a model "
                    "trained for %d: every step past %d feeds on earlier forecasts, so errors "
                    "compound; fit with --horizon %d for a direct forecast", horizon, cfg.horizon,
                    cfg.horizon, horizon)
        window = torch.as_tensor(self._last_windows(panel), dtype=torch.float32,
                                 device=self.device)  # (B, W, C)
        if self.threads is None:
            torch.set_num_threads(auto_threads(len(panel)))
        ends, rows = panel.ends, np.arange(len(panel))  # where each forecast begins
        parts = [self.forecast_scaled(window[k : k + CHUNK], horizon, strategy, forecasting.extender(
                     self.channels, rows[k : k + CHUNK], ends[k : k + CHUNK]))
                 for k in range(0, len(panel), CHUNK)]  # bounded memory for any number of series
        return panel, np.concatenate(parts), ends

    # -- prediction intervals ------------------------------------------------------------------
    def calibrate(self, y, horizon: int | None = None, origins: int | None = None,
                  callback: Callable[[EpochInfo], None] | None = None) -> Forecaster:
        """Learn how wrong forecasts of this kind are, for conformal prediction intervals
        (:func:`rnncast.intervals.calibrate`); call before :meth:`fit`, which keeps them."""
        self.calibration = intervals.calibrate(self, y, horizon, origins, callback)
        return self

    def layout(self, y) -> Panel:
        """``y`` as this model reads data: a panel whose series put the targets first."""
        covariates = self.series_config.covariates
        return features.targets_first(as_panel(y, covariates, self.freq), covariates)

    def unfitted_copy(self) -> Forecaster:
        """A new, unfitted forecaster with the same settings."""
        copy = Forecaster.from_configs(self.model_config, self.series_config, self.train_config,
                                       self.ensemble, str(self.device))
        copy.aggregate, copy.threads, copy.freq = self.aggregate, self.threads, self.freq
        copy.preset, copy.from_preset = self.preset, self.from_preset
        copy.requested_train = self.requested_train
        return copy

    def forecast_on_scale(self, horizon: int, y=None) -> tuple[np.ndarray, np.ndarray]:
        """The forecast on the model's scale (after log, seasonal adjustment and scaling), and
        where each series' forecast begins: ``(B, horizon, F)``, ``(B,)``."""
        with threads(self.threads):
            _, scaled, ends = self._forecast(horizon, y)
        return scaled, ends

    def to_model_scale(self, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """``(B, h, F)`` targets in original units → the model's scale (NaN where a log meets a
        value that is not positive); series ``b`` starts at position ``lengths[b]``."""
        steps = np.asarray(lengths)[:, None] + np.arange(values.shape[1])
        return self.transforms.forward_rows(np.arange(len(values)), values[..., : self.n_targets],
                                            steps)

    def _inverse_all(self, scaled: np.ndarray, lengths: np.ndarray, rows=slice(None)) -> np.ndarray:
        """Undo scaling, log and seasonal adjustment: ``(B, h, F)`` scaled → original units, for
        the series ``rows`` (all by default); series ``b``'s first step is position
        ``lengths[b]``."""
        return self.transforms.inverse_all(scaled[..., : self.n_targets], lengths, rows)

    def _last_windows(self, panel: Panel) -> np.ndarray:
        return forecasting.last_windows(panel, self.transforms, self.channels, self.fitted_config)

    def forecast_scaled(self, window: torch.Tensor, steps: int, strategy: str | None = None,
                        extend=forecasting.targets_only, nets: list[RecurrentNet] | None = None):
        """Batched forecast in the scaled space: ``(B, W, F) -> (B, steps, F)`` NumPy; the
        median (or mean) over ensemble members (or ``nets``), each reading its own window length
        from the end. The mean is taken in the scaled space: a geometric mean when a log is used."""
        cfg = self.fitted_config
        strategy = forecasting.usable(cfg, strategy, steps, self.n_columns > self.n_targets)
        return forecasting.members(nets or self.nets, window, steps, strategy, cfg, self.n_columns,
                                   extend, self.aggregate).double().cpu().numpy()

    def forecast_with(self, net: RecurrentNet, steps: int) -> np.ndarray:
        """Forecast ``(steps, F)`` past the first series with one network, for instance the one
        being trained (the deck's picture of the forecast improving while training)."""
        out = self.net_forecast(net, steps, np.array([0]))
        return self._inverse_all(out, self.panel.ends[:1], rows=[0])[0]

    def net_forecast(self, net: RecurrentNet, steps: int, rows: np.ndarray, drop: int = 0
                     ) -> np.ndarray:
        """One network's forecast, on the model's scale, of ``steps`` past the fitted series
        ``rows`` without their last ``drop`` points: ``(len(rows), steps, F)``."""
        part = self.panel.take(rows)
        part = part.head(drop) if drop else part
        window = forecasting.last_windows(part, self.transforms, self.channels, self.fitted_config,
                                          rows)
        was_training = net.training
        out = self.forecast_scaled(torch.as_tensor(window, dtype=torch.float32, device=self.device),
                                   steps, nets=[net],
                                   extend=forecasting.extender(self.channels, rows, part.ends))
        net.train(was_training)
        return out

    # -- saving --------------------------------------------------------------------------------
    @classmethod
    def from_saved(cls, saved: Saved, device: str = "auto") -> Forecaster:
        """The forecaster a model directory describes (:func:`rnncast.persistence.load_model`):
        its settings, transforms, the tails of its series and each member's weights."""
        self = cls.from_configs(saved.model, saved.series, saved.train, saved.ensemble, device)
        self.aggregate, self.calibration = saved.aggregate, saved.calibration
        self.classical, self.loaded = saved.classical, True
        cfg = self.fitted_config = self.series_config
        self.transforms, self.panel, self.nets = saved.transforms, saved.panel, []
        self._set_channels(saved.panel, cfg)
        for k in range(self.ensemble):
            net, prefix = self._new_net(cfg, cfg.windows[k % len(cfg.windows)], 0), f"member{k}."
            net.load_state_dict({name.removeprefix(prefix): t for name, t in saved.weights.items()
                                 if name.startswith(prefix)})
            self.nets.append(net.eval())
        return self

    def save(self, path) -> None:
        """Write a model directory (safetensors weights + JSON config), atomically."""
        from rnncast import __version__
        save_model(self, path, __version__)

    @staticmethod
    def load(path, device: str = "auto") -> Forecaster:
        """Read a model directory written by :meth:`save`, its networks on ``device``."""
        return load_model(path, lambda saved: Forecaster.from_saved(saved, device))

    def config(self) -> dict:
        """Every setting, as stored beside the weights."""
        series = getattr(self, "fitted_config", self.series_config)
        return {"model": self.model_config.to_dict(), "series": series.to_dict(),
                "train": self.train_config.to_dict()}
