"""`rnncast backtest`: rolling-origin scores of the network and the baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnncast import plots
from rnncast.backtesting import backtest
from rnncast.cli.args import (
    HelpFormatter,
    baseline_arguments,
    data_arguments,
    forecaster_from,
    interval_levels,
    model_arguments,
    output_arguments,
    positive_int,
)
from rnncast.cli.common import default_steps, load_data, progress, say, to_json
from rnncast.data import Panel
from rnncast.evaluation import headline_metric
from rnncast.files import Outputs, write_text
from rnncast.verdict import backtest_sentence, plain


def add(verbs) -> None:
    bt = verbs.add_parser(
        "backtest", formatter_class=HelpFormatter,
        help="score the network and the baselines from several forecast origins",
        description=(
            "Rolling origin: forecast --test points from --folds origins at the end of the\n"
            "data, --step apart, refitting before each (or, with --no-refit, training once\n"
            "before the first). Every fold is scored with every metric for the network and the\n"
            "baselines; prints the per-fold RMSE and the means, and with --out writes\n"
            "backtest.json and a plot."
        ),
        epilog=("example:\n  rnncast backtest airpassengers.csv --target passengers "
                "--time-col month --folds 3 --test 12"),
    )
    data_arguments(bt)
    bt.add_argument("--folds", type=positive_int, default=3, help="forecast origins")
    bt.add_argument("--test", "--horizon", type=positive_int, dest="test",
                    help="points forecast and scored from each origin (default: --head, else one "
                         "season, else a tenth of the series; --horizon: its old name)")
    bt.add_argument("--step", type=positive_int, help="points between origins (default: --test)")
    bt.add_argument("--no-refit", action="store_true", help="train once, before the first origin")
    bt.add_argument("--intervals", type=interval_levels, metavar="LEVELS",
                    help="also calibrate intervals at these levels (e.g. 80,95) before each fold "
                         "and report the share of test points inside them")
    model_arguments(bt, horizon_is_head=False)
    baseline_arguments(bt)
    bt.add_argument("--out", type=Path, help="directory for backtest.json and backtest.png")
    output_arguments(bt)



def run(args: argparse.Namespace, run: Outputs) -> dict:
    folder = run.directory(args.out) if args.out else None
    data = load_data(args)
    model = forecaster_from(args)
    test = args.test or default_steps(data, model)
    fits = args.folds if not args.no_refit else 1
    with progress(args, f"backtest {args.data.name}", model, fits=fits) as bar:
        bar.note(f"backtesting {args.folds} folds of {test} steps")
        result = backtest(data, args.folds, test, lambda k: forecaster_from(args), args.step,
                          refit=not args.no_refit, season=args.season, baselines=args.baselines,
                          callback=bar, levels=args.intervals, budget=args.baseline_budget)
    out = {**result.to_dict(), "test": test, "refit": not args.no_refit,
           "data": str(args.data), "target": args.target}
    metric = headline_metric(len(data.lengths) if isinstance(data, Panel) else 1)
    names = ["network", *result.mean["baselines"]]
    rows = [[f["metrics"][metric], *(f["baselines"][n][metric] for n in names[1:])]
            for f in result.folds]
    means = [result.mean["metrics"][metric], *(result.mean["baselines"][n][metric] for n in names[1:])]
    lines = [f"{metric.upper():<14}" + "".join(f"{n.replace('_', ' '):>16}" for n in names)]
    for f, row in zip(result.folds, rows, strict=True):
        lines.append(f"{'fold ' + str(f['fold'] + 1):<14}" + "".join(f"{plain(v):>16}" for v in row))
    lines.append(f"{'mean':<14}" + "".join(f"{plain(v):>16}" for v in means))
    if args.intervals:
        lines.append("interval coverage (share of test points inside): " + ", ".join(
            f"{level}%: {share:.0%}" for level, share in result.mean["coverage"].items()))
    say(args, "\n".join(lines))
    out["verdict"] = backtest_sentence(names, rows, means, metric)
    say(args, out["verdict"])
    if args.out:
        write_text(folder / "backtest.json", to_json(out, indent=2) + "\n")
        plots.plot_backtest(names, rows, folder / "backtest.png", metric)
        say(args, f"wrote {args.out}/backtest.json and backtest.png")
    return out


