"""Argument types and the options every command shares (defaults from the config dataclasses)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rnncast.baselines import BUDGET, NAMES
from rnncast.cells import ACTIVATIONS, CELLS
from rnncast.classical import COMBINABLE
from rnncast.distributed import DEVICES
from rnncast.errors import SettingError
from rnncast.forecaster import Forecaster
from rnncast.intervals import check_levels
from rnncast.networks import ModelConfig
from rnncast.partners import COMBINE_SERIES
from rnncast.presets import ENSEMBLE, PRESETS
from rnncast.scaling import SCALERS
from rnncast.settings import MULTIVARIATE, SHORT, STRATEGIES, SeriesConfig
from rnncast.tables import read_table
from rnncast.timeindex import FILLS, TIME_ZONES, TimeConfig
from rnncast.training import LOSSES, TrainConfig

METRICS = ("rmse", "mae", "mape", "smape", "mase")


# -- argument types ------------------------------------------------------------------------------
def number(convert, accept, what: str):
    """An argparse type: ``convert`` the text, check it with ``accept``, else say ``what``."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


positive_int = number(int, lambda v: v >= 1, "a positive integer")
seed_int = number(int, lambda v: 0 <= v <= 2**31 - 1, "an integer from 0 to 2147483647")
CPUS = os.cpu_count() or 1
threads_int = number(int, lambda v: 1 <= v <= CPUS,
                      f"from 1 to {CPUS}, the CPUs of this machine (more only slows PyTorch down)")
workers_int = number(int, lambda v: 1 <= v <= CPUS,
                     f"from 1 to {CPUS}, one process per core of this machine at most")
positive_float = number(float, lambda v: v > 0, "a positive number")
trials_int = number(int, lambda v: 1 <= v <= 10_000,
                    "from 1 to 10,000 (each trial is a backtest: several fits)")
nonnegative_int = number(int, lambda v: v >= 0, "an integer >= 0")
nonnegative_float = number(float, lambda v: v >= 0, "a number >= 0")


def baseline_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--baselines", type=baseline_names,
                   help=f"comma-separated, from {', '.join(NAMES)} (default: naive, seasonal "
                        "naive, Naive2, Theta and ETS with its form chosen per series; MSTL where "
                        "the data have two seasons; arima_x and ridge_x, ARIMA and a LEAR-style "
                        "ridge with the future covariates, where the model reads some; SARIMAX, "
                        "or VARMAX, for a single series)")
    p.add_argument("--baseline-budget", type=positive_float, default=BUDGET, metavar="SECONDS",
                   help="the most time a fitted baseline (Theta, ETS, SARIMAX) may take over all "
                        "series, run in parallel; one that would take longer is left out with a note; "
                        "fitted baselines see a series' last 2,000 points")


def baseline_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown baseline {text!r}; choose from {', '.join(NAMES)}")
    return names


def number_list(convert, accept, what: str):
    """An argparse type for comma-separated numbers, each ``convert``-ed and checked by
    ``accept``; otherwise the error says they ``must be`` ``what``."""

    def parse(text: str) -> list:
        try:
            values = [convert(v) for v in text.split(",") if v.strip()]
        except ValueError:
            values = []
        if not values or not all(accept(v) for v in values):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return values

    return parse


size_list = number_list(int, lambda v: v >= 1, "positive integers, comma-separated")
length_list = number_list(int, lambda v: v >= 2, "integers >= 2, comma-separated")
def combine_names(text: str) -> str | tuple[str, ...]:
    """``auto``, ``none`` or classical method names, comma-separated."""
    if text in ("auto", "none"):
        return text if text == "auto" else ()
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in COMBINABLE]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown method {unknown[0] if unknown else text!r}; "
                                         f"choose from {', '.join(COMBINABLE)}, auto or none")
    return names


def interval_levels(text: str) -> list[float]:
    """Interval levels as percentages; a fraction such as 0.8 is refused with the likely intent."""
    values = number_list(float, lambda v: 0 < v < 100,
                          "percentages between 1 and 99.9, comma-separated (e.g. 80,95)")(text)
    try:
        check_levels(values)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return values


def quantile_levels(text: str) -> list[float]:
    """Quantile levels as percentages (e.g. 10,50,90)."""
    return number_list(float, lambda v: 0 < v < 100,
                       "percentages between 0 and 100, comma-separated (e.g. 10,50,90)")(text)


