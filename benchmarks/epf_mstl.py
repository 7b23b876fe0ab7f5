"""Does MSTL-style deseasonalising pay inside the network on EPF FR/BE (issue #26)? The same
protocol as `benchmarks/epf.py` (the last 7 days of each market, 24 hours from each day origin,
one model trained before the first), the prices with the day-ahead columns as future covariates:
the network as the recipe runs it, against the network on the prices less their daily and weekly
components (statsforecast's MSTL, seasons 24 and 168, fitted on each market's data before the
first origin and repeated over the test week), the components added back to its forecasts.

    python benchmarks/epf_mstl.py [--seed N]

One JSON line (MAE per market and overall of both, CPU seconds), written to
benchmarks/results/epf_mstl_seed<N>.json.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pandas as pd
from epf import DAYS, FUTURE, RESULTS, H, cpu_seconds, data, mae, rnncast_run

SEASONS = (24, 168)


def seasonal_part(frame: pd.DataFrame) -> pd.Series:
    """Each market's daily and weekly MSTL components over all its rows, fitted on the rows
    before the first test origin and repeated, cycle by cycle, past them."""
    from statsforecast.models import MSTL

    parts = []
    for _, group in frame.groupby("unique_id", sort=False):
        train = group["y"].to_numpy()[: -H * DAYS]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = MSTL(season_length=list(SEASONS)).fit(train).model_
        seasonal = sum(fitted[f"seasonal{m}"].to_numpy() for m in SEASONS)
        ahead = np.arange(len(train), len(group))
        # each component repeats its last cycle: the sum of the last day's and last week's shapes
        later = sum(fitted[f"seasonal{m}"].to_numpy()[len(train) - m + (ahead - len(train)) % m]
                    for m in SEASONS)
        parts.append(pd.Series(np.r_[seasonal, later], index=group.index))
    return pd.concat(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame, _ = data()
    plain, plain_cpu = rnncast_run(frame, args.seed, FUTURE)
    start = cpu_seconds()
    season = seasonal_part(frame)
    adjusted, _ = rnncast_run(frame.assign(y=frame["y"] - season), args.seed, FUTURE,
                              deseasonalize=False)
    keys = frame.set_index(["unique_id", "ds"]).index
    added = pd.Series(season.to_numpy(), index=keys)
    adjusted["rnncast"] += added.loc[list(zip(adjusted["unique_id"], adjusted["ds"],
                                              strict=True))].to_numpy()
    adjusted["y"] = frame.set_index(["unique_id", "ds"])["y"].loc[
        list(zip(adjusted["unique_id"], adjusted["ds"], strict=True))].to_numpy()
    line = json.dumps({"benchmark": "epf_mstl", "seed": args.seed, "future": FUTURE,
                       "network": {"mae": mae(plain, "rnncast"), "cpu_s": round(plain_cpu, 1)},
                       "mstl_adjusted": {"mae": mae(adjusted, "rnncast"),
                                         "cpu_s": round(cpu_seconds() - start, 1)}})
    print(line)
    (RESULTS / f"epf_mstl_seed{args.seed}.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
