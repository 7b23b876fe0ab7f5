"""PyTorch CPU threads for rnncast's small networks: fit AirPassengers (defaults, one member)
with 1 thread and with every core, idle and beside a second busy process; one JSON line each.

    python benchmarks/threads.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def fit(threads: int) -> dict:
    from rnncast import Forecaster, datasets

    y = datasets.air_passengers()
    wall, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    Forecaster(ensemble=1, seed=0, threads=threads).fit(y)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"threads": threads, "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 2)}


def main() -> None:
    if len(sys.argv) > 1:  # a child: one measurement
        print(json.dumps(fit(int(sys.argv[1]))))
        return
    cores = os.cpu_count() or 1
    lines = []
    for load in (False, True):
        for threads in (1, cores):
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load else None
            try:
                out = subprocess.run([sys.executable, __file__, str(threads)], capture_output=True,
                                     text=True, check=True).stdout
            finally:
                if busy:
                    busy.kill()
            result = {"benchmark": "threads", "cores": cores, "other_process_busy": load,
                      **json.loads(out)}
            lines.append(json.dumps(result))
            print(lines[-1], flush=True)
    (RESULTS / "threads.json").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
