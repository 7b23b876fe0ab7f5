"""Vanishing gradients and long memory on the adding problem, through `rnncast diagnose`.

    python benchmarks/long_memory.py [--seeds 0,1,2] [--cells rnn,lstm,gru] [--length 100]
                                     [--part ratios|memory|remedies|all]

- ratios: ‖∂loss/∂h_1‖ / ‖∂loss/∂h_L‖ at initialisation, L = 50, every cell, PyTorch's default
  initialisation (and Xavier, for comparison), median over the seeds.
- memory: each cell trained on the adding problem with L = --length (10,000 sequences, 40
  epochs); the share of the best possible error reduction over always predicting the mean.
- remedies: the remedies table for the simple RNN at L = 50, with SGD at learning rate 1
  without and with clipping.

Prints one JSON line per part and writes benchmarks/results/long_memory_<part>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import time
from pathlib import Path

from rnncast.cli import main as rnncast

RESULTS = Path(__file__).parent / "results"
TRAIN = ["--epochs", "40", "--patience", "40", "--clip-norm", "1", "--quiet", "--json"]


def diagnose(*argv: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = rnncast(["diagnose", "--task", "adding", *argv])
    if code != 0:
        raise SystemExit(f"rnncast diagnose {' '.join(argv)} failed with exit {code}")
    return json.loads(out.getvalue())


def ratios(seeds: list[int]) -> dict:
    result = {}
    for init in ("pytorch", "xavier"):
        runs = [diagnose("--length", "50", "--init", init, "--epochs", "1", "--samples", "500",
                         "--seed", str(s), "--quiet", "--json") for s in seeds]
        result[init] = {cell: {"median": statistics.median(r["cells"][cell]["gradient_ratio"] for r in runs),
                               "seeds": [r["cells"][cell]["gradient_ratio"] for r in runs]}
                        for cell in runs[0]["cells"]}
    return {"length": 50, "gradient_ratio": result}


def memory(seeds: list[int], cells: str, length: int) -> dict:
    runs = []
    for s in seeds:
        start = time.process_time()
        run = diagnose("--length", str(length), "--cells", cells, "--seed", str(s), *TRAIN)
        runs.append({"seed": s, "cells": run["cells"], "cpu_s": time.process_time() - start})
    names = list(runs[0]["cells"])
    summary = {c: {"reduction_median": statistics.median(r["cells"][c]["reduction"] for r in runs),
                   "reduction_seeds": [r["cells"][c]["reduction"] for r in runs],
                   "final_loss_seeds": [r["cells"][c]["final_loss"] for r in runs],
                   "baseline_loss": runs[0]["cells"][c]["baseline_loss"]} for c in names}
    return {"length": length, "summary": summary, "runs": runs}


def remedies(seed: int) -> dict:
    run = diagnose("--length", "50", "--cells", "rnn", "--remedies", "--explode-lr", "1",
                   "--seed", str(seed), "--epochs", "10", "--patience", "10", "--quiet", "--json")
    return {"length": 50, "cell": "rnn", "rows": run["remedies"]["rows"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--part", choices=["ratios", "memory", "remedies", "all"], default="all")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    parts = ["ratios", "memory", "remedies"] if args.part == "all" else [args.part]
    RESULTS.mkdir(exist_ok=True)
    for part in parts:
        if part == "ratios":
            result = ratios(seeds)
        elif part == "memory":
            result = memory(seeds, args.cells, args.length)
        else:
            result = remedies(seeds[0])
        line = json.dumps({"benchmark": "long_memory", "part": part, "seeds": seeds, **result})
        print(line, flush=True)
        tag = f"_{args.cells.replace(',', '-')}_L{args.length}_seeds{'-'.join(map(str, seeds))}" \
            if part == "memory" else ""
        (RESULTS / f"long_memory_{part}{tag}.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
