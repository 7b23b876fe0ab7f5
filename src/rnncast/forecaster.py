"""The user's object: ``Forecaster(...).fit(y).predict(h)``, tying data → plan → scaling →
windows → network → training → forecasting. One series is a panel of one: a list or dict of
series, or a long table, trains one global model across all of them, each scaled on its own.

Settings left out are chosen from the data, once, into a :class:`~rnncast.plan.Plan` (reasons
in ``choices``), or by a named point of the recipe (:mod:`rnncast.presets`): windows normalised
by their last season's level, a direct head, early stopping, a refit, the median of 5 seeds,
and the mean with Theta where it is worth it (:mod:`rnncast.combination`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnncast import combination, covariates, crossval, distributed, features, forecasting, intervals, presets
from rnncast.checkpoints import Checkpoints
from rnncast.cores import auto_threads, threads
from rnncast.data import LONG, Panel, as_panel
from rnncast.ensemble import train_members
from rnncast.errors import NotFitted, SettingError, bounded
from rnncast.features import Channels
from rnncast.forecasting import AGGREGATES
from rnncast.intervals import Calibration
from rnncast.networks import ModelConfig, RecurrentNet, check_memory
from rnncast.persistence import Saved, load_model, save_model
from rnncast.plan import Plan, keep_long_enough
from rnncast.plan import resolve as resolve_plan
from rnncast.quantiles import held_truth, levels_of, origins, recalibrated, shifted, with_quantiles
from rnncast.sampling import training_windows
from rnncast.settings import SeriesConfig, one_of, positive
from rnncast.stacking import unstack
from rnncast.training import EpochInfo, History, TrainConfig, auto_batch, seed_everything
from rnncast.transforms import Transforms
from rnncast.version import __version__

log = logging.getLogger(__name__)

MAX_FORECAST = 100_000  # steps one predict() may chain
M, S, T = ModelConfig, SeriesConfig, TrainConfig  # the defaults, defined once, in the dataclasses


class Forecaster:
    """A recurrent forecaster for one series or many (uni- or multivariate).

    >>> model = Forecaster(cell="lstm").fit(y)   # y: pandas Series, monthly
    >>> model.predict(12)                        # a Series with the next 12 months
    """

    def __init__(
        self,
        cell: str = M.cell, window: int | tuple[int, ...] | None = None,
        head: int | None = None, units: int = M.units, layers: int = M.layers,
        *,
        horizon: int | None = None,  # the old name of ``head``
        # the network (ModelConfig)
        dropout: float = M.dropout, activation: str = M.activation, init: str = M.init,
        layer_norm: bool = M.layer_norm, forget_bias: float | None = M.forget_bias,
        chrono: int = M.chrono, fused: bool | None = M.fused, id_embedding: int = M.id_embedding,
        # the series and how they are read (SeriesConfig; "auto": chosen from the data)
        strategy: str = S.strategy, season: int | None = None, scaler: str = S.scaler,
        log: bool | str = S.log, level: bool = S.level, deseasonalize: bool | str = S.deseasonalize,
        combine: str | tuple[str, ...] | None = None, short: str | None = None,
        past: list[str] | tuple[str, ...] | None = None, quantiles: tuple[float, ...] = (),
        future: list[str] | tuple[str, ...] | None = None, static: tuple[str, ...] = S.static,
        calendar: bool = S.calendar, holidays: str | None = None, multivariate: str = "auto",
        covariates: list[str] | tuple[str, ...] | None = None,  # the old name of ``past``
        window_rule: tuple[tuple[float, int], ...] | None = None, zero_tail: bool = S.zero_tail,
        validation: int | None = None, refit: bool | None = None,
        # training (TrainConfig; None: the preset's or the default)
        epochs: int | None = None, batch_size: int | None = None, lr: float = T.lr,
        loss: str | None = None, patience: int | None = None, clip_norm: float | None = T.clip_norm,
        clip_value: float | None = T.clip_value, spike_guard: float | None = T.spike_guard,
        windows_per_epoch: int | None = None, max_windows: int | None = None,
        parallel: str = T.parallel,
        # the ensemble, the recipe's named point, where it runs
        ensemble: int | None = None, aggregate: str = "median", seed: int = T.seed,
        preset: str = "auto", device: str = "auto", threads: int | None = None,
    ) -> None:
        head = one_of("head", head, "horizon", horizon)
        past = one_of("past", past, "covariates", covariates)
        given = {k: v for k, v in locals().items() if k in presets.FIELDS and v is not None}
        chosen, self.from_preset = presets.settings(preset, given)
        self.preset = preset
        if aggregate not in AGGREGATES:
            raise SettingError(f"aggregate must be 'median' or 'mean', got {aggregate!r}")
        self.ensemble, self.aggregate = chosen["ensemble"], aggregate
        self.model_config = ModelConfig(cell, units, layers, dropout, activation, init,
                                        forget_bias, layer_norm, fused, id_embedding, chrono)
        self.series_config = SeriesConfig(window, head, season, strategy, scaler, log, level,
                                          validation, chosen.get("refit"), deseasonalize, short,
                                          tuple(past or ()), calendar, chosen["combine"],
                                          chosen["window_rule"], zero_tail, tuple(future or ()),
                                          tuple(static or ()),
                                          levels_of(quantiles) if quantiles else (), holidays,
                                          multivariate)
        self.train_config = TrainConfig(
            epochs=chosen["epochs"], batch_size=chosen.get("batch_size"), lr=lr,
            loss=chosen["loss"], patience=chosen["patience"], clip_norm=clip_norm,
            clip_value=clip_value, spike_guard=spike_guard, seed=seed,
            windows_per_epoch=chosen["windows_per_epoch"], max_windows=chosen.get("max_windows"),
            parallel=parallel)
        self.requested_train = self.train_config  # fit may trade a preset's budget (presets.budget)
        self.device = distributed.resolve_device(device)  # auto: CUDA when there is one
        self.threads = threads  # PyTorch CPU threads to fit and forecast; None: auto_threads
        self.freq: str | None = None
        self.long = LONG  # the id, time and target columns of a long table
        self.plan: Plan | None = None  # what the data decided (set by fit)
        self.nets: list[RecurrentNet] = []
        self.histories: list[History] = []
        self.transforms: Transforms | None = None  # per series: seasonal indices, log, scale
        self.panel: Panel | None = None
        self.channels: Channels | None = None  # the input layout (set by fit)
        self.calibration: Calibration | None = None  # forecast errors, for prediction intervals
        self.classical: np.ndarray | None = None  # (methods, N, steps, targets), see combination
        self.loaded = False  # read from a model directory: self.panel holds only the tails
        self.static_table: pd.DataFrame | None = None  # the static covariates' source, by id

    @classmethod
    def from_configs(cls, model: ModelConfig, series: SeriesConfig, train: TrainConfig,
                     ensemble: int = 1, device: str = "auto") -> Forecaster:
        """Build from the three configuration objects."""
        self = cls(ensemble=ensemble, device=device)
        self.model_config, self.series_config, self.train_config = model, series, train
        self.requested_train = train
        return self

    @property
    def choices(self) -> list[str]:
        """Why each automatic setting was chosen, a line each (after :meth:`fit`)."""
        return list(self.plan.reasons) if self.plan else []

    @property
    def history(self) -> History | None:
        """Training history of the first ensemble member."""
        return self.histories[0] if self.histories else None

    @property
    def n_targets(self) -> int:
        """How many columns the model forecasts (known once :meth:`fit` has seen the data)."""
        return self._channels().n_targets

    def _channels(self) -> Channels:
        if self.channels is None:
            raise NotFitted("the model's columns are known once fit() has seen the data")
        return self.channels

    # -- the plan ------------------------------------------------------------------------------
    def layout(self, y) -> Panel:
        """``y`` as this model reads data: a panel whose series put the targets first."""
        inputs = (*self.series_config.covariates, *self.series_config.future)
        if isinstance(y, pd.DataFrame) and set(self.series_config.static or [0]) <= set(y.columns):
            self.static_table = y  # the long table holds the static columns
        return features.laid_out(as_panel(y, inputs, self.freq, self.long), self.series_config)

    def resolve(self, y, test: int | None = None) -> Plan:
        """What the data ``y`` decide under this model's settings (``test``: the length of a
        held-out range the model will be scored on): pass it to :meth:`fit` and
        :meth:`calibrate` so that the recipe is resolved once."""
        return resolve_plan(self.layout(y), self.series_config, test)

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, y, callback: Callable[[EpochInfo], None] | None = None,
            freq: str | None = None, checkpoints: str | Path | None = None,
            resume: bool = False, plan: Plan | None = None, *, id_col: str = LONG[0],
            time_col: str = LONG[1], target_col: str | list[str] = LONG[2],
            static_df: pd.DataFrame | None = None) -> Forecaster:
        """Train on the whole of ``y`` (early stopping on the last ``validation`` points of
        each series). ``y``: a series (pandas, NumPy), a list or dict of series, a Panel, or a
        long DataFrame (columns ``id_col, time_col, target_col``: ``unique_id, ds, y``); ``freq``:
        its frequency where the dates do not tell it. ``plan``: from :meth:`resolve`
        (default: resolved here). ``checkpoints``: a
        folder for the state after every epoch; ``resume``: go on from the checkpoints there
        (same data and settings). Under torchrun, the processes train together
        (rnncast.distributed). ``static_df``: the static covariates by id, when ``y`` lacks them."""
        self.freq, self.long = freq or self.freq, (id_col, time_col, target_col)
        self.static_table = static_df if static_df is not None else self.static_table
        with threads(self.threads):
            return self._fit(y, callback, checkpoints, resume, plan)

    def _fit(self, y, callback: Callable[[EpochInfo], None] | None,
             folder: str | Path | None, resume: bool, plan: Plan | None) -> Forecaster:
        ranks = distributed.start(self.device)
        panel = self.layout(y)
        plan = plan or resolve_plan(panel, self.series_config)
        panel = keep_long_enough(panel, plan)
        self.train_config, said = presets.budget(self.requested_train, self.from_preset,
                                                 self.preset, panel, plan)
        self.plan = plan.with_reason(said) if said else plan
        self.panel = panel  # set now, so callbacks can forecast
        self._set_channels(panel, plan)
        check_memory(self.model_config, self.channels.n_inputs, plan.max_window,
                     self.train_config.batch_size or 128, self.n_targets * plan.emits)
        Z = self._fit_transform(panel, plan)
        kept = Checkpoints.for_fit(folder, resume, self.config() | {"ensemble": self.ensemble},
                                   [Z, panel.lengths], ranks)
        sources = training_windows(Z, panel, plan, plan.windows, self.channels, self.device)
        del Z  # the sources hold a float32 copy
        if self.threads is None:
            first = sources[plan.windows[0]][0]
            torch.set_num_threads(auto_threads(self.train_config.batch_size or auto_batch(len(first))))
        judge = self.series_config.combine == "auto" and ranks.world == 1  # not a forced one
        held, early, early_q = combination.judged_rows(panel, plan) if judge else None, [], []
        ends = combination.quantile_rows(panel, plan) if plan.quantiles and ranks.world == 1 else None
        steps = min(plan.validation, plan.head)  # each early-stopped member's held-out forecast
        drops = origins(plan.validation, steps)  # the quantiles': several origins

        def early_stopped(net: RecurrentNet) -> None:  # forecasts of the held-out ends
            if held is not None:
                early.append(forecasting.one_net(self, net, steps, held, plan.validation))
            if ends is not None:
                early_q.append(np.concatenate([forecasting.one_net(self, net, steps, ends, d, True)
                                               for d in drops]))
        self.nets, self.histories = train_members(
            self.ensemble, plan.windows, sources, lambda w, seed: self._new_net(plan, w, seed),
            self.train_config, plan.refit, callback, kept, ranks, early_stopped)
        if early:
            self.plan = combination.judge(self.plan, forecasting.held_out(self, early, held),
                                          panel, held)
        if early_q:  # around the forecast the user gets: the combination moves the bands
            bands = combination.moved(self, early_q, ends, drops, steps)
            self.plan = recalibrated(self.plan, bands, held_truth(
                panel, self.transforms, ends, drops, steps, self.n_targets))
        self.classical = combination.classical_for(self.plan, panel, self.n_targets) \
            if ranks.main else None  # kept by the process that saves
        return self

    def _set_channels(self, panel: Panel, plan: Plan, static: np.ndarray | None = None) -> None:
        if plan.static and static is None:
            static = covariates.static_matrix(self.static_table, panel, plan.static)
        self.channels = Channels.of(panel, plan, bool(self.model_config.id_embedding), static)

    def _fit_transform(self, panel: Panel, plan: Plan) -> np.ndarray:
        """Fit each series' seasonal indices and scaler on its own data; the scaled rows."""
        self.transforms = Transforms.fit_checked(panel, plan)
        return self.transforms.forward_panel(panel)

    def _new_net(self, plan: Plan, window: int, seed: int) -> RecurrentNet:
        seed_everything(seed)
        skip = plan.level_span(window) - 1 if plan.head_kind == "sequence" and plan.level else 0
        net = RecurrentNet(self.model_config, self.channels.n_inputs, self.n_targets,
                           plan.head_kind, plan.emits, skip, len(self.panel),
                           bool(self.channels.n_future), plan.quantiles)
        net.window = window  # the input length this member reads
        return net.to(self.device)

    # -- forecasting ---------------------------------------------------------------------------
    def predict(self, h: int | None = None, y=None, strategy: str | None = None,
                levels: tuple[float, ...] | list[float] | None = None, combined: bool = True,
                *, horizon: int | None = None, future=None):
        """Forecast ``h`` steps past the end of the training data (or of ``y``); ``horizon``
        is the old name of ``h``. Default: the model's head.

        One series: a pandas Series (one target) or DataFrame indexed by the future times.
        Many: a long DataFrame with the id, the time and one column per target.
        With ``levels`` (percentages, e.g. ``(80, 95)``, after :meth:`calibrate`), conformal
        prediction intervals too: columns ``lo-80, hi-80, …`` (``<target>-lo-80`` … for several
        targets), and a DataFrame even for one target. ``combined=False``: the networks'
        forecast alone, without the classical ones the plan averages in. ``future``: the future
        covariates' values over the forecast (a DataFrame: the id, the time and the columns;
        NeuralForecast's ``futr_df``), for a model fitted with them.
        """
        steps = one_of("h", h, "horizon", horizon) or (self.plan.head if self.nets else None)
        if levels:
            intervals.check_levels(levels)
        with threads(self.threads):
            panel, scaled, ahead = self._forecast(steps, y, strategy, future)
        bands, scaled = scaled if scaled.ndim == 4 else None, forecasting.point(scaled, self.plan)
        bands = None if bands is None else shifted(bands, self.plan.quantiles, self.plan.quantile_shift)
        network = self._inverse_all(scaled, ends := panel.ends)  # (B, steps, F), original units
        stored = self.classical if y is None else None  # fitted at fit time, for these series
        values = combination.final(network, panel, self.plan, stored, self.loaded, ahead) \
            if combined else network
        if self.plan.zero_tail:  # a series that has stopped stays stopped
            values = combination.stopped_at_zero(values, panel, self.plan.season)
        shift = values - network  # the combination moves the intervals with the forecast
        forecasting.check_finite(values, panel.ids)
        columns = list(panel.columns[: self.n_targets])
        if levels:
            values, columns = intervals.with_bands(values, columns, scaled, shift, self.calibration,
                                                   levels, lambda z: self._inverse_all(z, ends))
        if bands is not None:  # each level moved with the point forecast by the combination
            values, columns = with_quantiles(values, columns, [
                self._inverse_all(bands[..., q], ends) + shift for q in range(bands.shape[3])],
                self.plan.quantiles, list(panel.columns[: self.n_targets]))
        if levels or bands is not None:
            forecasting.check_finite(values, panel.ids)
        if self.plan.stacked:  # the targets' series side by side again
            values, panel, columns = unstack(values, panel, columns, self.plan.stacked)
        return forecasting.frame(panel, values, columns, steps)

    def _forecast(self, steps: int, y=None, strategy: str | None = None, future=None):
        """``(panel, scaled (B, steps, F), ahead)``: the forecast on the model's scale, the future
        covariates over it (their units; None without)."""
        if not self.nets:
            raise NotFitted("call fit() before predict()")
        positive("horizon", steps)
        bounded("horizon", steps, MAX_FORECAST, "forecasts that far are meaningless; aggregate the "
                "data to a coarser frequency")
        panel = self.panel if y is None else features.like(  # laid out as the fitted series
            self.layout(y), self.panel.columns, self.channels.phase0, self.channels.period)
        forecasting.check_reach(panel, steps)
        forecasting.say_if_chained(self.plan, steps)
        if self.threads is None:
            torch.set_num_threads(auto_threads(len(panel)))
        ahead = covariates.ahead(self.plan, panel, future, steps, self.long[:2])
        known = covariates.scaled(self.transforms, self.channels.known.start, ahead)
        scaled = forecasting.forecast_panel(self.nets, panel, self.transforms, self.channels,
                                            self.plan, steps, strategy, self.aggregate, self.device,
                                            future=known)
        return panel, scaled, ahead

    # -- prediction intervals ------------------------------------------------------------------
    def calibrate(self, y, horizon: int | None = None, origins: int | None = None,
                  callback: Callable[[EpochInfo], None] | None = None,
                  plan: Plan | None = None) -> Forecaster:
        """Learn how wrong forecasts of this kind are, for conformal prediction intervals
        (:func:`rnncast.intervals.calibrate`); call before :meth:`fit`, which keeps them.
        ``plan``: from :meth:`resolve` on ``y`` (default: resolved here)."""
        self.calibration = intervals.calibrate(self, y, horizon, origins, callback, plan)
        return self

    def cross_validation(self, df, h: int, n_windows: int = 1, step_size: int | None = None,
                         refit: bool = True, *, id_col: str = LONG[0], time_col: str = LONG[1],
                         target_col: str | list[str] = LONG[2]) -> pd.DataFrame:
        """Forecasts of ``h`` steps from ``n_windows`` origins ``step_size`` apart at the end of
        ``df``, by copies of this model trained before each origin (or once, ``refit=False``),
        beside the truth: NeuralForecast's columns (id, time, ``cutoff``, the forecast, the
        truth); :func:`rnncast.backtesting.backtest` scores the same folds."""
        self.long = (id_col, time_col, target_col)
        return crossval.cross_validation(self, df, h, n_windows, step_size, refit)

    def unfitted_copy(self) -> Forecaster:
        """A new, unfitted forecaster with the same settings."""
        copy = Forecaster.from_configs(self.model_config, self.series_config, self.train_config,
                                       self.ensemble, str(self.device))
        for name in ("aggregate", "threads", "freq", "long", "preset", "from_preset",
                     "requested_train", "static_table"):
            setattr(copy, name, getattr(self, name))
        return copy

    def forecast_on_scale(self, steps: int, y=None, future=None) -> tuple[np.ndarray, np.ndarray]:
        """The forecast on the model's scale (after log, seasonal adjustment and scaling), and
        where each series' forecast begins: ``(B, steps, F)``, ``(B,)``."""
        with threads(self.threads):
            panel, scaled, _ = self._forecast(steps, y, None, future)
        return forecasting.point(scaled, self.plan), panel.ends

    def _inverse_all(self, scaled: np.ndarray, lengths: np.ndarray, rows=slice(None)) -> np.ndarray:
        """``(B, h, F)`` scaled → original units for the series ``rows`` (default all), series
        ``b``'s first step at position ``lengths[b]``."""
        return self.transforms.inverse_all(scaled[..., : self.n_targets], lengths, rows)

    def forecast_with(self, net: RecurrentNet, steps: int) -> np.ndarray:
        """Forecast ``(steps, F)`` past the first series with one network, for instance the one
        being trained (the deck's picture of the forecast improving while training)."""
        out = forecasting.one_net(self, net, steps, np.array([0]))
        return self._inverse_all(out, self.panel.ends[:1], rows=[0])[0]

    # -- saving --------------------------------------------------------------------------------
    @classmethod
    def from_saved(cls, saved: Saved, device: str = "auto") -> Forecaster:
        """The forecaster a model directory describes (:func:`rnncast.persistence.load_model`):
        its settings, plan, transforms, the tails of its series and each member's weights."""
        plan = saved.plan
        self = cls.from_configs(saved.model, plan.as_settings(), saved.train, saved.ensemble, device)
        self.aggregate, self.calibration = saved.aggregate, saved.calibration
        self.classical, self.loaded, self.plan = saved.classical, True, plan
        self.transforms, self.panel, self.nets = saved.transforms, saved.panel, []
        self._set_channels(saved.panel, plan, saved.static)
        for k in range(self.ensemble):
            net, prefix = self._new_net(plan, plan.windows[k % len(plan.windows)], 0), f"member{k}."
            net.load_state_dict({name.removeprefix(prefix): t for name, t in saved.weights.items()
                                 if name.startswith(prefix)})
            self.nets.append(net.eval())
        return self

    def save(self, path) -> None:
        """Write a model directory (safetensors weights + JSON config), atomically."""
        save_model(self, path, __version__)

    @staticmethod
    def load(path, device: str = "auto") -> Forecaster:
        """Read a model directory written by :meth:`save`, its networks on ``device``."""
        return load_model(path, lambda saved: Forecaster.from_saved(saved, device))

    def config(self) -> dict:
        """Every setting: the network's, the plan (what the data decided, or the settings asked
        for before :meth:`fit`) and the training's, as stored beside the weights."""
        plan = self.plan.to_dict() if self.plan else {"settings": asdict(self.series_config)}
        return {"model": self.model_config.to_dict(), "plan": plan,
                "train": self.train_config.to_dict()}
