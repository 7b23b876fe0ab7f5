"""`rnncast tune`: choose the window (and cell, units) by backtesting the training part."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnncast import plots
from rnncast.cli.args import (
    METRICS,
    HelpFormatter,
    data_arguments,
    forecaster_from,
    model_arguments,
    nonnegative_int,
    output_arguments,
    positive_int,
    trials_int,
)
from rnncast.cli.common import default_steps, load_data, progress, say, to_json
from rnncast.data import as_panel, truncate
from rnncast.evaluation import headline_metric
from rnncast.files import Outputs, write_text
from rnncast.forecaster import Forecaster
from rnncast.rules import head_for, season_of, week_head, window_room
from rnncast.verdict import plain


def add(verbs) -> None:
    tn = verbs.add_parser(
        "tune", formatter_class=HelpFormatter,
        help="choose the window (and cell, units) by backtesting on the training part",
        description=(
            "The window length has no definitive answer: experiment and measure\n"
            "the forecasts' error. `tune` backtests every combination of --window, --cell and\n"
            "--units (or --trials of them, proposed by Optuna) with --folds rolling origins and\n"
            "ranks them by the mean --metric. --test N leaves the last N points out entirely,\n"
            "so a later `evaluate --test N` scores the choice on data the tuning never saw.\n"
            "Prints the table and the `rnncast fit` command for the best configuration."
        ),
        epilog=("example:\n  rnncast tune airpassengers.csv --target passengers --time-col month "
                "--window 6,12,24,36 --test 12 --horizon 12 --folds 3"),
    )
    data_arguments(tn)
    tn.add_argument("--test", type=nonnegative_int, default=0,
                    help="points at the end never used for tuning (the final test range)")
    tn.add_argument("--folds", type=positive_int, default=3, help="backtest origins per configuration")
    tn.add_argument("--fold-length", "--horizon", type=positive_int, dest="fold_length",
                    help="points forecast and scored from each origin (default: --test when given, "
                         "else --head, one season or a tenth of the series; --horizon: its old name)")
    tn.add_argument("--step", type=positive_int,
                    help="points between origins (default: --fold-length)")
    tn.add_argument("--metric", choices=list(METRICS),
                    help="what to rank by (default: RMSE for one series of one target, else MASE, "
                         "as evaluate's verdict: errors in each series' units do not add up)")
    tn.add_argument("--trials", type=trials_int,
                    help="try this many configurations proposed by Optuna instead of the grid")
    model_arguments(tn, lists=True, horizon_is_head=False)
    tn.add_argument("--out", type=Path, help="directory for tune.json and tune.png")
    output_arguments(tn)
    tn.set_defaults(parser=tn)  # for the fit command: which options the user set



def _windows(panel, settings, season: int, head: int, earliest: int) -> list[int]:
    """One, two and three seasons (12 without a season), those the median series holds before
    the first fold's origin, ``earliest`` points from the end (:func:`~rnncast.rules.window_room`);
    where it holds none, half of what it holds and all of it (12 at least)."""
    tried = sorted({w for w in (season, 2 * season, 3 * season) if w > 1} or {12})
    room = window_room(panel, settings, head, before=earliest)
    return [w for w in tried if w <= room] or sorted({max(room // 2, 12), max(room, 12)})


def run(args: argparse.Namespace, run: Outputs) -> dict:
    from rnncast.tuning import grid, search, tune

    folder = run.directory(args.out) if args.out else None
    data = load_data(args)
    if args.test:
        data = truncate(data, args.test)  # the final test range: never seen here
    def make(settings: dict) -> Forecaster:
        return forecaster_from(argparse.Namespace(**{**vars(args), **settings}))

    first = make({"window": None, "cell": args.cell[0], "units": args.units[0]})
    settings = first.series_config
    horizon = args.fold_length or args.test or default_steps(data, first)
    panel = as_panel(data)
    args.metric = args.metric or headline_metric(len(panel), len(args.target))
    season = season_of(panel, settings)
    week = week_head(panel, season, panel.second_season) if not settings.season else 1
    head = args.head or head_for(season, horizon, settings.covariates, week)  # what folds train
    earliest = horizon + (args.folds - 1) * (args.step or horizon)  # the first fold's origin
    windows = args.window or _windows(panel, settings, season, head, earliest)
    choices = {"window": windows, "cell": args.cell, "units": args.units}

    configurations = grid(choices)
    label = f"tune {args.data.name}"
    runs = (args.trials or len(configurations)) * args.folds  # a fit each (the most)
    with progress(args, label, first, fits=runs) as bar:
        bar.note(f"backtesting {runs // args.folds} settings on {args.folds} folds each")
        if args.trials:
            result = search(data, choices, make, args.trials, args.folds, horizon, args.step,
                            args.metric, args.season, args.seed, callback=bar)
        else:
            result = tune(data, configurations, make, args.folds, horizon, args.step, args.metric,
                          args.season, callback=bar)
    best = result.best
    command = _fit_command(args, best, head)
    out = {**result.to_dict(), "fit_command": command, "folds": args.folds, "fold_length": horizon,
           "test_left_out": args.test, "data": str(args.data), "target": args.target}
    names = list(choices)
    lines = [f"{'rank':<6}" + "".join(f"{n:>8}" for n in names) + f"{args.metric.upper():>12}"
             + "".join(f"{'fold ' + str(k + 1):>10}" for k in range(args.folds))]
    for rank, row in enumerate(result.rows, 1):
        lines.append(f"{rank:<6}" + "".join(f"{row['settings'][n]!s:>8}" for n in names)
                     + f"{plain(row['score']):>12}" + "".join(f"{plain(v):>10}" for v in row["folds"]))
    say(args, "\n".join(lines))
    say(args, f"best: {', '.join(f'{k} {v}' for k, v in best.items())}; to fit it:\n  {command}")
    if args.out:
        write_text(folder / "tune.json", to_json(out, indent=2) + "\n")
        plots.plot_tuning([", ".join(f"{k} {v}" for k, v in r["settings"].items()) for r in result.rows],
                          [r["score"] for r in result.rows], args.metric, folder / "tune.png")
        say(args, f"wrote {args.out}/tune.json and tune.png")
    return out


def _fit_command(args: argparse.Namespace, best: dict, head: int) -> str:
    """The `rnncast fit` line that trains the chosen configuration on all the data, with the
    ``head`` its backtests trained."""
    parts = ["rnncast", "fit", str(args.data)]
    parts += [x for t in args.target for x in ("--target", t)]
    for flag in ("time_col", "id_col", "season"):
        if getattr(args, flag):
            parts += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    parts += ["--head", str(head)]
    parts += [x for k, v in best.items() for x in (f"--{k}", str(v))]
    for action in args.parser._actions:  # other model/training options the user set
        value = getattr(args, action.dest, None)
        if (action.container.title in ("model", "training") and action.dest not in best
                and action.dest != "head" and value != action.default):
            values = value if isinstance(value, list) else [value]
            parts += [action.option_strings[0]] + ([] if action.nargs == 0 else
                                                   [str(v) for v in values])
    return " ".join([*parts, "--out", "model"])


