"""Kill `rnncast fit --out MODEL` with SIGKILL at random moments, over an existing model.

After every kill a complete model must load from MODEL and forecast; after a final successful
run no hidden leftovers may remain beside it. Prints one JSON line (and writes it with --out).

    python scripts/kill_fit.py --kills 50 --out benchmarks/results/kill_fit.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SRC = str(Path(__file__).resolve().parents[1] / "src")


def fit(data: Path, out: Path, seed: int) -> list[str]:
    return [sys.executable, "-m", "rnncast", "fit", str(data), "--target", "y", "--time-col", "t",
            "--epochs", "5", "--ensemble", "2", "--units", "8", "--head", "3", "--quiet",
            "--seed", str(seed), "--out", str(out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the JSON line here")
    args = parser.parse_args()
    sys.path.insert(0, SRC)
    from rnncast.forecaster import Forecaster

    rng = random.Random(args.seed)
    env = {**os.environ, "PYTHONPATH": SRC}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data, model = root / "data.csv", root / "model"
        t = np.arange(120)
        pd.DataFrame({"t": t, "y": 50 + 10 * np.sin(2 * np.pi * t / 12) + t / 4}).to_csv(data, index=False)
        start = time.perf_counter()
        subprocess.run(fit(data, model, 0), env=env, check=True)
        span = time.perf_counter() - start  # one whole run, start-up to the rename
        loaded = changed = 0
        moments = []
        for k in range(args.kills):
            before = (model / "weights.safetensors").read_bytes()
            child = subprocess.Popen(fit(data, model, k + 1), env=env)
            moment = rng.uniform(0.3, 1.1) * span  # weighted towards training and the save
            time.sleep(moment)
            child.send_signal(signal.SIGKILL)
            child.wait()
            moments.append(round(moment, 3))
            Forecaster.load(model).predict(3)  # raises if no complete model is at the path
            loaded += 1
            changed += (model / "weights.safetensors").read_bytes() != before
        leftovers_before = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
        subprocess.run(fit(data, model, 0), env=env, check=True)
        leftovers = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
    result = {"benchmark": "kill_fit", "kills": args.kills, "loadable_after_kill": loaded,
              "runs_finished_before_kill": changed, "hidden_leftovers_before_final_run":
              len(leftovers_before), "hidden_leftovers_after_final_run": len(leftovers),
              "run_seconds": round(span, 2), "kill_moments_s": moments}
    line = json.dumps(result)
    print(line)
    if args.out:
        args.out.write_text(line + "\n")
    if loaded != args.kills or leftovers:
        sys.exit(1)


if __name__ == "__main__":
    main()
