"""Data-parallel training: the scale benchmark's synthetic panel fitted by `rnncast fit` in one
process and in two (`--workers 2`: torchrun, gloo, one thread each), same global batch and
budget, then forecast and scored on each series' last `horizon` points. Two processes share the
work both ways (`--parallel members`: each trains whole ensemble members; `batches`: every
member data-parallel, DistributedDataParallel), each compared with the same one-process run.

One JSON line per run (processes, final validation loss per member, sMAPE on the held-out
points and of seasonal naive, fit wall and CPU seconds of the whole process tree), and a last
line with the speed-up, appended to benchmarks/results/distributed.json.

    python benchmarks/distributed.py --series 100000 [--horizon 18] [--modes members,batches]
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
    name = f"{workers}-{'-'.join(extra)}"
    model, forecast = folder / f"model{name}", folder / f"forecast{name}.parquet"
    fit = measured([*rnncast, "fit", str(folder / "train.parquet"), "--id-col", "unique_id",
                    "--time-col", "ds", "--target", "y", "--head", str(h), "--quiet",
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
            "parallel": report["settings"]["train"]["parallel"] if workers > 1 else None,
            "ensemble": len(report["val_loss"]),
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
    parser.add_argument("--modes", default="members,batches",
                        help="how the two processes share the work (--parallel), each measured")
    args = parser.parse_args()
    extra = [x for s in args.set for x in ("--" + s.split("=")[0].replace("_", "-"), s.split("=")[1])]
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        scale = Path(__file__).parent / "scale.py"
        subprocess.run([sys.executable, str(scale), "--write-data", tmp, "--series",
                        str(args.series), "--horizon", str(args.horizon), "--seed",
                        str(args.seed)], check=True)
        one = fit_and_score(args, Path(tmp), 1, extra)
        print(json.dumps(one), flush=True)
        lines.append(one)
        for mode in args.modes.split(","):
            two = fit_and_score(args, Path(tmp), 2, [*extra, "--parallel", mode])
            summary = {"benchmark": "distributed_summary", "series": args.series, "parallel": mode,
                       "speedup_wall": round(one["fit_wall_s"] / two["fit_wall_s"], 2),
                       "val_loss_change": two["val_loss_median"] / one["val_loss_median"] - 1,
                       "smape_change": two["smape"] / one["smape"] - 1}
            print(json.dumps(two), json.dumps(summary), sep="\n", flush=True)
            lines += [two, summary]
    with open(RESULTS / "distributed.json", "a") as out:
        out.writelines(json.dumps(line) + "\n" for line in lines)


if __name__ == "__main__":
    main()
