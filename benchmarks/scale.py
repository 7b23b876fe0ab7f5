"""Scale: a synthetic monthly-like panel (trend, two seasonalities, noise, level shifts, lengths
40-400) written to Parquet, then `rnncast fit` and `rnncast forecast` through the command line
on all but the last `horizon` points of each series, scored against seasonal naive there.
With --daily: one daily series of ten years (weekly and yearly cycles) through
`rnncast evaluate --test 28`, with its baselines; with --half-hourly: one half-hourly series of
three years (52,608 points: day and week seasons, a yearly swing) through
`rnncast evaluate --test 1344` (four weeks).

One JSON line per run (series, points, wall and CPU seconds and peak memory of each command,
sMAPE of the network and of seasonal naive), appended to benchmarks/results/scale.json.

    python benchmarks/scale.py --series 100000 [--horizon 18] [--set ensemble=1 ...]
    python benchmarks/scale.py --series 150 --length 400   (the mid-size panel: fit <= 120 CPU-s)
    python benchmarks/scale.py --daily
    python benchmarks/scale.py --half-hourly
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def panel(series: int, seed: int = 0, length: int | None = None) -> pd.DataFrame:
    """Long table ``unique_id, ds, y`` of ``series`` positive monthly-like series of 40-400
    points (all of ``length`` points when given)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(40, 401, series)
    if length:
        lengths[:] = length
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


def daily(seed: int = 0) -> pd.DataFrame:
    """One daily series of ten years: a trend, weekly and yearly cycles, noise and a level
    shift (``day, load``)."""
    rng = np.random.default_rng(seed)
    t = np.arange(3650)
    week = 0.15 * np.sin(2 * np.pi * t / 7) + 0.05 * np.cos(4 * np.pi * t / 7)
    year = 0.25 * np.sin(2 * np.pi * t / 365.25) + 0.1 * np.cos(4 * np.pi * t / 365.25)
    shift = np.where(t > 2500, 0.1, 0.0)
    load = 100 * np.exp(0.00005 * t + week + year + shift + rng.normal(0, 0.04, len(t)))
    return pd.DataFrame({"day": pd.date_range("2015-01-01", periods=len(t), freq="D"),
                         "load": load})


