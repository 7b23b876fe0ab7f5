"""Data-parallel training: the scale benchmark's synthetic panel fitted by `rnncast fit` in one
process and in two (`--workers 2`: torchrun, gloo, one thread each), same global batch and
budget, then forecast and scored on each series' last `horizon` points.

One JSON line per run (processes, final validation loss per member, sMAPE on the held-out
points and of seasonal naive, fit wall and CPU seconds of the whole process tree), and a last
line with the speed-up, appended to benchmarks/results/distributed.json.

    python benchmarks/distributed.py --series 100000 [--horizon 18] [--set ensemble=1 ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from scale import RESULTS, measured, smape


def fit_and_score(args: argparse.Namespace, folder: Path, workers: int, extra: list[str]) -> dict:
    h, rnncast = args.horizon, [sys.executable, "-m", "rnncast"]
    model, forecast = folder / f"model{workers}", folder / f"forecast{workers}.parquet"
    fit = measured([*rnncast, "fit", str(folder / "train.parquet"), "--id-col", "unique_id",
                    "--time-col", "ds", "--target", "y", "--horizon", str(h), "--quiet",
                    "--json", "--seed", str(args.seed), "--threads", "1", "--device", "cpu",
                    "--workers", str(workers), *extra, "--out", str(model)])
    report = json.loads(fit["stdout"])
    measured([*rnncast, "forecast", str(model), "--horizon", str(h), "--quiet", "--threads", "1",
              "--device", "cpu", "--out", str(forecast)])
    train = pd.read_parquet(folder / "train.parquet")
    test = pd.read_parquet(folder / "test.parquet")
    net = pd.read_parquet(forecast)
    for frame in (test, net):
        frame["unique_id"] = frame["unique_id"].astype(str)
        frame["ds"] = pd.to_datetime(frame["ds"])
    both = test.merge(net, on=["unique_id", "ds"], suffixes=("", "_net"), validate="1:1")
    last = train.assign(unique_id=train["unique_id"].astype(str)).groupby("unique_id")["y"]
    season = {key: np.resize(g.to_numpy()[-12:], h) for key, g in last}
    step = both.groupby("unique_id").cumcount().to_numpy()
    naive = np.array([season[k][s] for k, s in zip(both["unique_id"], step, strict=True)])
    return {"benchmark": "distributed", "series": args.series, "points": len(train),
            "processes": workers, "threads_each": 1, "settings": args.set,
            "val_loss": report["val_loss"], "val_loss_median": statistics.median(report["val_loss"]),
            "epochs_best": report["epochs_best"], "fit_wall_s": fit["wall_s"],
            "fit_cpu_s": fit["cpu_s"], "smape": smape(both["y"].to_numpy(), both["y_net"].to_numpy()),
            "smape_seasonal_naive": smape(both["y"].to_numpy(), naive)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=18)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="extra options for rnncast fit, e.g. ensemble=1")
    args = parser.parse_args()
    extra = [x for s in args.set for x in ("--" + s.split("=")[0].replace("_", "-"), s.split("=")[1])]
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        scale = Path(__file__).parent / "scale.py"
        subprocess.run([sys.executable, str(scale), "--write-data", tmp, "--series",
                        str(args.series), "--horizon", str(args.horizon), "--seed",
                        str(args.seed)], check=True)
        for workers in (1, 2):
            lines.append(fit_and_score(args, Path(tmp), workers, extra))
            print(json.dumps(lines[-1]), flush=True)
    one, two = lines
    lines.append({"benchmark": "distributed_summary", "series": args.series,
                  "speedup_wall": round(one["fit_wall_s"] / two["fit_wall_s"], 2),
                  "val_loss_change": two["val_loss_median"] / one["val_loss_median"] - 1,
                  "smape_change": two["smape"] / one["smape"] - 1})
    print(json.dumps(lines[-1]))
    with open(RESULTS / "distributed.json", "a") as out:
        out.writelines(json.dumps(line) + "\n" for line in lines)


if __name__ == "__main__":
    main()
