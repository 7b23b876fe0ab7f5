"""`rnncast fit`: train on all the data and save a model folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rnncast import distributed
from rnncast.cli.args import (
    HelpFormatter,
    data_arguments,
    forecaster_from,
    model_arguments,
    output_arguments,
    positive_float,
    workers_int,
)
from rnncast.cli.common import choices_text, default_steps, load_data, progress, say
from rnncast.distributed import WORKER_TIMEOUT
from rnncast.errors import OutputError
from rnncast.files import Outputs, overlaps
from rnncast.persistence import write_model
from rnncast.progress import Stages
from rnncast.training import PARALLEL, TrainConfig
from rnncast.version import __version__


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
                     help="calibrate prediction intervals for --head steps (trains one more "
                          "model, on the data without its end, to measure its errors)")
    fit.add_argument("--out", type=Path, required=True, help="model directory to write")
    r = fit.add_argument_group("long runs, many processes")
    r.add_argument("--checkpoint-dir", type=Path, metavar="DIR",
                   help="save the training state after every epoch in DIR (a new or empty "
                        "folder), so that a killed fit can go on with --resume DIR")
    r.add_argument("--resume", type=Path, metavar="DIR",
                   help="go on from the last finished epoch saved in DIR by --checkpoint-dir "
                        "(same data and options; finished ensemble members are not retrained)")
    r.add_argument("--workers", type=workers_int, default=1, metavar="N",
                   help="train data-parallel in N processes on this machine, at most one per "
                        "core (torchrun, gloo on the CPU, NCCL on GPUs); for many machines start "
                        "`torchrun ... -m rnncast fit ...` on each instead")
    r.add_argument("--worker-timeout", type=positive_float, default=WORKER_TIMEOUT,
                   metavar="SECONDS",
                   help="with several processes: one that gives no sign of life for this long "
                        "(stopped, hung, on a lost machine) ends the job, in one line")
    r.add_argument("--parallel", choices=PARALLEL, default=TrainConfig.parallel,
                   help="how processes share the work: members (each trains whole ensemble "
                        "members alone, no traffic until the end), batches (every member "
                        "data-parallel), auto: members when there are at least as many as "
                        "processes")
    output_arguments(fit)



def run(args: argparse.Namespace, run: Outputs) -> dict:
    main = distributed.launched_rank() == 0  # only rank 0 writes; the others train beside it
    folder = run.directory(args.out, kind="model") if main else None
    checkpoints = _checkpoint_folder(args)
    model = forecaster_from(args)
    with progress(args, f"fit {args.data.name}", model) as bar:
        stages = Stages(say=bar.note)
        with stages("loading", f"reading {args.data}"):
            data = load_data(args)
        distributed.start(model.device, args.worker_timeout)  # under torchrun: join the others
        distributed.on_abort(run.discard)
        start = time.perf_counter()
        with stages("recipe", "choosing the recipe from the data"):
            plan = model.resolve(data)  # once, for the calibration and the fit
        if args.intervals:
            bar.expect(None)  # as many fits as the calibration's origins
            with stages("calibration", "calibrating the intervals on backtests"):
                model.calibrate(data, default_steps(data, model), callback=bar, plan=plan)
            say(args, f"calibrated intervals over {model.calibration.horizon} steps from "
                       f"{len(model.calibration.scores)} forecast errors per step")
        bar.expect(1)
        with stages("training", plan.training_line(model.layout(data), model.ensemble)):
            model.fit(data, callback=bar, checkpoints=checkpoints,
                      resume=args.resume is not None, plan=plan)
        if folder is not None:
            with stages("saving", f"saving the model in {args.out}"):
                write_model(model, folder, __version__)
        seconds = time.perf_counter() - start
    history = model.history
    points = int(model.panel.lengths.sum())
    say(args, choices_text(model))
    say(args, f"trained {len(model.nets)} network(s) on {len(model.panel)} series, "
               f"{points} points, in {seconds:.1f} s (best epoch {history.best_epoch}); "
               f"saved {args.out}")
    say(args, stages.line())
    return {"model": str(args.out), "series": len(model.panel), "points": points,
            "seconds": seconds,
            "epochs_best": [h.best_epoch for h in model.histories],
            "val_loss": [min(h.val_loss) if h.val_loss else None for h in model.histories],
            "clipped_steps": sum(h.clipped_steps for h in model.histories),
            "skipped_steps": sum(h.skipped_steps for h in model.histories),
            "settings": model.config(), "choices": model.choices,
            "stages": stages.summary()}




def _checkpoint_folder(args: argparse.Namespace) -> Path | None:
    """The checkpoint folder named by --checkpoint-dir or --resume (never an input or --out)."""
    if args.resume and args.checkpoint_dir and args.resume.resolve() != args.checkpoint_dir.resolve():
        raise OutputError("--resume and --checkpoint-dir name different folders; give one: "
                          "--resume DIR goes on saving checkpoints in DIR")
    folder = args.resume or args.checkpoint_dir
    if folder is not None:
        for other, flag in ((args.out, "--out"), (args.data, "the data")):
            if overlaps(folder, other):
                raise OutputError(f"{folder}: the checkpoint folder must not be, hold or lie in "
                                  f"{flag}")
    return folder
