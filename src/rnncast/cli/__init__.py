"""The command line: evaluate, fit, forecast, backtest, tune, diagnose and demo, one module each.

Exit status: 0 done, 1 bad data, model or file system, 2 bad argument, 3 internal error (a bug;
``--debug`` prints the traceback), 130 interrupted. Nothing else imports this package.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import traceback
from pathlib import Path

from rnncast import distributed, launcher
from rnncast.cli import backtest, demo, diagnose, evaluate, fit, forecast, tune
from rnncast.cli.args import HelpFormatter, Parser
from rnncast.cli.common import columns_from_file, to_json
from rnncast.errors import OutputError, RnncastError, SettingError, Stopped, describe
from rnncast.files import Outputs
from rnncast.progress import clock, since_start
from rnncast.version import __version__

COMMANDS = {"evaluate": evaluate, "fit": fit, "forecast": forecast, "backtest": backtest,
            "tune": tune, "diagnose": diagnose, "demo": demo}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rnncast",
        formatter_class=HelpFormatter,
        description=(
            "Forecast sequences with recurrent neural networks (RNN, LSTM, peephole LSTM, GRU).\n\n"
            "The workflow: `evaluate` a network on a held-out range against simple\n"
            "baselines, `fit` it on all the data, `forecast` the future. `demo` runs it all on\n"
            "data shipped with rnncast."
        ),
        epilog=(
            "examples:\n"
            "  rnncast demo --out demo\n"
            "  rnncast evaluate sales.csv --target sales --time-col month --test 12 --out eval\n"
            "  rnncast evaluate panel.csv --test 12   # columns unique_id, ds, y: no names needed\n"
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
    for command in COMMANDS.values():
        command.add(verbs)
    return parser


def _inputs(args: argparse.Namespace) -> list[Path]:
    """What a command reads: no output may be, hold or lie inside any of these."""
    return [p for p in (getattr(args, "data", None), getattr(args, "model", None)) if p is not None]


def _failure(error: BaseException) -> tuple[int, str, str]:
    """``(exit code, kind, one line)`` for an error that ended a command."""
    if isinstance(error, KeyboardInterrupt):
        return 130, "interrupted", "interrupted; no output was written or changed"
    if isinstance(error, Stopped):
        name = signal.Signals(error.signum).name
        return 128 + error.signum, "stopped", f"stopped by {name}; no output was written or changed"
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
    if getattr(args, "workers", 1) > 1 and distributed.requested() == 1:
        return launcher.launch(distributed.without_workers(argv), args.workers, args.json)
    if distributed.requested() > 1 and args.command != "fit":
        print(f"rnncast: error: only `fit` trains in several processes; run `rnncast "
              f"{args.command}` in one (without torchrun)", file=sys.stderr)
        return 2
    if distributed.launched_rank() != 0:  # under torchrun only rank 0 reports
        args.quiet, args.json = True, False
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            return _run(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command: outputs committed, errors reported, the exit status."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="rnncast: %(message)s")
    run = Outputs(_inputs(args), args.command)
    try:
        taken = columns_from_file(args)
        if taken and not args.quiet and not args.json:
            print(f"[{clock(since_start())}] {taken}", file=sys.stderr, flush=True)
        result = COMMANDS[args.command].run(args, run)
        run.commit()
        distributed.finish()
    except BaseException as error:
        if isinstance(error, SystemExit):
            run.discard()
            raise
        code, kind, line = _failure(error)
        line = run.shown(line)
        run.discard()
        if args.debug:
            traceback.print_exc()
        if os.environ.get(launcher.MESSAGES):  # under --workers the launcher says it, once
            if kind not in ("interrupted", "stopped"):  # those: it knows why, and says it
                launcher.leave_message(code, line)
            return code
        if distributed.launched_rank() == 0:
            print(f"rnncast: error: {line}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": {"message": line, "exit": code, "kind": kind}}), flush=True)
        return code
    if args.json:
        try:
            print(to_json(result), flush=True)
        except BrokenPipeError:  # the reader (head, a closed pager) left early: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