def cell_names(text: str) -> list[str]:
    from rnncast.cells import CELLS

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CELLS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown cell {text!r}; choose from {', '.join(CELLS)}")
    return names


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the examples' line breaks; show a default once, where there is one to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS) and "default" not in text
        if shown and action.option_strings:
            value = action.default
            value = ",".join(map(str, value)) if isinstance(value, list) else value
            text += f" (default: {value})"
        return text


class Parser(argparse.ArgumentParser):
    """A bad argument is one line and a pointer to --help (a JSON object too with --json)."""

    json_errors = False

    def error(self, message: str):
        line = f"{self.prog}: error: {message} (see {self.prog} --help)"
        if Parser.json_errors:
            print(json.dumps({"error": {"message": line, "exit": 2, "kind": "argument"}}), flush=True)
        self.exit(2, line + "\n")



def data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", type=Path, help="CSV or Parquet file")
    p.add_argument("--target", action="append",
                   help="column to forecast (repeat for a multivariate series; default: y in a "
                        "file with NeuralForecast's columns unique_id, ds, y)")
    p.add_argument("--time-col", help="time column (parsed as dates when it holds dates)")
    p.add_argument("--id-col", help="series id column: a long file of many series "
                                    "(one global model for all of them)")
    p.set_defaults(columns_from_file=True)
    time_arguments(p)


def time_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("time stamps")
    g.add_argument("--freq", help="the data's frequency as a pandas alias (MS, W-SUN, D, h, 15min) "
                                  "when it cannot be inferred (default: inferred)")
    g.add_argument("--date-format", metavar="FORMAT",
                   help="strftime format of the time column, e.g. %%d/%%m/%%Y, %%Y%%m%%d, or "
                        "%%Y Q%%q for quarters (default: guessed; fpp3/tsibble's 1956 Q1, "
                        "1939 Jan and 2019 W01 are read as they are)")
    g.add_argument("--dayfirst", action="store_true", help="read 03/04/2020 as 3 April")
    g.add_argument("--fill-missing", choices=FILLS, metavar="HOW",
                   help=f"fill missing time stamps and missing (NaN) values, within each series "
                        f"({', '.join(FILLS)}), instead of refusing them")
    g.add_argument("--time-zone", choices=TIME_ZONES, metavar="ZONE",
                   help="for stamps with mixed UTC offsets: utc converts them (hourly data), local "
                        "keeps the wall-clock time (daily and coarser data)")


def time_config(args: argparse.Namespace, freq: str | None = None) -> TimeConfig:
    return TimeConfig(freq=args.freq or freq, date_format=args.date_format, dayfirst=args.dayfirst,
                      fill=args.fill_missing, time_zone=args.time_zone)


