"""The command line: evaluate, fit, forecast, backtest, tune, diagnose and demo. Nothing imports this module.

Errors in the user's input end in one line on stderr and a non-zero exit (1 for bad data or
model files, 2 for bad arguments), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from rnncast import __version__, plots
from rnncast.data import Panel, SeriesData, load_long, load_series
from rnncast.errors import OutputError, RnncastError, SettingError
from rnncast.evaluation import BASELINES, Evaluation, backtest, holdout
from rnncast.files import Outputs, describe, write_text
from rnncast.forecaster import Forecaster
from rnncast.persistence import write_model
from rnncast.report import verdict, write_report
from rnncast.timeindex import FILLS, TIME_ZONES, TimeConfig
from rnncast.training import EpochInfo

METRICS = ("rmse", "mae", "mape", "smape", "mase")


# -- argument types ------------------------------------------------------------------------------
def _number(convert, accept, what: str):
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


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
seed_int = _number(int, lambda v: 0 <= v <= 2**31 - 1, "an integer from 0 to 2147483647")
CPUS = os.cpu_count() or 1
threads_int = _number(int, lambda v: 1 <= v <= CPUS,
                      f"from 1 to {CPUS}, the CPUs of this machine (more only slows PyTorch down)")
positive_float = _number(float, lambda v: v > 0, "a positive number")
nonnegative_int = _number(int, lambda v: v >= 0, "an integer >= 0")


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BASELINES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown baseline {text!r}; choose from {', '.join(BASELINES)}")
    return names


def _number_list(convert, accept, what: str):
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


_sizes = _number_list(int, lambda v: v >= 1, "positive integers, comma-separated")
_lengths = _number_list(int, lambda v: v >= 2, "integers >= 2, comma-separated")
def _levels(text: str) -> list[float]:
    """Interval levels as percentages; a fraction such as 0.8 is refused with the likely intent."""
    values = _number_list(float, lambda v: 0 < v < 100,
                          "percentages between 1 and 99.9, comma-separated (e.g. 80,95)")(text)
    small = [v for v in values if v < 1]
    if small:
        raise argparse.ArgumentTypeError(
            f"levels are percentages: {small[0]:g} would be a {small[0]:g}% band, nearly zero wide; "
            f"did you mean {small[0] * 100:g}?")
    return values


def _cells(text: str) -> list[str]:
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


# -- the parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rnncast",
        formatter_class=HelpFormatter,
        description=(
            "Forecast sequences with recurrent neural networks (RNN, LSTM, peephole LSTM, GRU).\n\n"
            "The deck's workflow: `evaluate` a network on a held-out range against simple\n"
            "baselines, `fit` it on all the data, `forecast` the future. `demo` runs it all on\n"
            "data shipped with rnncast."
        ),
        epilog=(
            "examples:\n"
            "  rnncast demo --out demo\n"
            "  rnncast evaluate sales.csv --target sales --time-col month --test 12 --out eval\n"
            "  rnncast fit sales.csv --target sales --time-col month --out model\n"
            "  rnncast forecast model --horizon 12 --out forecast.csv\n"
            "  rnncast backtest sales.csv --target sales --time-col month --folds 3\n"
            "  rnncast tune sales.csv --target sales --time-col month --window 6,12,24,36\n"
            "  rnncast diagnose --task adding --length 50 --out diagnosis\n\n"
            "`rnncast COMMAND --help` explains each command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"rnncast {__version__}")
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                  parser_class=Parser)

    ev = verbs.add_parser(
        "evaluate", formatter_class=HelpFormatter,
        help="score a network on a held-out range against naive baselines",
        description=(
            "Hold out the last --test points, train on the rest (early stopping on the end of\n"
            "the training part), forecast the test range and print the network's RMSE, MAE,\n"
            "MAPE, sMAPE and MASE beside the naive and seasonal-naive forecasts. With --out, also\n"
            "writes metrics.json and plots: the forecast against the truth, the loss curves,\n"
            "and the forecast of the test range after every few epochs."
        ),
        epilog=("example:\n  rnncast evaluate airpassengers.csv --target passengers "
                "--time-col month --test 12 --out eval"),
    )
    _data_arguments(ev)
    ev.add_argument("--test", type=positive_int,
                    help="points held out at the end (default: --horizon, else one season)")
    _model_arguments(ev)
    ev.add_argument("--baselines", type=_names,
                    help=f"comma-separated, from {', '.join(BASELINES)} (default: naive and "
                         "seasonal naive; SARIMAX and ETS, or VARMAX, for a single series)")
    ev.add_argument("--out", type=Path, help="directory for metrics.json and the plots")
    ev.add_argument("--report", type=Path, metavar="HTML",
                    help="write one self-contained HTML page: data, split, settings, plots, scores")
    _output_arguments(ev)

    fit = verbs.add_parser(
        "fit", formatter_class=HelpFormatter,
        help="train on all the data and save the model",
        description=(
            "Train on the whole series (early stopping on its last points, then a refit on all\n"
            "of it) and save a model directory: weights as safetensors and a JSON config.\n"
            "Nothing in it runs code when loaded."
        ),
        epilog=("example:\n  rnncast fit airpassengers.csv --target passengers --time-col month "
                "--out model"),
    )
    _data_arguments(fit)
    _model_arguments(fit)
    fit.add_argument("--intervals", action="store_true",
                     help="calibrate prediction intervals for --horizon steps (trains one more "
                          "model, on the data without its end, to measure its errors)")
    fit.add_argument("--out", type=Path, required=True, help="model directory to write")
    _output_arguments(fit)

    fc = verbs.add_parser(
        "forecast", formatter_class=HelpFormatter,
        help="forecast past the end of the data with a saved model",
        description=(
            "Forecast --horizon steps past the last timestamp, with real dates when the data had\n"
            "a time column (integer steps when not). Uses the history saved with the model, or\n"
            "the end of --data when given. Writes a CSV and a PNG beside it."
        ),
        epilog="example:\n  rnncast forecast model --horizon 12 --out forecast.csv",
    )
    fc.add_argument("model", type=Path, help="model directory written by `rnncast fit`")
    fc.add_argument("--horizon", type=positive_int, required=True, help="steps to forecast")
    fc.add_argument("--data", type=Path, help="newer history (same columns as at fit time)")
    _time_arguments(fc)
    fc.add_argument("--intervals", type=_levels, metavar="LEVELS",
                    help="prediction intervals at these levels, e.g. 80,95: adds lo-80, hi-80, … "
                         "columns and bands (the model needs `fit --intervals`)")
    fc.add_argument("--out", type=Path, required=True,
                    help="forecast file to write: CSV, or Parquet when it ends in .parquet; the "
                         "plot goes beside it with the extension .png")
    _output_arguments(fc)

    bt = verbs.add_parser(
        "backtest", formatter_class=HelpFormatter,
        help="score the network and the baselines from several forecast origins",
        description=(
            "Rolling origin: forecast --horizon points from --folds origins at the end of the\n"
            "data, --step apart, refitting before each (or, with --no-refit, training once\n"
            "before the first). Every fold is scored with every metric for the network and the\n"
            "baselines; prints the per-fold RMSE and the means, and with --out writes\n"
            "backtest.json and a plot."
        ),
        epilog=("example:\n  rnncast backtest airpassengers.csv --target passengers "
                "--time-col month --folds 3 --horizon 12"),
    )
    _data_arguments(bt)
    bt.add_argument("--folds", type=positive_int, default=3, help="forecast origins")
    bt.add_argument("--step", type=positive_int, help="points between origins (default: horizon)")
    bt.add_argument("--no-refit", action="store_true", help="train once, before the first origin")
    bt.add_argument("--intervals", type=_levels, metavar="LEVELS",
                    help="also calibrate intervals at these levels (e.g. 80,95) before each fold "
                         "and report the share of test points inside them")
    _model_arguments(bt)
    bt.add_argument("--baselines", type=_names, help="comma-separated baselines (as in evaluate)")
    bt.add_argument("--out", type=Path, help="directory for backtest.json and backtest.png")
    _output_arguments(bt)

    tn = verbs.add_parser(
        "tune", formatter_class=HelpFormatter,
        help="choose the window (and cell, units) by backtesting on the training part",
        description=(
            "The deck: the window length has no definitive answer, so experiment and measure\n"
            "the forecasts' error. `tune` backtests every combination of --window, --cell and\n"
            "--units (or --trials of them, proposed by Optuna) with --folds rolling origins and\n"
            "ranks them by the mean --metric. --test N leaves the last N points out entirely,\n"
            "so a later `evaluate --test N` scores the choice on data the tuning never saw.\n"
            "Prints the table and the `rnncast fit` command for the best configuration."
        ),
        epilog=("example:\n  rnncast tune airpassengers.csv --target passengers --time-col month "
                "--window 6,12,24,36 --test 12 --horizon 12 --folds 3"),
    )
    _data_arguments(tn)
    tn.add_argument("--test", type=nonnegative_int, default=0,
                    help="points at the end never used for tuning (the final test range)")
    tn.add_argument("--folds", type=positive_int, default=3, help="backtest origins per configuration")
    tn.add_argument("--step", type=positive_int, help="points between origins (default: horizon)")
    tn.add_argument("--metric", choices=list(METRICS), default="rmse", help="what to rank by")
    tn.add_argument("--trials", type=positive_int,
                    help="try this many configurations proposed by Optuna instead of the grid")
    _model_arguments(tn, lists=True)
    tn.add_argument("--out", type=Path, help="directory for tune.json and tune.png")
    _output_arguments(tn)

    dg = verbs.add_parser(
        "diagnose", formatter_class=HelpFormatter,
        help="see vanishing and exploding gradients: per cell, per remedy",
        description=(
            "Measure how much the loss at the end still hears each input step, ‖∂loss/∂h_t‖,\n"
            "for a fresh network of each --cells, train each briefly, and report the gradient\n"
            "ratio first/last step (≪ 1: vanishing), the final validation loss against always\n"
            "predicting the mean, and the share of clipped steps. On DATA (a file, as in fit)\n"
            "or on the adding problem (--task adding --length L: the answer depends on a value\n"
            "up to L steps back; several lengths give accuracy against L). --remedies adds a\n"
            "table of the deck's remedies switched on one at a time. The starting point is\n"
            "PyTorch's default initialisation; gated cells get their memory gate biased open\n"
            "for the window length (chrono initialisation; --no-chrono to turn it off)."
        ),
        epilog=("examples:\n"
                "  rnncast diagnose --task adding --length 50 --json\n"
                "  rnncast diagnose --task adding --length 25,50,100 --cells rnn,lstm --out diag\n"
                "  rnncast diagnose --task adding --length 50 --cells rnn --remedies --explode-lr 1\n"
                "  rnncast diagnose sales.csv --target sales --time-col month --out diag"),
    )
    dg.add_argument("data", type=Path, nargs="?", help="CSV or Parquet file (or use --task)")
    dg.add_argument("--target", action="append", help="column(s) to forecast, as in fit")
    dg.add_argument("--time-col", help="time column")
    dg.add_argument("--id-col", help="series id column (long format)")
    _time_arguments(dg)
    dg.add_argument("--window", type=positive_int, help="input length for DATA (default: three seasons)")
    dg.add_argument("--horizon", type=positive_int, help="steps ahead for DATA (default: one season)")
    dg.add_argument("--season", type=positive_int, help="season length for DATA")
    dg.add_argument("--task", choices=["adding"], help="a synthetic long-memory task instead of DATA")
    dg.add_argument("--length", type=_lengths, default=[50],
                    help="the task's memory length L (comma-separated for several)")
    dg.add_argument("--samples", type=positive_int, default=10_000, help="training sequences (task)")
    dg.add_argument("--cells", "--cell", type=_cells, default=["rnn", "lstm", "peephole", "gru"],
                    help="comma-separated cells to compare")
    dg.add_argument("--units", type=positive_int, default=64, help="units per cell")
    dg.add_argument("--init", choices=["pytorch", "xavier"], default="pytorch",
                    help="initialisation (xavier: Glorot inputs, orthogonal recurrent weights)")
    dg.add_argument("--no-chrono", action="store_true", help="no memory-gate bias for gated cells")
    dg.add_argument("--activation", choices=["tanh", "relu", "leaky_relu", "elu"], default="tanh",
                    help="candidate/output nonlinearity")
    dg.add_argument("--layer-norm", action="store_true", help="normalise gate pre-activations")
    dg.add_argument("--epochs", type=positive_int, default=30, help="maximum epochs per cell")
    dg.add_argument("--patience", type=positive_int, default=10, help="early-stopping patience")
    dg.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate")
    dg.add_argument("--batch-size", type=positive_int, default=100, help="sequences per batch")
    dg.add_argument("--clip-norm", type=positive_float, help="clip the gradient norm (default: off)")
    dg.add_argument("--clip-value", type=positive_float, help="clip each gradient entry (default: off)")
    dg.add_argument("--remedies", action="store_true",
                    help="also probe each remedy alone on the first of --cells")
    dg.add_argument("--explode-lr", type=positive_float, metavar="LR",
                    help="with --remedies: plain SGD at this rate, without and with clipping")
    dg.add_argument("--seed", type=seed_int, default=0, help="random seed (data and weights)")
    dg.add_argument("--out", type=Path, help="directory for diagnose.json and the plots")
    _output_arguments(dg)

    demo = verbs.add_parser(
        "demo", formatter_class=HelpFormatter,
        help="the deck's whole walk-through on shipped data (sine wave, AirPassengers)",
        description=(
            "Evaluate an LSTM on the deck's sine wave and on AirPassengers (1960 held out)\n"
            "against the baselines, retrain on all the data, forecast 1961-1962, print a short\n"
            "table and write the plots."
        ),
        epilog="example:\n  rnncast demo --out demo",
    )
    demo.add_argument("--out", type=Path, default=Path("rnncast-demo"), help="output directory")
    demo.add_argument("--seed", type=seed_int, default=0, help="random seed")
    demo.add_argument("--quick", action="store_true",
                      help="a smoke run: 20 epochs, one network per model (not for results)")
    _output_arguments(demo)
    return parser


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", type=Path, help="CSV or Parquet file")
    p.add_argument("--target", required=True, action="append",
                   help="column to forecast (repeat for a multivariate series)")
    p.add_argument("--time-col", help="time column (parsed as dates when it holds dates)")
    p.add_argument("--id-col", help="series id column: a long file of many series "
                                    "(one global model for all of them)")
    _time_arguments(p)


def _time_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("time stamps")
    g.add_argument("--freq", help="the data's frequency as a pandas alias (MS, W-SUN, D, h, 15min) "
                                  "when it cannot be inferred (default: inferred)")
    g.add_argument("--date-format", metavar="FORMAT",
                   help="strftime format of the time column, e.g. %%d/%%m/%%Y (default: guessed)")
    g.add_argument("--dayfirst", action="store_true", help="read 03/04/2020 as 3 April")
    g.add_argument("--fill-missing", choices=FILLS, metavar="HOW",
                   help=f"fill missing time stamps ({', '.join(FILLS)}) instead of refusing them")
    g.add_argument("--time-zone", choices=TIME_ZONES, metavar="ZONE",
                   help="for stamps with mixed UTC offsets: utc converts them (hourly data), local "
                        "keeps the wall-clock time (daily and coarser data)")


def _time_config(args: argparse.Namespace, freq: str | None = None) -> TimeConfig:
    return TimeConfig(freq=args.freq or freq, date_format=args.date_format, dayfirst=args.dayfirst,
                      fill=args.fill_missing, time_zone=args.time_zone)


def _model_arguments(p: argparse.ArgumentParser, lists: bool = False) -> None:
    """The model and training options; ``lists``: --cell, --window, --units take several values
    (comma-separated), for `tune`."""
    g = p.add_argument_group("model")
    if lists:
        g.add_argument("--cell", type=_cells, default=["lstm"], help="cells to try, e.g. lstm,gru")
        g.add_argument("--window", type=_sizes, help="input lengths to try, e.g. 6,12,24,36 "
                                                     "(default: one, two and three seasons)")
        g.add_argument("--units", type=_sizes, default=[64], help="units per layer to try, e.g. 32,64")
    else:
        g.add_argument("--cell", choices=["rnn", "lstm", "peephole", "gru", "gru_torch"],
                       default="lstm",
                       help="recurrent cell (gru: the deck's form; gru_torch: PyTorch's, fused)")
        g.add_argument("--window", type=positive_int, help="input length (default: three seasons)")
    g.add_argument("--horizon", type=positive_int,
                   help="steps the network emits at once (default: the test size or one season)")
    g.add_argument("--season", type=positive_int,
                   help="season length (default: from the time column's frequency, else 1)")
    g.add_argument("--strategy", choices=["direct", "recursive", "stateful"], default="direct",
                   help="direct multi-step head, or one-step recursion (re-run the window or "
                        "carry the state)")
    if not lists:
        g.add_argument("--units", type=positive_int, default=64, help="units per layer")
    g.add_argument("--layers", type=positive_int, default=1, help="stacked recurrent layers")
    g.add_argument("--activation", choices=["tanh", "sigmoid", "relu", "leaky_relu", "elu"],
                   default="tanh", help="candidate/output nonlinearity")
    g.add_argument("--layer-norm", action="store_true", help="normalise gate pre-activations")
    g.add_argument("--scaler", choices=["standard", "minmax", "none"], default="standard",
                   help="scaling fitted on the training part")
    g.add_argument("--log", choices=["auto", "yes", "no"], default="auto",
                   help="log-transform first (auto: when all values are positive)")
    g.add_argument("--no-level", action="store_true",
                   help="do not normalise each window by its last season's level")
    g.add_argument("--deseasonalize", action="store_true",
                   help="divide by classical multiplicative seasonal indices first")
    g.add_argument("--covariate", action="append", default=[], metavar="COL",
                   help="a column fed as input but not forecast (repeat for more; direct strategy)")
    g.add_argument("--calendar", action="store_true",
                   help="feed the position in the season (month of year, weekday, …) as inputs")
    g.add_argument("--id-embedding", type=nonnegative_int, default=0, metavar="N",
                   help="with --id-col: a learned vector of N numbers per series (0: none)")
    g.add_argument("--short", choices=["error", "pad", "skip"],
                   help="series too short for one window (default: error for one, pad for many)")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=positive_int, default=300, help="maximum epochs")
    t.add_argument("--patience", type=positive_int, default=40, help="early-stopping patience")
    t.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate")
    t.add_argument("--batch-size", type=positive_int, default=32, help="windows per batch")
    t.add_argument("--loss", choices=["mse", "mae", "huber"], default="mse", help="training loss")
    t.add_argument("--clip-norm", type=positive_float, default=1.0, help="gradient norm limit")
    t.add_argument("--ensemble", type=positive_int, default=5,
                   help="networks trained with different seeds; the forecast is their median")
    t.add_argument("--validation", type=nonnegative_int,
                   help="points at the end for early stopping (default: horizon or a tenth)")
    t.add_argument("--seed", type=seed_int, default=0, help="random seed (same seed, same numbers)")


def _output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.add_argument("--threads", type=threads_int, default=1,
                   help="CPU threads for PyTorch (small recurrent nets run best on one)")
    p.add_argument("--debug", action="store_true",
                   help="on an internal error, print the Python traceback (for a bug report)")


def _forecaster(args: argparse.Namespace, horizon: int | None = None) -> Forecaster:
    return Forecaster(
        cell=args.cell, window=args.window, horizon=args.horizon or horizon, units=args.units,
        layers=args.layers, activation=args.activation, layer_norm=args.layer_norm,
        strategy=args.strategy, season=args.season, scaler=args.scaler,
        log={"auto": "auto", "yes": True, "no": False}[args.log], level=not args.no_level,
        deseasonalize=args.deseasonalize, short=args.short, covariates=args.covariate,
        calendar=args.calendar, id_embedding=args.id_embedding,
        validation=args.validation, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        loss=args.loss, patience=args.patience, clip_norm=args.clip_norm,
        ensemble=args.ensemble, seed=args.seed, threads=args.threads,
    )


# -- progress ------------------------------------------------------------------------------------
class Progress:
    """A tqdm bar on a terminal only (stderr), never with --quiet or --json: over one fit's
    epochs (all members), or, with ``runs``, over that many runs (:meth:`step`), or, with
    ``runs=0``, counting epochs of an unknown number of fits."""

    def __init__(self, args: argparse.Namespace, label: str, runs: int | None = None) -> None:
        from tqdm import tqdm

        self.epochs = getattr(args, "epochs", 300)
        self.runs = runs
        members = getattr(args, "ensemble", 1)
        total = self.epochs * members if runs is None else (runs or None)
        enabled = not args.quiet and not args.json and sys.stderr.isatty()
        self.bar = tqdm(total=total, desc=label, unit="run" if runs else "epoch", leave=False,
                        disable=not enabled, dynamic_ncols=True)

    def step(self) -> None:
        """One run done."""
        self.bar.update(1)

    def __call__(self, info: EpochInfo) -> None:
        if self.runs is None:
            self.bar.n = info.member * self.epochs + info.epoch
        elif self.runs == 0:
            self.bar.n += 1
        post = {"net": info.member + 1, "loss": f"{info.loss:.4f}"}
        if info.val_loss is not None:
            post["val"] = f"{info.val_loss:.4f}"
        post["s"] = f"{info.elapsed:.0f}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.refresh()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet and not args.json:
        print(text)


# -- commands ------------------------------------------------------------------------------------
def _load(args: argparse.Namespace) -> SeriesData | Panel:
    columns = args.target + [c for c in args.covariate if c not in args.target]
    if args.id_col:
        return load_long(args.data, args.id_col, columns, args.time_col, _time_config(args))
    return load_series(args.data, columns, args.time_col, _time_config(args))


def _default_span(args: argparse.Namespace, data: SeriesData | Panel) -> int:
    """Points to forecast when not given: one season, else a tenth of the (first) series."""
    first = data.series[0] if isinstance(data, Panel) else data
    season = args.season or first.season
    return season if season > 1 else max(1, len(first.values) // 10)


def cmd_evaluate(args: argparse.Namespace, run: Outputs) -> dict:
    out_dir = run.directory(args.out) if args.out else None
    report = run.file(args.report, "--report") if args.report else None
    data = _load(args)
    test = args.test or args.horizon or _default_span(args, data)
    model = _forecaster(args, horizon=test)
    result = _evaluate(args, data, test, model, f"evaluate {args.data.name}")
    out = _result_json(result, test)
    out.update(data=str(args.data), target=args.target)
    if args.out:
        _write_evaluation(result, out_dir, out, title=f"{', '.join(args.target)}: last {test} held out")
        out["out"] = str(args.out)
    _say(args, _table([(f"{args.data.name} (test {test})", result)]))
    _say(args, verdict(result))
    if args.out:
        _say(args, f"wrote {args.out}/metrics.json, forecast.png, loss.png, progress.png")
    if args.report:
        write_report(report, result, f"rnncast: {', '.join(args.target)} in {args.data.name}",
                     _facts(args, data, result, test), __version__)
        out["report"] = str(args.report)
        _say(args, f"wrote {args.report}")
    return out


def _when(stamp) -> str:
    """A time as a person writes it: the date alone when there is no time of day."""
    if isinstance(stamp, pd.Timestamp) and stamp == stamp.normalize():
        return str(stamp.date())
    return str(stamp)


def _facts(args: argparse.Namespace, data: SeriesData | Panel, result: Evaluation,
           test: int) -> dict[str, object]:
    """What the report says about the data and the split."""
    panel = data if isinstance(data, Panel) else Panel([data])
    first = panel.series[0]
    index = first.index if first.index is not None else range(len(first.values))
    cfg = result.model.fitted_config
    facts = {"file": args.data, "target": ", ".join(args.target), "series": len(panel.series),
             "points": sum(len(s.values) for s in panel.series),
             "first series from": _when(index[0]), "first series to": _when(index[-1]),
             "frequency": first.freq or "none (integer steps)",
             "training part": f"all but the last {test} points of each series",
             "test part (held out)": f"the last {test} points: {_when(index[len(index) - test])} "
                                     f"to {_when(index[-1])}",
             "early stopping on": f"the last {cfg.validation} points of the training part",
             "window (input length)": cfg.window, "networks in the ensemble": len(result.model.nets)}
    if result.skipped:
        facts["skipped (too short)"] = ", ".join(result.skipped)
    return facts


def _evaluate(args, data: SeriesData, test: int, model: Forecaster, label: str) -> Evaluation:
    with Progress(args, label) as progress:
        return holdout(data, test, model, args.season, watch=True, callback=progress,
                       baselines=getattr(args, "baselines", None))


def _result_json(result: Evaluation, test: int) -> dict:
    cfg = result.model.fitted_config
    return {
        "metrics": result.metrics,
        "baselines": result.baselines,
        "better_baselines": result.losers_to("rmse"),
        "test": test,
        "series": result.series,
        "skipped": result.skipped,
        "season": result.season,
        "settings": result.model.config(),
        "epochs_best": [h.best_epoch for h in result.model.histories],
        "window": cfg.window,
    }


def _write_evaluation(result: Evaluation, out: Path, summary: dict, title: str) -> None:
    out.mkdir(parents=True, exist_ok=True)  # a staged folder, or a part of one
    plots.plot_evaluation_set(result, out, title)
    write_text(out / "metrics.json", _json(summary, indent=2) + "\n")


def cmd_fit(args: argparse.Namespace, run: Outputs) -> dict:
    folder = run.directory(args.out, kind="model")
    data = _load(args)
    model = _forecaster(args)
    start = time.perf_counter()
    if args.intervals:
        with Progress(args, "calibrating intervals") as progress:
            model.calibrate(data, args.horizon or _default_span(args, data), callback=progress)
        _say(args, f"calibrated intervals over {model.calibration.horizon} steps from "
                   f"{len(model.calibration.scores)} forecast errors per step")
    with Progress(args, f"fit {args.data.name}") as progress:
        model.fit(data, callback=progress)
    write_model(model, folder, __version__)
    seconds = time.perf_counter() - start
    history = model.history
    points = sum(len(s.values) for s in model.panel.series)
    _say(args, f"trained {len(model.nets)} network(s) on {len(model.panel.series)} series, "
               f"{points} points, in {seconds:.1f} s (best epoch {history.best_epoch}); "
               f"saved {args.out}")
    return {"model": str(args.out), "series": len(model.panel.series), "points": points,
            "seconds": seconds,
            "epochs_best": [h.best_epoch for h in model.histories],
            "val_loss": [min(h.val_loss) if h.val_loss else None for h in model.histories],
            "clipped_steps": sum(h.clipped_steps for h in model.histories),
            "skipped_steps": sum(h.skipped_steps for h in model.histories),
            "settings": model.config()}


def cmd_forecast(args: argparse.Namespace, run: Outputs) -> dict:
    if args.out.suffix.lower() == ".png":
        raise OutputError(f"--out {args.out}: the forecast is a table (CSV or Parquet); name it "
                          f"{args.out.with_suffix('.csv').name} and the plot goes beside it as "
                          f"{args.out.name}")
    png = args.out.with_suffix(".png")
    table, picture = run.file(args.out), run.file(png, "--out (its plot)")
    model = Forecaster.load(args.model)
    model.threads = args.threads
    panel, first = model.panel, model.data
    time_col = first.index.name if first.index is not None else None
    history = None
    if args.data is not None:
        time = _time_config(args, first.freq)
        if panel.single:
            history = load_series(args.data, first.columns, time_col, time)
        else:
            history = load_long(args.data, panel.id_name, first.columns, time_col, time)
            if history.ids != panel.ids:
                raise RnncastError(f"{args.data}: holds series {_few(history.ids)}, but the model "
                                   f"was fitted on {_few(panel.ids)}")
    if args.intervals and model.calibration is None:
        raise RnncastError(f"{args.model}: this model has no interval calibration; fit it again "
                           "with --intervals")
    if args.intervals and args.horizon > model.calibration.horizon:
        raise RnncastError(f"{args.model}: intervals were calibrated for {model.calibration.horizon} "
                           f"steps; forecast at most that many, or fit again with a longer --horizon")
    forecast = model.predict(args.horizon, y=history, levels=args.intervals)
    if panel.single:
        frame = forecast.to_frame() if isinstance(forecast, pd.Series) else forecast
        frame.index.name = time_col or "step"
        _write_table(table, frame.reset_index(), args.out)
        past = history or first
        plots.plot_future(pd.DataFrame(past.values, index=past.index, columns=past.columns),
                          frame, picture, title=f"Forecast, {args.horizon} steps")
        _say(args, frame.to_string(float_format=lambda v: f"{v:.4g}"))
        span = (str(frame.index[0]), str(frame.index[-1]))
        values = {c: frame[c].tolist() for c in frame.columns}
    else:
        _write_table(table, forecast, args.out)
        shown = (history or panel).series[0]
        head = forecast[forecast[panel.id_name] == panel.ids[0]].drop(columns=panel.id_name)
        head = head.set_index(head.columns[0])
        plots.plot_future(pd.DataFrame(shown.values, index=shown.index, columns=shown.columns),
                          head, picture, title=f"Forecast of series '{panel.ids[0]}', {args.horizon} steps")
        _say(args, f"forecast {len(panel.ids)} series, {args.horizon} steps each (long format)")
        span = (str(forecast.iloc[0, 1]), str(forecast.iloc[-1, 1]))
        values = None
    _say(args, f"wrote {args.out} and {png}")
    out = {"forecast": str(args.out), "plot": str(png), "horizon": args.horizon,
           "series": len(panel.series), "start": span[0], "end": span[1]}
    if values is not None:
        out["values"] = values
    return out


def _write_table(path: Path, frame: pd.DataFrame, name: Path) -> None:
    """A forecast as Parquet when ``name`` ends in .parquet, else as CSV."""
    if name.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        write_text(path, frame.to_csv(index=False))


def _few(ids: list[str] | None) -> str:
    ids = ids or []
    return ", ".join(ids[:3]) + (f" … ({len(ids)} in all)" if len(ids) > 3 else "")


def cmd_backtest(args: argparse.Namespace, run: Outputs) -> dict:
    folder = run.directory(args.out) if args.out else None
    data = _load(args)
    horizon = args.horizon = args.horizon or _default_span(args, data)
    with Progress(args, f"backtest {args.data.name}") as progress:
        result = backtest(data, args.folds, horizon, lambda k: _forecaster(args), args.step,
                          refit=not args.no_refit, season=args.season, baselines=args.baselines,
                          callback=progress, levels=args.intervals)
    out = {**result.to_dict(), "horizon": horizon, "refit": not args.no_refit,
           "data": str(args.data), "target": args.target}
    names = ["network", *result.mean["baselines"]]
    rows = [[f["metrics"]["rmse"], *(f["baselines"][n]["rmse"] for n in names[1:])]
            for f in result.folds]
    means = [result.mean["metrics"]["rmse"], *(result.mean["baselines"][n]["rmse"] for n in names[1:])]
    lines = [f"{'RMSE':<14}" + "".join(f"{n.replace('_', ' '):>16}" for n in names)]
    for f, row in zip(result.folds, rows, strict=True):
        lines.append(f"{'fold ' + str(f['fold'] + 1):<14}" + "".join(f"{v:>16.4g}" for v in row))
    lines.append(f"{'mean':<14}" + "".join(f"{v:>16.4g}" for v in means))
    if args.intervals:
        lines.append("interval coverage (share of test points inside): " + ", ".join(
            f"{level}%: {share:.0%}" for level, share in result.mean["coverage"].items()))
    _say(args, "\n".join(lines))
    if args.out:
        write_text(folder / "backtest.json", _json(out, indent=2) + "\n")
        plots.plot_backtest(names, rows, folder / "backtest.png")
        _say(args, f"wrote {args.out}/backtest.json and backtest.png")
    return out


def cmd_demo(args: argparse.Namespace, run: Outputs) -> dict:
    from rnncast import datasets

    out = run.directory(args.out)
    sine = datasets.sine_wave()
    sine_data = SeriesData(sine[:, None], pd.RangeIndex(len(sine), name="step"), ["sin"], None)
    args.epochs = 20 if args.quick else 300
    members = 1 if args.quick else 5
    args.ensemble, args.baselines = 1, ["naive", "seasonal_naive"]
    args.season = 63  # the wave's period in points (2π / 0.1), for the seasonal-naive baseline
    sine_model = Forecaster(window=50, strategy="recursive", ensemble=1, epochs=args.epochs,
                            threads=args.threads,
                            seed=args.seed)
    sine_result = _evaluate(args, sine_data, 50, sine_model, "sine wave")
    _write_evaluation(sine_result, out / "sine", _result_json(sine_result, 50),
                      "Sine wave: LSTM, window 50, recursive forecast of the last 50 points")

    passengers = datasets.air_passengers()
    air_data = SeriesData(passengers.to_numpy()[:, None], passengers.index.rename("month"),
                          ["passengers"], "MS")
    args.ensemble, args.season, args.baselines = members, None, None  # + SARIMAX and ETS
    air = Forecaster(ensemble=members, epochs=args.epochs, seed=args.seed, threads=args.threads)
    air_result = _evaluate(args, air_data, 12, air, "AirPassengers")
    _write_evaluation(air_result, out / "airpassengers", _result_json(air_result, 12),
                      "AirPassengers: 1960 held out")

    final = Forecaster(ensemble=members, epochs=args.epochs, seed=args.seed, threads=args.threads)
    with Progress(args, "AirPassengers, all data") as progress:
        final.fit(air_data, callback=progress)
    final.save(out / "airpassengers-model")
    future = final.predict(24).to_frame()
    future.index.name = "month"
    write_text(out / "airpassengers-forecast.csv", future.to_csv())
    plots.plot_future(pd.DataFrame({"passengers": passengers}), future, out / "airpassengers-forecast.png",
                      title="AirPassengers: forecast of 1961-1962 after retraining on 1949-1960")
    _say(args, _table([("sine wave (last 50)", sine_result), ("AirPassengers (1960)", air_result)]))
    _say(args, verdict(air_result))
    shown = args.out
    _say(args, f"\nretrained on 1949-1960 and forecast 1961-1962: {shown}/airpassengers-forecast.csv"
               f"\nplots and metrics in {shown}/ (forecast.png, loss.png, progress.png per data set)")
    return {"sine": _result_json(sine_result, 50), "airpassengers": _result_json(air_result, 12),
            "future": {str(k.date()): v for k, v in future["passengers"].items()},
            "out": str(shown)}


def cmd_tune(args: argparse.Namespace, run: Outputs) -> dict:
    from rnncast.evaluation import grid, search, truncate, tune

    folder = run.directory(args.out) if args.out else None
    data = _load(args)
    if args.test:
        data = truncate(data, args.test)  # the final test range: never seen here
    horizon = args.horizon = args.horizon or _default_span(args, data)
    first = data.series[0] if isinstance(data, Panel) else data
    season = args.season or first.season
    windows = args.window or sorted({w for w in (season, 2 * season, 3 * season) if w > 1} or {12})
    choices = {"window": windows, "cell": args.cell, "units": args.units}

    def make(settings: dict) -> Forecaster:
        return _forecaster(argparse.Namespace(**{**vars(args), **settings}))

    configurations = grid(choices)
    label = f"tune {args.data.name}"
    with Progress(args, label, runs=0) as progress:  # epochs, over every backtest fit
        if args.trials:
            result = search(data, choices, make, args.trials, args.folds, horizon, args.step,
                            args.metric, args.season, args.seed, callback=progress)
        else:
            result = tune(data, configurations, make, args.folds, horizon, args.step, args.metric,
                          args.season, callback=progress)
    best = result.best
    command = _fit_command(args, best)
    out = {**result.to_dict(), "fit_command": command, "folds": args.folds, "horizon": horizon,
           "test_left_out": args.test, "data": str(args.data), "target": args.target}
    names = list(choices)
    lines = [f"{'rank':<6}" + "".join(f"{n:>8}" for n in names) + f"{args.metric.upper():>12}"
             + "".join(f"{'fold ' + str(k + 1):>10}" for k in range(args.folds))]
    for rank, row in enumerate(result.rows, 1):
        lines.append(f"{rank:<6}" + "".join(f"{row['settings'][n]!s:>8}" for n in names)
                     + f"{row['score']:>12.4g}" + "".join(f"{v:>10.4g}" for v in row["folds"]))
    _say(args, "\n".join(lines))
    _say(args, f"best: {', '.join(f'{k} {v}' for k, v in best.items())}; to fit it:\n  {command}")
    if args.out:
        write_text(folder / "tune.json", _json(out, indent=2) + "\n")
        plots.plot_tuning([", ".join(f"{k} {v}" for k, v in r["settings"].items()) for r in result.rows],
                          [r["score"] for r in result.rows], args.metric, folder / "tune.png")
        _say(args, f"wrote {args.out}/tune.json and tune.png")
    return out


def _fit_command(args: argparse.Namespace, best: dict) -> str:
    """The `rnncast fit` line that trains the chosen configuration on all the data."""
    parts = ["rnncast", "fit", str(args.data)]
    parts += [x for t in args.target for x in ("--target", t)]
    for flag in ("time_col", "id_col", "season"):
        if getattr(args, flag):
            parts += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    parts += ["--horizon", str(args.horizon)]
    parts += [x for k, v in best.items() for x in (f"--{k}", str(v))]
    verbs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for action in verbs.choices["tune"]._actions:  # other model/training options the user set
        value = getattr(args, action.dest, None)
        if (action.container.title in ("model", "training") and action.dest not in best
                and action.dest != "horizon" and value != action.default):
            values = value if isinstance(value, list) else [value]
            parts += [action.option_strings[0]] + ([] if action.nargs == 0 else
                                                   [str(v) for v in values])
    return " ".join([*parts, "--out", "model"])


def cmd_diagnose(args: argparse.Namespace, run: Outputs) -> dict:
    from rnncast import diagnostics
    from rnncast.networks import ModelConfig
    from rnncast.training import TrainConfig

    if (args.data is None) == (args.task is None):
        raise SettingError("give either a DATA file or --task adding")
    if args.data is not None and not args.target:
        raise SettingError("DATA needs --target (the column to forecast)")
    if args.explode_lr and not args.remedies:
        raise SettingError("--explode-lr belongs to the --remedies table; add --remedies")
    folder = run.directory(args.out) if args.out else None
    train_config = TrainConfig(epochs=args.epochs, patience=args.patience, lr=args.lr,
                               batch_size=args.batch_size, clip_norm=args.clip_norm,
                               clip_value=args.clip_value, spike_guard=None, seed=args.seed)
    if args.task:
        cases = [(f"adding problem, L = {n}", n, diagnostics.adding_data(n, args.samples, 1000,
                                                                          args.seed))
                 for n in args.length]
    else:
        args.covariate = []
        model = Forecaster(window=args.window, horizon=args.horizon, season=args.season, seed=args.seed)
        data = model.pairs(_load(args))
        if len(data[2]) == 0:
            raise RnncastError(f"{args.data}: too short to hold out validation windows after "
                               f"training windows of {data[0].shape[1]}; use a shorter --window")
        cases = [(f"{args.data.name}, window {data[0].shape[1]}", data[0].shape[1], data)]

    def config(cell: str, length: int) -> ModelConfig:
        chrono = 0 if args.no_chrono or cell == "rnn" else max(2, length)
        return ModelConfig(cell=cell, units=args.units, init=args.init, activation=args.activation,
                           layer_norm=args.layer_norm, chrono=chrono)

    runs = []
    with Progress(args, "diagnose", runs=len(cases) * len(args.cells)) as bar:
        for label, length, data in cases:
            probes = {}
            for cell in args.cells:
                probes[cell] = diagnostics.probe(data, config(cell, length), train_config)
                bar.step()
            runs.append((label, length, data, probes))
        label, length, data, _ = runs[-1]
        table = {}
        if args.remedies:
            table = diagnostics.remedies(data, args.cells[0], config(args.cells[0], length),
                                         train_config, args.explode_lr)
    last = runs[-1][3]
    out = {"task": args.task or str(args.data), "length": runs[-1][1], "init": args.init,
           "chrono": not args.no_chrono, "cells": {c: p.to_dict() for c, p in last.items()}}
    if len(runs) > 1:
        out["by_length"] = {str(n): {c: p.to_dict() for c, p in probes.items()}
                            for _, n, _, probes in runs}
    if table:
        out["remedies"] = {"cell": args.cells[0], "rows": {k: p.to_dict() for k, p in table.items()}}
    for label, _, _, probes in runs:
        _say(args, f"\n{label}\n" + _probe_table(probes, "cell"))
    if table:
        _say(args, f"\nremedies, one at a time ({args.cells[0]}, {label})\n"
                   + _probe_table(table, "configuration"))
    if args.out:
        write_text(folder / "diagnose.json", _json(out, indent=2) + "\n")
        title = f"{runs[-1][0]}: gradient reaching each step at initialisation ({args.init} init)"
        plots.plot_gradient_flow({c: p.flow.through_time[0] for c, p in last.items()},
                                 folder / "gradient_flow.png", title)
        plots.plot_layer_gradients({c: p.layer_norms for c, p in last.items()},
                                   {c: p.clipped_fraction for c, p in last.items()},
                                   folder / "layer_gradients.png",
                                   f"{runs[-1][0]}: weight gradients while training")
        written = ["diagnose.json", "gradient_flow.png", "layer_gradients.png"]
        if len(runs) > 1:
            plots.plot_memory([n for _, n, _, _ in runs],
                              {c: [probes[c].reduction for *_, probes in runs] for c in args.cells},
                              folder / "memory.png", "Long memory: the adding problem")
            written.append("memory.png")
        _say(args, f"wrote {', '.join(written)} in {args.out}")
    return out


def _probe_table(probes: dict, what: str) -> str:
    head = (f"{what:<34} {'grad first/last':>15} {'final loss':>11} {'mean-only':>10} "
            f"{'reduction':>9} {'clipped':>8}")
    lines = [head]
    for name, p in probes.items():
        final = "diverged" if p.diverged else f"{p.final_loss:.4g}"
        reduction = "" if p.diverged else f"{max(p.reduction, -9.99):.1%}"  # -999%: far worse
        lines.append(f"{name:<34} {p.gradient_ratio:>15.3g} {final:>11} {p.baseline_loss:>10.4g} "
                     f"{reduction:>9} {p.clipped_fraction:>8.0%}")
    return "\n".join(lines)


# -- printing ------------------------------------------------------------------------------------
def _table(rows: list[tuple[str, Evaluation]]) -> str:
    lines = [f"{'data':<24} {'model':<16} " + " ".join(f"{m.upper():>9}" for m in METRICS)]
    for label, result in rows:
        cfg = result.model.fitted_config
        name = f"{result.model.model_config.cell}, {cfg.strategy}"
        entries = [(name, result.metrics)] + [(k.replace("_", " "), v)
                                              for k, v in result.baselines.items()]
        for k, (model, scores) in enumerate(entries):
            cells = " ".join(f"{scores[m]:>9.4g}" for m in METRICS)
            lines.append(f"{label if k == 0 else '':<24} {model:<16} {cells}")
    return "\n".join(lines)


def _json(value, indent: int | None = None) -> str:
    """Strict JSON: NaN and infinities (metrics that are undefined) become null."""
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, float | np.floating) and not np.isfinite(v):
            return None
        return v

    return json.dumps(clean(value), default=_jsonable, allow_nan=False, indent=indent)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


COMMANDS = {"evaluate": cmd_evaluate, "fit": cmd_fit, "forecast": cmd_forecast,
            "backtest": cmd_backtest, "tune": cmd_tune, "diagnose": cmd_diagnose, "demo": cmd_demo}


def _inputs(args: argparse.Namespace) -> list[Path]:
    """What a command reads: no output may be, hold or lie inside any of these."""
    return [p for p in (getattr(args, "data", None), getattr(args, "model", None)) if p is not None]


def _failure(error: BaseException) -> tuple[int, str, str]:
    """``(exit code, kind, one line)`` for an error that ended a command."""
    if isinstance(error, KeyboardInterrupt):
        return 130, "interrupted", "interrupted; no output was written or changed"
    if isinstance(error, SettingError | OutputError):
        return 2, "argument", str(error)
    if isinstance(error, RnncastError):
        return 1, "input", str(error)
    if isinstance(error, OSError):
        return 1, "file system", describe(error)
    if isinstance(error, MemoryError):
        return 1, "memory", "out of memory: use fewer series, a smaller --batch-size or --units"
    text = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
    return 3, "internal", (f"internal error ({type(error).__name__}: {text}); this is a bug in "
                           "rnncast: rerun with --debug for the traceback and report it")


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit status: 0 done, 1 bad data, model or file system, 2 bad argument,
    3 internal error, 130 interrupted. Outputs appear only when the whole command succeeded."""
    argv = sys.argv[1:] if argv is None else list(argv)
    Parser.json_errors = "--json" in argv
    args = build_parser().parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="rnncast: %(message)s")
    run = Outputs(_inputs(args), args.command)
    try:
        result = COMMANDS[args.command](args, run)
        run.commit()
    except BaseException as error:
        if isinstance(error, SystemExit):
            run.discard()
            raise
        code, kind, line = _failure(error)
        line = run.shown(line)
        run.discard()
        if args.debug:
            traceback.print_exc()
        print(f"rnncast: error: {line}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": {"message": line, "exit": code, "kind": kind}}), flush=True)
        return code
    if args.json:
        try:
            print(_json(result), flush=True)
        except BrokenPipeError:  # the reader (head, a closed pager) left early: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
