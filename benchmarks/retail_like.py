"""A retail-like monthly series with a strong season, made from a development panel: fpp3's PBS
scripts for antidiabetic drugs (ATC2 "A10"), summed over concession and type (1991-2008, the
series fpp3 itself uses). `rnncast evaluate` with every default holds out the last 24 months;
the network's RMSE is compared with the best of SARIMAX and ETS computed in the same run.

    python benchmarks/retail_like.py [--seed N] [--set preset=accurate ...]

One JSON line, written to benchmarks/results/retail_like_seed<N>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from dev import long_frame
from scale import RESULTS, measured


def series(path: Path) -> None:
    """The A10 scripts as a ``month, scripts`` CSV."""
    frame = long_frame("PBS")
    a10 = frame[frame["id"].str.split(" / ").str[3] == "A10"]
    monthly = a10.groupby("ds", as_index=False)["y"].sum()
    monthly.rename(columns={"ds": "month", "y": "scripts"}).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE")
    args = parser.parse_args()
    extra = [x for s in args.set for x in ("--" + s.split("=")[0].replace("_", "-"), s.split("=")[1])]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "a10.csv"
        series(data)
        run = measured([sys.executable, "-m", "rnncast", "evaluate", str(data), "--target",
                        "scripts", "--time-col", "month", "--test", "24", "--json", "--quiet",
                        "--seed", str(args.seed), *extra])
    report = json.loads(run["stdout"])
    best = min(("sarimax", "ets"), key=lambda b: report["baselines"][b]["rmse"])
    ratio = report["metrics"]["rmse"] / report["baselines"][best]["rmse"]
    line = {"benchmark": "retail_like", "series": "PBS A10 scripts", "test": 24, "seed": args.seed,
            "settings": extra, "network_rmse": report["metrics"]["rmse"],
            "baselines_rmse": {k: v["rmse"] for k, v in report["baselines"].items()},
            "best_classical": best, "ratio_to_best": ratio, "within_10_percent": ratio <= 1.10,
            "choices": report["choices"], "verdict": report["verdict"],
            "cpu_s": run["cpu_s"], "seconds": report["seconds"]}
    print(json.dumps(line))
    tag = "".join(f"_{s}" for s in args.set)
    (RESULTS / f"retail_like_seed{args.seed}{tag}.json").write_text(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