def model_arguments(p: argparse.ArgumentParser, lists: bool = False,
                    horizon_is_head: bool = True) -> None:
    """The model and training options, their defaults and choices read from the configuration
    objects; ``lists``: --cell, --window, --units take several values (comma-separated), for
    `tune`; ``horizon_is_head``: --horizon is the old name of --head (fit, evaluate; in
    backtest and tune it names the test range)."""
    M, S, T = ModelConfig(), SeriesConfig(), TrainConfig()
    g = p.add_argument_group("model")
    if lists:
        g.add_argument("--cell", type=cell_names, default=[M.cell], help="cells to try, e.g. lstm,gru")
        g.add_argument("--window", type=size_list, help="input lengths to try, e.g. 6,12,24,36 "
                                                        "(default: one, two and three seasons)")
        g.add_argument("--units", type=size_list, default=[M.units],
                       help="units per layer to try, e.g. 32,64")
    else:
        g.add_argument("--cell", choices=list(CELLS), default=M.cell,
                       help="recurrent cell (gru: the textbook equations; gru_torch: PyTorch's "
                            "variant, fused)")
        g.add_argument("--window", type=positive_int,
                       help="input length (default: three seasons, at least 12, and 16 for a panel "
                            "without a season; the preset's)")
    g.add_argument("--head", *(["--horizon"] if horizon_is_head else []), type=positive_int,
                   dest="head",
                   help="steps the network forecasts at once; longer forecasts go block by block "
                        "(default: one season; to score a shorter test range, its length; with "
                        "--past, the test range)" + (" (--horizon: its old name)"
                                                          if horizon_is_head else ""))
    g.add_argument("--season", type=positive_int,
                   help="season length (default: from the time column's frequency, else 1)")
    g.add_argument("--strategy", choices=STRATEGIES, default=S.strategy,
                   help="direct multi-step head, or one-step recursion (re-run the window or "
                        "carry the state)")
    if not lists:
        g.add_argument("--units", type=positive_int, default=M.units, help="units per layer")
    g.add_argument("--layers", type=positive_int, default=M.layers, help="stacked recurrent layers")
    g.add_argument("--activation", choices=list(ACTIVATIONS), default=M.activation,
                   help="candidate/output nonlinearity")
    g.add_argument("--layer-norm", action="store_true", help="normalise gate pre-activations")
    g.add_argument("--scaler", choices=[*SCALERS, "auto"], default=S.scaler,
                   help="scaling fitted on the training part (auto: none when a log is taken, as "
                        "the log and each window's level make series scale-free, and step for "
                        "series without a season: each divided by its mean change, so that the "
                        "loss weighs series as MASE does; asinh of the "
                        "values standardised by median and MAD when some are negative, a log for "
                        "both signs; else standard)")
    g.add_argument("--log", choices=["auto", "yes", "no", "log1p"], default="auto",
                   help="log-transform first (auto: log when all values are positive, log1p, "
                        "log(1 + y), when some are 0 and none below)")
    g.add_argument("--no-level", action="store_true",
                   help="do not normalise each window by its last season's level")
    g.add_argument("--deseasonalize", choices=["auto", "yes", "no"], default="auto",
                   nargs="?", const="yes",
                   help="divide by classical multiplicative seasonal indices first, each positive "
                        "series whose season passes a 90%% autocorrelation test (auto: when the "
                        "data have a season and three cycles of it)")
    g.add_argument("--combine", type=combine_names, metavar="METHODS",
                   help="average the network's forecast with these classical ones, series by "
                        f"series: {', '.join(COMBINABLE)} or none, comma-separated (auto: "
                        "dotm, the dynamic optimised Theta, where it beats the seasonal naive "
                        "forecast on the ends of the training series, and ETS too, without a "
                        "season, where it beats Theta; one "
                        f"target, no covariates, up to {COMBINE_SERIES:,} series; with future "
                        "columns, ridge_x on long series a season apart, judged after training; "
                        "--preset fast: none)")
    g.add_argument("--multivariate", choices=MULTIVARIATE, default="auto",
                   help="several targets: one network reads them 'joint'-ly, or their 'columns' "
                        "become series of one panel (auto: columns, joint with covariates)")
    g.add_argument("--no-zero-tail", action="store_true",
                   help="forecast a series whose last season is all zeros like any other (default: "
                        "zeros, as it has stopped)")
    g.add_argument("--past", "--covariate", dest="covariate", action="append", default=[],
                   metavar="COL",
                   help="a column read but not forecast, known up to the forecast origin (repeat "
                        "for more; direct strategy; --covariate: its old name)")
    g.add_argument("--future", dest="future", action="append", default=[], metavar="COL",
                   help="a column known over the forecast too (a promotion calendar, a weather or "
                        "load forecast): read in the history and at every forecast step; "
                        "`forecast --future FILE` gives its values then (repeat for more)")
    g.add_argument("--holidays", metavar="COUNTRY",
                   help="public holidays as a future column 'holiday' built from the dates "
                        "(the holidays package): an ISO code such as US, DE or AU-VIC (a region "
                        "after the dash); forecasts need no file for it")
    g.add_argument("--static", action="append", default=[], metavar="COL",
                   help="a column constant within each series (a store's type, a region): numbers "
                        "or categories, fed at every step (repeat for more; read from the data, "
                        "or from --static-file)")
    g.add_argument("--quantiles", type=quantile_levels, metavar="LEVELS",
                   help="forecast these quantiles too, e.g. 10,50,90: one output each on the "
                        "pinball loss (the median is the point forecast), written as q-10, q-50, "
                        "q-90 columns and drawn as a fan; evaluate scores their coverage")
    g.add_argument("--static-file", type=Path, metavar="FILE",
                   help="a table with the id column and the --static columns, a row per series")
    g.add_argument("--calendar", action="store_true",
                   help="feed the position in the season (month of year, weekday, …) as inputs")
    g.add_argument("--id-embedding", type=nonnegative_int, default=M.id_embedding, metavar="N",
                   help="with --id-col: a learned vector of N numbers per series (0: none)")
    g.add_argument("--short", choices=SHORT,
                   help="series too short for one window (default: error for one, pad for many)")
    t = p.add_argument_group("training")
    t.add_argument("--preset", choices=list(PRESETS), default="auto",
                   help="a named point of the recipe: fast (one network, a fixed budget of 250,000 "
                        "windows, no classical partner: a few CPU seconds on a thousand series), "
                        "accurate (five networks taking input lengths of 1.5, 2 and 3 "
                        "seasons in turn, each refitted on all the data); auto: five networks of one "
                        "input length (options given here win)")
    t.add_argument("--refit-members", choices=("auto", "yes", "no"), default="auto",
                   help="train each network again on all windows, held-out end included, for "
                        "the epochs early stopping chose (auto: yes, except when an epoch samples "
                        "the windows, on long monthly or quarterly series, over 25 seasons, and "
                        "on series without a season; "
                        "the preset's where it names one)")
    t.add_argument("--epochs", type=positive_int,
                   help=f"maximum epochs (default: {T.epochs}, or the preset's)")
    t.add_argument("--patience", type=positive_int,
                   help=f"early-stopping patience (default: {T.patience}, or the preset's)")
    t.add_argument("--lr", type=positive_float, default=T.lr, help="Adam learning rate")
    t.add_argument("--batch-size", type=positive_int, default=T.batch_size,
                   help="windows per batch (default: 32, doubling with the data up to 128)")
    t.add_argument("--loss", choices=list(LOSSES),
                   help=f"training loss (default: {T.loss}, or the preset's)")
    t.add_argument("--clip-norm", type=positive_float, default=T.clip_norm, help="gradient norm limit")
    t.add_argument("--spike-guard", type=nonnegative_float, default=T.spike_guard, metavar="X",
                   help="skip a step whose gradient norm tops X times the recent median (0: off; "
                        "off, a GPU need not wait for each step's norm)")
    t.add_argument("--epoch-windows", type=positive_int, metavar="N",
                   help="an epoch visits every training window when there are at most N, else N "
                        "drawn at random (training time follows N, not the size of the data; "
                        f"default: {T.windows_per_epoch:,}, or the preset's)")
    t.add_argument("--max-windows", type=positive_int, default=T.max_windows, metavar="N",
                   help="the most windows one network's training visits over all its epochs "
                        "(default: ten passes over the data, from 100,000 to 1,500,000: the "
                        "cost of a fit stays bounded on any data)")
    t.add_argument("--ensemble", type=positive_int,
                   help="networks trained with different seeds; the forecast is their median "
                        f"(default: {ENSEMBLE}, or the preset's)")
    t.add_argument("--validation", type=nonnegative_int,
                   help="points at the end for early stopping (default: horizon or a tenth)")
    t.add_argument("--seed", type=seed_int, default=T.seed, help="random seed (same seed, same numbers)")
    device_argument(t)


