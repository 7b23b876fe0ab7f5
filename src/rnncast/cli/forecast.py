"""`rnncast forecast`: a saved model's forecast past the end of the data."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rnncast import plots, stacking
from rnncast.classical import spread
from rnncast.cli.args import (
    HelpFormatter,
    device_argument,
    interval_levels,
    output_arguments,
    positive_int,
    time_arguments,
    time_config,
)
from rnncast.cli.common import few_ids, say
from rnncast.data import load_long, load_series
from rnncast.errors import OutputError, RnncastError
from rnncast.evaluation import DRAWN
from rnncast.files import Outputs, write_text
from rnncast.forecaster import Forecaster
from rnncast.tables import is_parquet, read_table
from rnncast.verdict import plain


def add(verbs) -> None:
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
    fc.add_argument("--future", type=Path, metavar="FILE",
                    help="for a model fitted with --future COL: the values of those columns over "
                         "the forecast, a CSV or Parquet table with the id (for many series), the "
                         "time and the columns (every forecast stamp of every series; other rows "
                         "are ignored)")
    time_arguments(fc)
    fc.add_argument("--intervals", type=interval_levels, metavar="LEVELS",
                    help="prediction intervals at these levels, e.g. 80,95: adds lo-80, hi-80, … "
                         "columns and bands (the model needs `fit --intervals`)")
    fc.add_argument("--out", type=Path, required=True,
                    help="forecast file to write: CSV, or Parquet when it ends in .parquet; the "
                         "plot goes beside it with the extension .png")
    device_argument(fc)
    output_arguments(fc)



def run(args: argparse.Namespace, run: Outputs) -> dict:
    if args.out.suffix.lower() == ".png":
        raise OutputError(f"--out {args.out}: the forecast is a table (CSV or Parquet); name it "
                          f"{args.out.with_suffix('.csv').name} and the plot goes beside it as "
                          f"{args.out.name}")
    png = args.out.with_suffix(".png")
    table, picture = run.file(args.out), run.file(png, "--out (its plot)")
    model = Forecaster.load(args.model, args.device)
    model.threads = args.threads
    panel = stacking.unstacked(model.panel, model.plan.stacked)  # the data as the user gave it
    first = panel.series_at(0)
    time_col = first.index.name if first.index is not None else None
    history = None
    if args.data is not None:
        time = time_config(args, first.freq)
        if panel.single:
            history = load_series(args.data, first.columns, time_col, time)
        else:
            history = load_long(args.data, panel.id_name, first.columns, time_col, time)
            if history.ids != panel.ids:
                raise RnncastError(f"{args.data}: holds series {few_ids(history.ids)}, but the model "
                                   f"was fitted on {few_ids(panel.ids)}")
    if args.intervals and model.calibration is None:
        raise RnncastError(f"{args.model}: this model has no interval calibration; fit it again "
                           "with --intervals")
    if args.intervals and args.horizon > model.calibration.horizon:
        raise RnncastError(f"{args.model}: intervals were calibrated for {model.calibration.horizon} "
                           f"steps; forecast at most that many, or fit again with a longer --horizon")
    future = None
    if args.future is not None:
        if not model.plan.given_future:
            raise RnncastError(f"--future {args.future}: the model reads no future covariates "
                               "(fit with --future COL to give some)")
        text = [] if panel.single else [panel.id_name]
        future = read_table(args.future, text=text)
    elif model.plan.given_future:
        raise RnncastError(f"{args.model}: the model reads the future covariates "
                           f"{', '.join(model.plan.given_future)}; give their values over the forecast "
                           "with --future FILE")
    try:
        forecast = model.predict(args.horizon, y=history, levels=args.intervals, future=future)
    except RnncastError as error:
        raise type(error)(f"{args.future}: {error}" if args.future else str(error)) from None
    if panel.single:
        frame = forecast.to_frame() if isinstance(forecast, pd.Series) else forecast
        frame.index.name = time_col or "step"
        _write_table(table, frame.reset_index(), args.out)
        past = history or first
        plots.plot_future(pd.DataFrame(past.values, index=past.index, columns=past.columns),
                          frame, picture, title=f"Forecast, {args.horizon} steps")
        say(args, frame.to_string(float_format=plain))
        span = (str(frame.index[0]), str(frame.index[-1]))
        values = {c: frame[c].tolist() for c in frame.columns}
    else:
        _write_table(table, forecast, args.out)
        source = history if history is not None else panel
        drawn = []
        for k in spread(len(source), DRAWN):
            past, name = source.series_at(k), source.ids[k]
            ahead = forecast[forecast[panel.id_name] == name].drop(columns=panel.id_name)
            drawn.append((name, pd.DataFrame(past.values, index=past.index, columns=past.columns),
                          ahead.set_index(ahead.columns[0])))
        which = f"{len(drawn)} of {len(source)} series" if len(drawn) < len(source) else (
            f"{len(drawn)} series")
        plots.plot_future_grid(drawn, picture, f"Forecast of {which}, {args.horizon} steps")
        say(args, f"forecast {len(panel.ids)} series, {args.horizon} steps each (long format)")
        span = (str(forecast.iloc[0, 1]), str(forecast.iloc[-1, 1]))
        values = None
    say(args, f"wrote {args.out} and {png}")
    out = {"forecast": str(args.out), "plot": str(png), "horizon": args.horizon,
           "series": len(panel), "start": span[0], "end": span[1]}
    if values is not None:
        out["values"] = values
    return out


def _write_table(path: Path, frame: pd.DataFrame, name: Path) -> None:
    """A forecast as Parquet when ``name`` ends in .parquet, else as CSV."""
    if is_parquet(name):
        frame.to_parquet(path, index=False)
    else:
        write_text(path, frame.to_csv(index=False, float_format="%.8g"))


