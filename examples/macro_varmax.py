"""Multivariate forecasting: US real GDP, consumption and investment (statsmodels' macrodata,
quarterly 1959-2009). The last 8 quarters are held out; an LSTM that forecasts all three series
at once (input window (window, 3), one output unit per series) is compared with VARMAX.

    python examples/macro_varmax.py [--seeds 3]

Prints one JSON line per run: RMSE per series and the mean MAPE for the network and VARMAX.
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np
import pandas as pd
import statsmodels.api as sm
import torch

from rnncast import Forecaster, baselines, metrics

COLUMNS = ["realgdp", "realcons", "realinv"]


def load() -> pd.DataFrame:
    raw = sm.datasets.macrodata.load_pandas().data
    index = pd.period_range("1959Q1", periods=len(raw), freq="Q").to_timestamp()
    return pd.DataFrame(raw[COLUMNS].to_numpy(), index=index,
                        columns=COLUMNS)


def scores(truth: np.ndarray, forecast: np.ndarray) -> dict:
    return {
        "rmse": {c: metrics.rmse(truth[:, k], forecast[:, k]) for k, c in enumerate(COLUMNS)},
        "mape_mean": float(np.mean([metrics.mape(truth[:, k], forecast[:, k])
                                    for k in range(len(COLUMNS))])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--test", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load()
    train, test = data.iloc[: -args.test], data.iloc[-args.test :].to_numpy()
    varmax = scores(test, baselines.varmax(train.to_numpy(), args.test))
    runs = []
    for seed in range(args.seeds):
        model = Forecaster(cell="lstm", window=16, head=args.test, season=4, seed=seed)
        forecast = model.fit(train).predict(args.test).to_numpy()
        runs.append(scores(test, forecast))
    print(json.dumps({
        "example": "macrodata", "test_quarters": args.test, "seeds": args.seeds,
        "network_mape_mean_median": statistics.median(r["mape_mean"] for r in runs),
        "network_runs": runs, "varmax": varmax,
        "naive_mape_mean": scores(test, np.tile(train.to_numpy()[-1], (args.test, 1)))["mape_mean"],
    }))


if __name__ == "__main__":
    main()
