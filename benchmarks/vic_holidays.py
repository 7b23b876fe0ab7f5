"""Built-in holidays on data kept aside from development: Victoria's daily electricity demand
(fpp3's ``vic_elec``, half-hourly, summed per day, 2012-2014), its last 28 days (4-31 December
2014: Christmas, Boxing Day) held out, through `rnncast evaluate --test 28` with every default:
without holidays, with `--holidays AU-VIC` (built from the dates), and with the data's own 0/1
holiday column as `--future`. Nothing was chosen on these data.

One JSON line (RMSE and MAE of the network both ways and of every baseline, CPU seconds), written
to benchmarks/results/holidays_seed<N>.json.

    python benchmarks/vic_holidays.py [--seed N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).parent / "results"


def daily_demand() -> pd.DataFrame:
    """Demand summed per day, with the data's own 0/1 holiday column (``Holiday``)."""
    frame = pd.read_csv(files("tsdata") / "fpp3" / "vic_elec.csv",
                        usecols=["Date", "Demand", "Holiday"])
    days = frame.groupby("Date", as_index=False).agg(demand=("Demand", "sum"),
                                                     holiday=("Holiday", "max"))
    return days.rename(columns={"Date": "day", "holiday": "given_holiday"}).assign(
        given_holiday=lambda d: d["given_holiday"].astype(int))


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def evaluate(path: Path, seed: int, extra: list[str]) -> dict:
    start = children_cpu()
    argv = [sys.executable, "-m", "rnncast", "evaluate", str(path), "--time-col", "day",
            "--target", "demand", "--test", "28", "--seed", str(seed), "--json", "--quiet", *extra]
    child = subprocess.run(argv, capture_output=True, text=True)
    if child.returncode:
        sys.exit(f"failed: {' '.join(argv)}\n{child.stderr}")
    result = json.loads(child.stdout)
    return {"rmse": result["metrics"]["rmse"], "mae": result["metrics"]["mae"],
            "cpu_s": round(children_cpu() - start, 1),
            "baselines": {k: round(v["rmse"], 1) for k, v in result["baselines"].items()},
            "choices": result.get("choices", [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vic_elec_daily.csv"
        daily_demand().to_csv(path, index=False)
        runs = {name: evaluate(path, args.seed, extra)
                for name, extra in (("defaults", []), ("holidays", ["--holidays", "AU-VIC"]),
                                    ("given_column", ["--future", "given_holiday"]))}
    line = json.dumps({"benchmark": "holidays", "data": "vic_elec daily, last 28 days",
                       "seed": args.seed, **runs})
    print(line)
    (RESULTS / f"holidays_seed{args.seed}.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