def half_hourly(seed: int = 0) -> pd.DataFrame:
    """One half-hourly series of three years like a city's electricity demand: a daily profile
    that differs on weekends, a yearly swing, slow weather spells and noise (``time, demand``)."""
    rng = np.random.default_rng(seed)
    t = np.arange(1096 * 48)
    hour = t % 48 / 2
    weekend = (t // 48 + 3) % 7 >= 5  # 2015-01-01 was a Thursday
    day = np.where(weekend, 0.6, 1.0) * (0.25 * np.exp(-((hour - 18) / 3) ** 2)
                                         + 0.15 * np.exp(-((hour - 8) / 2) ** 2))
    year = 0.15 * np.cos(2 * np.pi * t / (365.25 * 48)) + 0.05 * np.cos(4 * np.pi * t / (365.25 * 48))
    spells = np.convolve(rng.normal(0, 0.02, len(t)), np.ones(144) / 12, mode="same")
    demand = 4000 * np.exp(day + year + spells + rng.normal(0, 0.02, len(t)))
    return pd.DataFrame({"time": pd.date_range("2015-01-01", periods=len(t), freq="30min"),
                         "demand": demand})


SINGLE = {"daily": (daily, "day", "load", 28), "half_hourly": (half_hourly, "time", "demand", 1344)}


def timed(argv: list[str]) -> dict:
    """Run a command: its wall and CPU seconds and its own peak memory. The data are written
    by another child, so this small parent's memory is not counted in the child's (Linux
    records the memory a process had before it ran the new program)."""
    wall = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = child.communicate()
    wall = time.perf_counter() - wall
    if child.returncode:
        sys.exit(f"failed: {' '.join(argv)}\n{err}")
    return {"wall_s": round(wall, 2), "stdout": out}


def measured(argv: list[str]) -> dict:
    """:func:`timed`, with the CPU seconds and peak memory of that one command (GNU time)."""
    with tempfile.NamedTemporaryFile("r") as report:
        run = timed(["/usr/bin/time", "-f", "%U %S %M", "-o", report.name, *argv])
        user, system, peak_kb = report.read().split()[-3:]
    return {**run, "cpu_s": round(float(user) + float(system), 1),
            "peak_rss_mb": round(int(peak_kb) / 1024)}


def write_data(args: argparse.Namespace, folder: Path) -> None:
    """In a child process: the panel's training and test parts (or the daily series)."""
    if args.single:
        make, *_ = SINGLE[args.single]
        make(args.seed).to_csv(folder / f"{args.single}.csv", index=False)
        return
    frame = panel(args.series, args.seed, args.length)
    position = frame.groupby("unique_id", observed=True).cumcount(ascending=False)
    frame[position >= args.horizon].to_parquet(folder / "train.parquet", index=False)
    frame[position < args.horizon].to_parquet(folder / "test.parquet", index=False)


def run_panel(args: argparse.Namespace, folder: Path, extra: list[str]) -> dict:
    h, rnncast = args.horizon, [sys.executable, "-m", "rnncast"]
    data = folder / "train.parquet"
    fit = measured([*rnncast, "fit", str(data), "--id-col", "unique_id", "--time-col", "ds",
                    "--target", "y", "--head", str(h), "--quiet", "--seed", str(args.seed),
                    *extra, "--out", str(folder / "model")])
    fc = measured([*rnncast, "forecast", str(folder / "model"), "--horizon", str(h), "--quiet",
                   "--out", str(folder / "forecast.parquet")])
    train, test = pd.read_parquet(data), pd.read_parquet(folder / "test.parquet")
    forecast = pd.read_parquet(folder / "forecast.parquet")
    test = test.assign(unique_id=test["unique_id"].astype(str), ds=pd.to_datetime(test["ds"]))
    forecast = forecast.assign(unique_id=forecast["unique_id"].astype(str),
                               ds=pd.to_datetime(forecast["ds"]))
    both = test.merge(forecast, on=["unique_id", "ds"], suffixes=("", "_net"), validate="1:1")
    assert len(both) == len(test), "the forecast misses test points"
    order = train.assign(unique_id=train["unique_id"].astype(str)).groupby("unique_id")["y"]
    snaive = {key: np.resize(g.to_numpy()[-12:], h) for key, g in order}
    step = both.groupby("unique_id").cumcount().to_numpy()
    naive = np.array([snaive[key][k] for key, k in zip(both["unique_id"], step, strict=True)])
    truth, net = both["y"].to_numpy(), both["y_net"].to_numpy()
    return {"benchmark": "scale", "series": args.series, "length": args.length,
            "points": len(train), "horizon": h,
            "settings": args.set, "fit_wall_s": fit["wall_s"], "fit_cpu_s": fit["cpu_s"],
            "fit_peak_rss_mb": fit["peak_rss_mb"], "forecast_wall_s": fc["wall_s"],
            "forecast_cpu_s": fc["cpu_s"], "forecast_peak_rss_mb": fc["peak_rss_mb"],
            "smape": smape(truth, net), "smape_seasonal_naive": smape(truth, naive)}


def run_single(args: argparse.Namespace, folder: Path, extra: list[str]) -> dict:
    _, time_col, target, test = SINGLE[args.single]
    run = measured([sys.executable, "-m", "rnncast", "evaluate", str(folder / f"{args.single}.csv"),
                    "--target", target, "--time-col", time_col, "--test", str(test), "--seed",
                    str(args.seed), "--json", *extra, "--out", str(folder / "evaluation")])
    result = json.loads(run["stdout"])
    points = len(pd.read_csv(folder / f"{args.single}.csv"))
    return {"benchmark": f"scale_{args.single}", "points": points, "test": test,
            "settings": args.set, "seasons": result["seasons"],
            "seconds": result["seconds"], "baseline_notes": result["baseline_notes"],
            "window": result["window"], "epochs_best": result["epochs_best"],
            "evaluate_wall_s": run["wall_s"], "evaluate_cpu_s": run["cpu_s"],
            "peak_rss_mb": run["peak_rss_mb"], "smape": result["metrics"]["smape"],
            "smape_seasonal_naive": result["baselines"]["seasonal_naive"]["smape"],
            "baselines": {k: v["smape"] for k, v in result["baselines"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=18)
    parser.add_argument("--length", type=int, help="every series this long (default: 40-400)")
    parser.add_argument("--seed", type=int, default=0)
    single = parser.add_mutually_exclusive_group()
    single.add_argument("--daily", dest="single", action="store_const", const="daily",
                        help="one daily series of ten years through `rnncast evaluate --test 28`")
    single.add_argument("--half-hourly", dest="single", action="store_const", const="half_hourly",
                        help="one half-hourly series of three years through "
                        "`rnncast evaluate --test 1344`")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="extra options for rnncast, e.g. ensemble=1")
    parser.add_argument("--write-data", type=Path, help=argparse.SUPPRESS)  # the data child
    args = parser.parse_args()
    if args.write_data:
        write_data(args, args.write_data)
        return
    extra = [x for s in args.set for x in ("--" + s.split("=")[0].replace("_", "-"), s.split("=")[1])]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, __file__, "--write-data", tmp, *sys.argv[1:]], check=True)
        result = (run_single if args.single else run_panel)(args, Path(tmp), extra)
    line = json.dumps(result)
    print(line)
    with open(RESULTS / "scale.json", "a") as out:
        out.write(line + "\n")


if __name__ == "__main__":
    main()
