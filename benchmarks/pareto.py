"""Accuracy per CPU-second on M3: for each frequency, every point of the recipe measured on the
test parts (medians over seeds of sMAPE, MASE and CPU seconds for fit + forecast) beside Theta
and ETS, from the JSON lines `benchmarks/m3.py` left in benchmarks/results/.

    python benchmarks/pareto.py          # prints the table, writes results/m3_pareto.json

A point is on the Pareto front when no other point (baselines included) is both more accurate
and cheaper. Only runs of the current recipe count (those that report `network_alone`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
FREQUENCIES = ("monthly", "quarterly", "yearly", "other")
NAME = re.compile(r"m3_(\w+?)_(auto|fast|accurate)_seed(\d+)\.json$")


def points() -> list[dict]:
    """One row per (frequency, point): the medians over its seeds, and the baselines."""
    runs = defaultdict(list)
    for path in sorted(RESULTS.glob("m3_*_seed*.json")):
        match = NAME.search(path.name)
        if not match:
            continue  # tuning runs, overrides, intervals
        result = json.loads(path.read_text())
        if "network_alone" in result and result.get("scored_on") == "test parts":
            runs[match.group(1), match.group(2)].append(result)
    rows = []
    for frequency in FREQUENCIES:
        for point in ("fast", "auto", "accurate"):
            found = runs.get((frequency, point))
            if not found:
                continue
            rows.append({"frequency": frequency, "method": f"rnncast {point}",
                         "seeds": sorted(r["seed"] for r in found),
                         "smape": float(np.median([r["smape"] for r in found])),
                         "mase": float(np.median([r["mase"] for r in found])),
                         "alone_smape": float(np.median([r["network_alone"]["smape"] for r in found])),
                         "cpu_s": float(np.median([r["fit_cpu_s"] + r["predict_cpu_s"] for r in found]))})
        baselines = RESULTS / f"m3_{frequency}_baselines.json"
        if baselines.exists():
            measured = json.loads(baselines.read_text())
            rows += [{"frequency": frequency, "method": name, "seeds": [],
                      "smape": measured[name]["smape"], "mase": measured[name]["mase"],
                      "cpu_s": measured[name]["cpu_s"]} for name in ("theta", "ets")]
    for row in rows:
        rivals = [r for r in rows if r["frequency"] == row["frequency"] and r is not row]
        row["pareto"] = not any(r["smape"] <= row["smape"] and r["cpu_s"] <= row["cpu_s"]
                                for r in rivals)
    return rows


def main() -> None:
    rows = points()
    print("| frequency | method | sMAPE | MASE | CPU-s | seeds | Pareto |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['frequency']} | {r['method']} | {r['smape']:.3f} | {r['mase']:.3f} | "
              f"{r['cpu_s']:.0f} | {','.join(map(str, r['seeds'])) or '-'} | "
              f"{'yes' if r['pareto'] else ''} |")
    (RESULTS / "m3_pareto.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
