"""Choosing the combination per series against one choice per panel, on M3's training parts.

Issue #25 asks whether the choice between the network, its classical partner (dynamic optimised
Theta) and their mean should be made per series where the held-out ends allow it. Two
development blocks of each training part, both before the test part: the recipe is fitted on
each training part without its last 2h points and forecasts block A (the h points after), then
fitted without its last h points and forecasts block B (its last h). Each series' choice is the
option with the lower MASE on block A; the panel's is the option with the lower mean MASE there.
Both are scored on block B, beside the three options taken everywhere. The test parts are never
read. Series with fewer than h + 2 points before block A are left out. A third way chooses per
group of series of like length (two and three groups split at the quantiles of the lengths before
block A; block B's series fall into groups by their lengths before it, one horizon longer).

    python benchmarks/per_series.py --frequency quarterly --seed 0

Prints one JSON line and writes it to benchmarks/results/per_series_<frequency>_seed<N>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from m3 import SEASON, load, preset

from rnncast import baselines, metrics

RESULTS = Path(__file__).parent / "results"
OPTIONS = ("network", "dotm", "mean")


def forecasts(train: dict[str, np.ndarray], horizon: int, frequency: str, seed: int) -> dict:
    """The network's, DOTM's and their mean's forecasts of ``horizon`` points after each of
    ``train``'s series: option -> (series, horizon)."""
    model = preset("auto", frequency, seed).fit(train)
    alone = model.predict(horizon, combined=False)
    network = np.stack([g["y"].to_numpy() for _, g in alone.groupby("id", sort=False)])
    dotm = np.stack([baselines.dotm(y, horizon, SEASON[frequency]) for y in train.values()])
    return {"network": network, "dotm": dotm, "mean": (network + dotm) / 2}


def mase(truth: np.ndarray, forecast: dict, history: list[np.ndarray], season: int) -> dict:
    """Each option's MASE per series: option -> (series,)."""
    return {name: np.array([metrics.mase(t, f, h, season) for t, f, h in
                            zip(truth, values, history, strict=True)])
            for name, values in forecast.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frequency", choices=sorted(SEASON), default="quarterly")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    season, cpu = SEASON[args.frequency], time.process_time()
    series = [s for s in load(args.frequency, None) if len(s.x) >= 3 * int(s.h) + 2]
    h = int(series[0].h)
    first = {str(s.sn): s.x[: -2 * h] for s in series}
    second = {str(s.sn): s.x[:-h] for s in series}
    block_a = mase(np.stack([s.x[-2 * h : -h] for s in series]),
                   forecasts(first, h, args.frequency, args.seed), list(first.values()), season)
    block_b = mase(np.stack([s.x[-h:] for s in series]),
                   forecasts(second, h, args.frequency, args.seed), list(second.values()), season)
    a = np.stack([block_a[o] for o in OPTIONS], 1)  # (series, options)
    b = np.stack([block_b[o] for o in OPTIONS], 1)
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    a, b = a[ok], b[ok]
    own = np.argmin(a, 1)  # each series' option on block A
    panel = int(np.argmin(a.mean(0)))
    lengths_a = np.array([len(v) for v in first.values()])[ok]
    lengths_b = lengths_a + h
    groups = {}
    for count in (2, 3):
        edges = np.quantile(lengths_a, np.arange(1, count) / count)
        in_a, in_b = np.digitize(lengths_a, edges), np.digitize(lengths_b, edges)
        chosen = [int(np.argmin(a[in_a == g].mean(0))) for g in range(count)]
        groups[count] = {"edges": edges.tolist(), "choices": [OPTIONS[c] for c in chosen],
                         "mase": float(b[np.arange(len(b)), np.take(chosen, in_b)].mean())}
    result = {
        "benchmark": "per_series", "frequency": args.frequency, "seed": args.seed,
        "series": int(ok.sum()), "horizon": h,
        "block_a_mase": {o: float(a[:, j].mean()) for j, o in enumerate(OPTIONS)},
        "block_b_mase": {o: float(b[:, j].mean()) for j, o in enumerate(OPTIONS)},
        "panel_choice": OPTIONS[panel], "panel_choice_mase": float(b[:, panel].mean()),
        "per_series_mase": float(b[np.arange(len(b)), own].mean()),
        "per_series_shares": {o: float(np.mean(own == j)) for j, o in enumerate(OPTIONS)},
        "per_group": groups, "cpu_s": time.process_time() - cpu,
    }
    line = json.dumps(result)
    print(line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"per_series_{args.frequency}_seed{args.seed}.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
