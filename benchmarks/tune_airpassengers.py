"""Does `tune` pick a good window without seeing the test range? AirPassengers, 1960 held out.

    python benchmarks/tune_airpassengers.py [--windows 6,12,24,36] [--seeds 0]

For each seed: `tune` backtests every window on 1949-1959 only (3 rolling origins, 12 months
each) and picks one; then every window is trained on 1949-1959 and scored on 1960, which tells
the best window in hindsight. The issue asks that the chosen window's test RMSE be within 10% of
the best window's. Prints one JSON line; writes benchmarks/results/tune_airpassengers.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rnncast import Forecaster
from rnncast.data import truncate
from rnncast.datasets import air_passengers
from rnncast.evaluation import holdout
from rnncast.tuning import grid, tune

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", default="6,12,24,36")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    torch.set_num_threads(1)
    windows = [int(w) for w in args.windows.split(",")]
    y = air_passengers()
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        cpu = time.process_time()
        tuned = tune(truncate(y, 12), grid({"window": windows}),
                     lambda s, seed=seed: Forecaster(seed=seed, **s), folds=3, test=12)
        tune_cpu = time.process_time() - cpu
        test = {w: holdout(y, 12, Forecaster(window=w, seed=seed), baselines=[]).metrics["rmse"]
                for w in windows}
        chosen, best = tuned.best["window"], min(test, key=test.get)
        runs.append({"seed": seed, "chosen_window": chosen, "chosen_test_rmse": test[chosen],
                     "best_window": best, "best_test_rmse": test[best],
                     "ratio": test[chosen] / test[best],
                     "within_10pct": test[chosen] <= 1.10 * test[best],
                     "backtest_rmse": {str(r["settings"]["window"]): r["score"] for r in tuned.rows},
                     "test_rmse": {str(w): v for w, v in test.items()}, "tune_cpu_s": tune_cpu})
    result = {"benchmark": "tune_airpassengers", "windows": windows, "runs": runs,
              "all_within_10pct": all(r["within_10pct"] for r in runs)}
    line = json.dumps(result)
    print(line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tune_airpassengers.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
