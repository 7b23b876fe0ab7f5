"""NeuralForecast's RNN on a set of series, for benchmarks that compare rnncast with it in the
same run. Run by a Python that has neuralforecast (its own packages, not rnncast's), one thread:

    PY benchmarks/peer_nf.py IN.npz OUT.npz --h 18 --season 12 --seed 0

IN.npz holds ``values`` (the series one after another) and ``lengths``; OUT.npz gets
``forecasts (N, h)`` and the fit and predict CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inp")
    parser.add_argument("out")
    parser.add_argument("--h", type=int, required=True)
    parser.add_argument("--season", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from neuralforecast import NeuralForecast
    from neuralforecast.models import RNN

    torch.set_num_threads(1)
    data = np.load(args.inp)
    values, lengths = data["values"], data["lengths"]
    ids = np.repeat(np.arange(len(lengths)), lengths)
    steps = np.concatenate([np.arange(n) for n in lengths])
    frame = pd.DataFrame({"unique_id": ids, "ds": steps, "y": values})
    # the library's defaults but for the horizon and an input of two seasons (at least 2h)
    model = RNN(h=args.h, input_size=max(2 * args.season, 2 * args.h), scaler_type="robust",
                start_padding_enabled=True, random_seed=args.seed, enable_progress_bar=False,
                logger=False, enable_model_summary=False)
    forecaster = NeuralForecast(models=[model], freq=1)
    cpu = time.process_time()
    forecaster.fit(frame)
    fit_cpu = time.process_time() - cpu
    cpu = time.process_time()
    table = forecaster.predict().reset_index()
    predict_cpu = time.process_time() - cpu
    table = table.sort_values(["unique_id", "ds"])
    forecasts = table["RNN"].to_numpy().reshape(len(lengths), args.h)
    np.savez(args.out, forecasts=forecasts, fit_cpu_s=fit_cpu, predict_cpu_s=predict_cpu)


if __name__ == "__main__":
    main()
