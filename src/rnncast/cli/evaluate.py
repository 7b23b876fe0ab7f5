"""`rnncast evaluate`: a held-out range, the network against the baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

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
from rnncast.cli.common import (
    bands_line,
    choices_text,
    default_steps,
    evaluate_holdout,
    load_data,
    progress,
    result_json,
    say,
    score_table,
    season_ends_line,
    write_evaluation,
)
from rnncast.data import Panel, SeriesData
from rnncast.evaluation import Evaluation
from rnncast.files import Outputs
from rnncast.plots import plot_evaluation_set
from rnncast.progress import Stages
from rnncast.report import write_report
from rnncast.verdict import sentence
from rnncast.version import __version__


def add(verbs) -> None:
    ev = verbs.add_parser(
        "evaluate", formatter_class=HelpFormatter,
        help="score a network on a held-out range against naive baselines",
        description=(
            "Hold out the last --test points, train on the rest (early stopping on the end of\n"
            "the training part), forecast the test range and print the network's RMSE, MAE,\n"
            "MAPE, sMAPE and MASE beside classical forecasts (naive, seasonal naive, Naive2,\n"
            "Theta, ETS; SARIMAX for one series). The verdict compares RMSE on one series and\n"
            "MASE on many. With --out, also writes metrics.json, each series' scores\n"
            "(series_scores.csv) and plots: the forecast against the truth, the loss curves,\n"
            "and the forecast of the test range after every few epochs."
        ),
        epilog=("example:\n  rnncast evaluate airpassengers.csv --target passengers "
                "--time-col month --test 12 --out eval"),
    )
    data_arguments(ev)
    ev.add_argument("--test", type=positive_int,
                    help="points held out at the end (default: --head, else one season, else a "
                         "tenth of the series)")
    model_arguments(ev)
    baseline_arguments(ev)
    ev.add_argument("--intervals", type=interval_levels, metavar="LEVELS",
                    help="also calibrate conformal intervals at these levels (e.g. 80) on the "
                         "training part and score their coverage and interval score (MSIS) on the "
                         "test, beside any --quantiles bands")
    ev.add_argument("--out", type=Path, help="directory for metrics.json, series_scores.csv and the plots")
    ev.add_argument("--report", type=Path, metavar="HTML",
                    help="write one self-contained HTML page: data, split, settings, plots, scores")
    output_arguments(ev)



def run(args: argparse.Namespace, run: Outputs) -> dict:
    out_dir = run.directory(args.out) if args.out else None
    report = run.file(args.report, "--report") if args.report else None
    model = forecaster_from(args)
    with progress(args, f"evaluate {args.data.name}", model) as bar:
        stages = Stages(say=bar.note)
        with stages("loading", f"reading {args.data}"):
            data = load_data(args)
        test = args.test or default_steps(data, model)
        result = evaluate_holdout(args, data, test, model, bar, stages)
        out = result_json(result, test)
        out.update(data=str(args.data), target=args.target)
        if args.out:
            which = f"series '{result.shown}', " if result.shown is not None else ""
            with stages("plots", "drawing the plots"):
                plot_evaluation_set(result, out_dir,
                                    f"{which}{', '.join(args.target)}: last {test} held out")
            out["seconds"]["stages"] = stages.summary()
            write_evaluation(result, out_dir, out)
            out["out"] = str(args.out)
        else:
            out["seconds"]["stages"] = stages.summary()
    say(args, score_table([(f"{args.data.name} (test {test})", result)]))
    say(args, sentence(result))
    if result.bands:
        say(args, bands_line(result.bands))
    if result.season_ends and test >= 2 * result.season:
        say(args, season_ends_line(result.season_ends))
    say(args, choices_text(result.model))
    say(args, stages.line())
    if args.out:
        names = sorted((path.name for path in out_dir.iterdir()), key=lambda n: (n != "metrics.json", n))
        say(args, f"wrote {args.out}/{', '.join(names)}")
    if args.report:
        write_report(report, result, f"rnncast: {', '.join(args.target)} in {args.data.name}",
                     _facts(args, data, result, test), __version__)
        out["report"] = str(args.report)
        say(args, f"wrote {args.report}")
    return out


def _when(stamp) -> str:
    """A time as a person writes it: the date alone when there is no time of day."""
    if isinstance(stamp, pd.Timestamp) and stamp == stamp.normalize():
        return str(stamp.date())
    return str(stamp)


def _facts(args: argparse.Namespace, data: SeriesData | Panel, result: Evaluation,
           test: int) -> dict[str, object]:
    """What the report says about the data and the split."""
    panel = data if isinstance(data, Panel) else Panel.of([data])
    first = panel.series_at(0)
    index = first.index if first.index is not None else range(len(first.values))
    plan = result.model.plan
    facts = {"file": args.data, "target": ", ".join(args.target), "series": len(panel),
             "points": int(panel.lengths.sum()),
             "first series from": _when(index[0]), "first series to": _when(index[-1]),
             "frequency": first.freq or "none (integer steps)",
             "training part": f"all but the last {test} points of each series",
             "test part (held out)": f"the last {test} points: {_when(index[len(index) - test])} "
                                     f"to {_when(index[-1])}",
             "early stopping on": f"the last {plan.validation} points of the training part",
             "window (input length)": ", ".join(map(str, plan.windows)),
             "networks in the ensemble": len(result.model.nets)}
    if result.skipped:
        facts["skipped (too short)"] = ", ".join(result.skipped)
    return facts


