"""``--workers N``: a command run by N processes on this machine through PyTorch's own launcher
(torchrun's engine, ``torch.distributed.run``, run in this process), the processes living and
dying together with the command.

- Each worker dies with this process (:func:`rnncast.distributed.start` asks the kernel to kill
  it when its parent dies), so a ``kill -9`` of the command stops every worker at once; a
  ``kill -TERM`` or Ctrl-C stops them too, through torchrun's own signal handling.
- A worker that stops answering (``kill -STOP``, a hung machine) ends the job after
  ``--worker-timeout`` seconds (the workers watch each other, :mod:`rnncast.distributed`).
- Whatever fails, the command says it in one line: the workers leave their one-line message
  in a folder this process reads; torchrun's own traceback and logs are not shown. The folder
  goes with the command (a killed command's with the next one).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

from rnncast.temporaries import scratch_folder

LAUNCHER = "RNNCAST_LAUNCHER"  # in each worker's environment: the launcher's process id
MESSAGES = "RNNCAST_MESSAGES"  # in each worker's environment: where it leaves its error line
GRACE = 5  # seconds torchrun gives the other workers to stop before it kills them


def launch(argv: list[str], workers: int, json_errors: bool = False) -> int:
    """Run ``rnncast`` with ``argv`` in ``workers`` processes on this machine; the exit status
    (a failure is one line on stderr, and a JSON error object on stdout with ``json_errors``)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    for name in list(logging.root.manager.loggerDict):  # torchrun's logs: not for users
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    with scratch_folder("workers") as folder:
        os.environ[LAUNCHER], os.environ[MESSAGES] = str(os.getpid()), str(folder)
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
        args = parse_args(["--standalone", "--nproc-per-node", str(workers), "--shutdown-timeout",
                           str(GRACE), "--log-dir", str(Path(folder) / "logs"), "-m", "rnncast",
                           *argv])
        try:
            run(args)
            return 0
        except ChildFailedError as error:
            code, line = failure(error, Path(folder))
        except SignalException as error:
            name = signal.Signals(error.sigval).name
            code, line = 128 + int(error.sigval), (f"stopped by {name}; every worker was stopped "
                                                   "and no output was written or changed")
    print(f"rnncast: error: {line}", file=sys.stderr)
    if json_errors:
        print(json.dumps({"error": {"message": line, "exit": code, "kind": "workers"}}), flush=True)
    return code


def failure(error, folder: Path) -> tuple[int, str]:
    """The exit status and the one line for torchrun's ``ChildFailedError``: the message the
    first process to fail left (rank 0's first), else how it ended."""
    said = {int(p.name.removeprefix("rank")): p.read_text().strip()
            for p in folder.glob("rank*") if p.name.removeprefix("rank").isdigit()}
    said = {rank: line for rank, line in said.items() if line}
    if said:
        rank = 0 if 0 in said else min(said)
        code, _, line = said[rank].partition(" ")
        return int(code), line
    rank, first = error.get_first_failure()
    code = first.exitcode
    how = (f"was killed by {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals()
           else f"ended with exit status {code}")
    return 1, f"worker {rank} {how}; the other workers were stopped and no output was written"


def leave_message(code: int, line: str) -> bool:
    """Under the launcher, leave this worker's one-line error for it to show (True); else False,
    and the worker says it itself."""
    folder = os.environ.get(MESSAGES)
    if not folder:
        return False
    rank = os.environ.get("RANK", "0")
    try:
        (Path(folder) / f"rank{rank}").write_text(f"{code} {line}\n")
    except OSError:
        return False
    return True