def device_argument(p) -> None:
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where the networks run (auto: a CUDA GPU when PyTorch sees one, else "
                        "the CPU)")


def output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--quiet", action="store_true",
                   help="no progress (a bar on a terminal, else a line per stage and every 30 s) "
                        "or table")
    p.add_argument("--threads", type=threads_int,
                   help="CPU threads for PyTorch (default: one for small data, where these small "
                        "networks run best; every core for batches of 128 windows or more)")
    p.add_argument("--debug", action="store_true",
                   help="on an internal error, print the Python traceback (for a bug report)")


def forecaster_from(args: argparse.Namespace) -> Forecaster:
    model = Forecaster(
        cell=args.cell, window=args.window, head=args.head, units=args.units,
        layers=args.layers, activation=args.activation, layer_norm=args.layer_norm,
        strategy=args.strategy, season=args.season, scaler=args.scaler,
        log={"auto": "auto", "yes": True, "no": False, "log1p": "log1p"}[args.log], level=not args.no_level,
        deseasonalize={"auto": "auto", "yes": True, "no": False}[args.deseasonalize],
        combine=args.combine, preset=args.preset, zero_tail=not args.no_zero_tail,
        short=args.short, past=args.covariate, future=args.future, static=args.static,
        quantiles=args.quantiles or (), holidays=args.holidays, multivariate=args.multivariate,
        calendar=args.calendar, id_embedding=args.id_embedding,
        validation=args.validation, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        loss=args.loss, patience=args.patience, clip_norm=args.clip_norm,
        spike_guard=args.spike_guard or None,
        ensemble=args.ensemble, seed=args.seed, threads=args.threads,
        refit={"auto": None, "yes": True, "no": False}[args.refit_members],
        windows_per_epoch=args.epoch_windows, max_windows=args.max_windows, device=args.device,
        parallel=getattr(args, "parallel", TrainConfig.parallel),  # fit alone trains in several processes
    )
    if args.static:  # their source: the data file, or --static-file
        source = args.static_file or args.data
        if not getattr(args, "id_col", None):
            raise SettingError("--static describes the series of a panel: give --id-col too")
        columns = [args.id_col, *([args.time_col] if args.time_col else []), *args.static]
        model.static_table = read_table(source, columns, text=[args.id_col])
    return model

