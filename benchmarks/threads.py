"""PyTorch CPU threads for rnncast's small networks: fit AirPassengers (defaults, one member)
with 1 thread and with every core, idle and beside a second busy process; then training
throughput (windows per second: 64 units, windows of 36, a head of 18, median of 3 runs of
2 s) by batch size and threads, which rnncast's automatic batch and threads follow. One JSON
line each.

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


def steps(threads: int, batch: int) -> dict:
    import statistics

    import torch

    from rnncast.networks import ModelConfig, RecurrentNet

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = RecurrentNet(ModelConfig(), 1, 1, "direct", 18)
    optimizer = torch.optim.Adam(net.parameters(), 3e-3)
    x, y = torch.randn(batch, 36, 1), torch.randn(batch, 18, 1)
    rates = []
    for _ in range(3):
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < 2:
            loss = torch.nn.functional.mse_loss(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += batch
        rates.append(done / (time.perf_counter() - start))
    return {"threads": threads, "batch": batch, "windows_per_s": round(statistics.median(rates))}


def child(argv: list[str], load: bool) -> dict:
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if load else None
    try:
        out = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True,
                             check=True).stdout
    finally:
        if busy:
            busy.kill()
    return json.loads(out)


def main() -> None:
    if len(sys.argv) > 2:  # a child: one measurement
        print(json.dumps(steps(int(sys.argv[1]), int(sys.argv[2]))))
        return
    if len(sys.argv) > 1:
        print(json.dumps(fit(int(sys.argv[1]))))
        return
    cores = os.cpu_count() or 1
    lines = []
    runs = [([str(t)], load) for load in (False, True) for t in (1, cores)]
    runs += [([str(t), str(b)], False) for b in (32, 128, 512) for t in (1, cores)]
    runs += [([str(t), "128"], True) for t in (1, cores)]
    for argv, load in runs:
        result = {"benchmark": "threads" if len(argv) == 1 else "training_steps", "cores": cores,
                  "other_process_busy": load, **child(argv, load)}
        lines.append(json.dumps(result))
        print(lines[-1], flush=True)
    (RESULTS / "threads.json").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
