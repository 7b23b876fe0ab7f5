"""AirPassengers through the command line: `rnncast fit` on 1949-1959 with default settings, then
`rnncast forecast --horizon 12`, scored on 1960. Five seeds; one JSON line, also written to
benchmarks/results/cli_airpassengers.json.

    python benchmarks/cli_airpassengers.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rnncast import datasets, metrics

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    y = datasets.air_passengers()
    truth = y[-12:].to_numpy()
    scores, seconds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "air-1949-1959.csv"
        y[:-12].rename_axis("month").reset_index().to_csv(data, index=False)
        for seed in range(args.seeds):
            model, out = Path(tmp) / f"model{seed}", Path(tmp) / f"forecast{seed}.csv"
            start = time.perf_counter()
            rnncast = [sys.executable, "-m", "rnncast"]
            subprocess.run([*rnncast, "fit", str(data), "--target", "passengers", "--time-col",
                            "month", "--out", str(model), "--seed", str(seed), "--quiet"], check=True)
            subprocess.run([*rnncast, "forecast", str(model), "--horizon", "12", "--out", str(out),
                            "--quiet"], check=True)
            seconds.append(time.perf_counter() - start)
            forecast = pd.read_csv(out, parse_dates=["month"])
            assert forecast["month"].dt.year.eq(1960).all()
            scores.append(metrics.rmse(truth, forecast["passengers"].to_numpy(np.float64)))
    result = {"benchmark": "cli_airpassengers", "test": "1960", "settings": "defaults",
              "seeds": args.seeds, "rmse_median": statistics.median(scores),
              "rmse_worst": max(scores), "rmse_per_seed": [round(s, 3) for s in scores],
              "wall_s_median": statistics.median(seconds), "target_rmse_median": 20.0}
    print(json.dumps(result))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli_airpassengers.json").write_text(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
