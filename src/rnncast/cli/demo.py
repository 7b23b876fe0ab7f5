"""`rnncast demo`: the deck's walk-through on shipped data."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rnncast import plots
from rnncast.cli.args import HelpFormatter, output_arguments, seed_int
from rnncast.cli.common import (
    evaluate_holdout,
    progress,
    result_json,
    say,
    score_table,
    write_evaluation,
)
from rnncast.data import SeriesData
from rnncast.files import Outputs, write_text
from rnncast.forecaster import Forecaster
from rnncast.progress import Stages
from rnncast.verdict import sentence


def add(verbs) -> None:
    demo = verbs.add_parser(
        "demo", formatter_class=HelpFormatter,
        help="the whole workflow on data shipped with rnncast (sine wave, AirPassengers)",
        description=(
            "Evaluate an LSTM on a sine wave and on AirPassengers (1960 held out)\n"
            "against the baselines, retrain on all the data, forecast 1961-1962, print a short\n"
            "table and write the plots."
        ),
        epilog="example:\n  rnncast demo --out demo",
    )
    demo.add_argument("--out", type=Path, default=Path("rnncast-demo"), help="output directory")
    demo.add_argument("--seed", type=seed_int, default=0, help="random seed")
    demo.add_argument("--quick", action="store_true",
                      help="a smoke run: 20 epochs, one network per model (not for results)")
    output_arguments(demo)




def run(args: argparse.Namespace, run: Outputs) -> dict:
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
    with progress(args, "sine wave", sine_model) as bar:
        sine_result = evaluate_holdout(args, sine_data, 50, sine_model, bar, Stages(say=bar.note))
    write_evaluation(sine_result, out / "sine", result_json(sine_result, 50),
                      "Sine wave: LSTM, window 50, recursive forecast of the last 50 points")

    passengers = datasets.air_passengers()
    air_data = SeriesData(passengers.to_numpy()[:, None], passengers.index.rename("month"),
                          ["passengers"], "MS")
    args.ensemble, args.season, args.baselines = members, None, None  # + SARIMAX and ETS
    air = Forecaster(ensemble=members, epochs=args.epochs, seed=args.seed, threads=args.threads)
    with progress(args, "AirPassengers", air) as bar:
        air_result = evaluate_holdout(args, air_data, 12, air, bar, Stages(say=bar.note))
    write_evaluation(air_result, out / "airpassengers", result_json(air_result, 12),
                      "AirPassengers: 1960 held out")

    final = Forecaster(ensemble=members, epochs=args.epochs, seed=args.seed, threads=args.threads)
    with progress(args, "AirPassengers, all data", final) as bar:
        bar.note("training on all of AirPassengers for the forecast of 1961-1962")
        final.fit(air_data, callback=bar)
    final.save(out / "airpassengers-model")
    future = final.predict(24).to_frame()
    future.index.name = "month"
    write_text(out / "airpassengers-forecast.csv", future.to_csv())
    plots.plot_future(pd.DataFrame({"passengers": passengers}), future, out / "airpassengers-forecast.png",
                      title="AirPassengers: forecast of 1961-1962 after retraining on 1949-1960")
    say(args, score_table([("sine wave (last 50)", sine_result), ("AirPassengers (1960)", air_result)]))
    say(args, sentence(air_result))
    shown = args.out
    say(args, f"\nretrained on 1949-1960 and forecast 1961-1962: {shown}/airpassengers-forecast.csv"
               f"\nplots and metrics in {shown}/ (forecast.png, loss.png, progress.png per data set)")
    return {"sine": result_json(sine_result, 50), "airpassengers": result_json(air_result, 12),
            "future": {str(k.date()): v for k, v in future["passengers"].items()},
            "out": str(shown)}


