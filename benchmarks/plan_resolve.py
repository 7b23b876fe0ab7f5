"""What resolving the recipe's plan costs: CPU seconds of `plan.resolve` on a synthetic panel of
N monthly series (the Theta check and the STL strengths), against the same with the checks off.
Each command resolves once (tests/test_plan.py counts it). One JSON line, also written to
benchmarks/results/plan_resolve.json.

    python benchmarks/plan_resolve.py [--series 200]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rnncast.data import as_panel
from rnncast.plan import resolve
from rnncast.settings import SeriesConfig

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=200)
    args = parser.parse_args()
    t = np.arange(120)
    ys = {f"s{k}": pd.Series(100 + t + 10 * np.sin(2 * np.pi * t / 12 + k)
                             + np.random.default_rng(k).normal(0, 2, 120),
                             index=pd.date_range("2000-01-01", periods=120, freq="MS"))
          for k in range(args.series)}
    panel = as_panel(ys)
    resolve(panel, SeriesConfig())  # imports (statsmodels) out of the timing
    runs = []
    for _ in range(3):
        start = time.process_time()
        resolve(panel, SeriesConfig())
        runs.append(time.process_time() - start)
    start = time.process_time()
    resolve(panel, SeriesConfig(deseasonalize=True, combine="theta"))
    off = time.process_time() - start
    line = {"benchmark": "plan_resolve", "series": args.series,
            "cpu_seconds_median": float(np.median(runs)), "cpu_seconds_checks_off": off}
    print(json.dumps(line))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "plan_resolve.json").write_text(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
