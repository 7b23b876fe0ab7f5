"""Scale: a synthetic monthly-like panel (trend, two seasonalities, noise, level shifts, lengths
40-400) written to Parquet, then `rnncast fit` and `rnncast forecast` through the command line
on all but the last `horizon` points of each series, scored against seasonal naive there.

One JSON line per run (series, points, fit wall and CPU seconds, forecast seconds, peak RSS,
sMAPE of the network and of seasonal naive), appended to benchmarks/results/scale.json.

    python benchmarks/scale.py --series 10000 [--horizon 18] [--set ensemble=1 ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def panel(series: int, seed: int = 0) -> pd.DataFrame:
    """Long table ``unique_id, ds, y`` of ``series`` positive monthly-like series."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(40, 401, series)
    ids = np.repeat(np.arange(series), lengths)
    t = np.concatenate([np.arange(n) for n in lengths])
    level = rng.lognormal(3, 1, series)[ids]
    trend = rng.normal(0, 0.003, series)[ids] * t
    months = rng.integers(0, 120, series)[ids] + t  # series start anywhere in 1990-1999
    phase = rng.integers(0, 12, series)[ids]  # each series peaks in its own month of the year
    season = rng.uniform(0, 0.3, series)[ids] * np.sin(2 * np.pi * (months + phase) / 12)
    quarter = rng.uniform(0, 0.1, series)[ids] * np.sin(2 * np.pi * months / 3)
    shift_at = (rng.uniform(0.3, 0.9, series) * lengths).astype(int)[ids]
    shift = np.where(t >= shift_at, rng.normal(0, 0.15, series)[ids], 0.0)
    noise = rng.normal(0, rng.uniform(0.01, 0.08, series)[ids])
    y = level * np.exp(trend + season + quarter + shift + noise)
    ds = pd.to_datetime({"year": 1990 + months // 12, "month": months % 12 + 1, "day": 1})
    names = [f"s{k}" for k in range(series)]
    return pd.DataFrame({"unique_id": pd.Categorical.from_codes(ids, names), "ds": ds.to_numpy(),
                         "y": y})


def smape(y: np.ndarray, f: np.ndarray) -> float:
    return float(np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f))))


def child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def timed(argv: list[str]) -> tuple[float, float]:
    """Run a command; wall and CPU seconds of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - wall
    if done.returncode:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def run_panel(args: argparse.Namespace) -> dict:
    frame = panel(args.series, args.seed)
    h = args.horizon
    position = frame.groupby("unique_id", observed=True).cumcount(ascending=False)
    train, test = frame[position >= h], frame[position < h]
    extra = [x for s in args.set for x in ("--" + s.split("=")[0].replace("_", "-"), s.split("=")[1])]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.parquet"
        train.to_parquet(data, index=False)
        rnncast = [sys.executable, "-m", "rnncast"]
        fit_wall, fit_cpu = timed([*rnncast, "fit", str(data), "--id-col", "unique_id", "--time-col",
                                   "ds", "--target", "y", "--horizon", str(h), "--quiet",
                                   "--seed", str(args.seed), *extra, "--out", f"{tmp}/model"])
        fc_wall, fc_cpu = timed([*rnncast, "forecast", f"{tmp}/model", "--horizon", str(h),
                                 "--quiet", "--out", f"{tmp}/forecast.parquet"])
        forecast = pd.read_parquet(f"{tmp}/forecast.parquet")
    test = test.assign(unique_id=test["unique_id"].astype(str), ds=pd.to_datetime(test["ds"]))
    forecast = forecast.assign(ds=pd.to_datetime(forecast["ds"]))
    both = test.merge(forecast, on=["unique_id", "ds"], suffixes=("", "_net"), validate="1:1")
    assert len(both) == len(test), "the forecast misses test points"
    order = train.assign(unique_id=train["unique_id"].astype(str)).groupby("unique_id")["y"]
    snaive = {key: np.resize(g.to_numpy()[-12:], h) for key, g in order}
    step = both.groupby("unique_id").cumcount().to_numpy()
    naive = np.array([snaive[key][k] for key, k in zip(both["unique_id"], step, strict=True)])
    truth, net = both["y"].to_numpy(), both["y_net"].to_numpy()
    return {"benchmark": "scale", "series": args.series, "points": len(train), "horizon": h,
            "settings": args.set, "fit_wall_s": round(fit_wall, 1), "fit_cpu_s": round(fit_cpu, 1),
            "forecast_wall_s": round(fc_wall, 2), "forecast_cpu_s": round(fc_cpu, 2),
            "peak_rss_mb": round(child_rss_mb()), "smape": smape(truth, net),
            "smape_seasonal_naive": smape(truth, naive)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=18)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="extra fit options, e.g. ensemble=1")
    args = parser.parse_args()
    result = run_panel(args)
    line = json.dumps(result)
    print(line)
    with open(RESULTS / "scale.json", "a") as out:
        out.write(line + "\n")


if __name__ == "__main__":
    main()
