"""`rnncast fit`: train on all the data and save a model folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rnncast import __version__
from rnncast.cli.args import (
    HelpFormatter,
    data_arguments,
    forecaster_from,
    model_arguments,
    output_arguments,
)
from rnncast.cli.common import Progress, default_span, load_data, say
from rnncast.files import Outputs
from rnncast.persistence import write_model


def add(verbs) -> None:
    fit = verbs.add_parser(
        "fit", formatter_class=HelpFormatter,
        help="train on all the data and save the model",
        description=(
            "Train on the whole series (early stopping on its last points, then, when an epoch\n"
            "visits every window, a refit on all of it) and save a model directory: weights as\n"
            "safetensors and a JSON config.\n"
            "Nothing in it runs code when loaded."
        ),
        epilog=("example:\n  rnncast fit airpassengers.csv --target passengers --time-col month "
                "--out model"),
    )
    data_arguments(fit)
    model_arguments(fit)
    fit.add_argument("--intervals", action="store_true",
                     help="calibrate prediction intervals for --horizon steps (trains one more "
                          "model, on the data without its end, to measure its errors)")
    fit.add_argument("--out", type=Path, required=True, help="model directory to write")
    output_arguments(fit)



def run(args: argparse.Namespace, run: Outputs) -> dict:
    folder = run.directory(args.out, kind="model")
    data = load_data(args)
    model = forecaster_from(args)
    start = time.perf_counter()
    if args.intervals:
        with Progress(args, "calibrating intervals") as progress:
            model.calibrate(data, args.horizon or default_span(args, data), callback=progress)
        say(args, f"calibrated intervals over {model.calibration.horizon} steps from "
                   f"{len(model.calibration.scores)} forecast errors per step")
    with Progress(args, f"fit {args.data.name}") as progress:
        model.fit(data, callback=progress)
    write_model(model, folder, __version__)
    seconds = time.perf_counter() - start
    history = model.history
    points = int(model.panel.lengths.sum())
    say(args, f"trained {len(model.nets)} network(s) on {len(model.panel)} series, "
               f"{points} points, in {seconds:.1f} s (best epoch {history.best_epoch}); "
               f"saved {args.out}")
    return {"model": str(args.out), "series": len(model.panel), "points": points,
            "seconds": seconds,
            "epochs_best": [h.best_epoch for h in model.histories],
            "val_loss": [min(h.val_loss) if h.val_loss else None for h in model.histories],
            "clipped_steps": sum(h.clipped_steps for h in model.histories),
            "skipped_steps": sum(h.skipped_steps for h in model.histories),
            "settings": model.config()}


