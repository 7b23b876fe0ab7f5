"""Single-series benchmark: the deck's sine wave and AirPassengers 1960, plus the fused kernel.

Prints one JSON line per benchmark and writes them all to benchmarks/results/single_series.json.
Uses the public API only. One thread, so CPU seconds compare across machines of this kind.

    python benchmarks/single_series.py [--seeds 5] [--only sine,airpassengers,kernels]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from rnncast import Forecaster, baselines, datasets, metrics
from rnncast.networks import ModelConfig, RecurrentNet

RESULTS = Path(__file__).parent / "results"


def cpu() -> float:
    return time.process_time()


def run_seeds(make, train, test, seeds: int) -> dict:
    """Fit ``make(seed)`` on ``train`` for each seed; RMSE on ``test``; CPU seconds."""
    scores, seconds, forecasts = [], [], []
    for seed in range(seeds):
        start = cpu()
        forecast = np.asarray(make(seed).fit(train).predict(len(test)), dtype=np.float64)
        seconds.append(cpu() - start)
        scores.append(metrics.rmse(test, forecast))
        forecasts.append(forecast)
    again = np.asarray(make(0).fit(train).predict(len(test)), dtype=np.float64)
    return {
        "rmse_median": statistics.median(scores),
        "rmse_worst": max(scores),
        "rmse_best": min(scores),
        "rmse_per_seed": [round(s, 4) for s in scores],
        "fit_predict_cpu_s_median": statistics.median(seconds),
        "same_seed_identical": bool(np.array_equal(again, forecasts[0])),
    }


def sine(seeds: int) -> dict:
    y = datasets.sine_wave()  # sin over 501 points of [0, 50]
    train, test = y[:-50], y[-50:]
    default = run_seeds(
        lambda s: Forecaster(cell="lstm", window=50, strategy="recursive", seed=s), train, test, seeds
    )
    deck = run_seeds(  # the deck's recipe: MinMax scaling, no level normalisation, one model
        lambda s: Forecaster(cell="lstm", window=50, strategy="recursive", scaler="minmax",
                             level=False, ensemble=1, seed=s),
        train, test, seeds,
    )
    return {
        "benchmark": "sine", "test_points": 50,
        "rolling_vs_stateful": rolling_vs_stateful(train, test, seeds), "cell": "lstm", "window": 50,
        "strategy": "recursive", "seeds": seeds,
        **default,
        "deck_recipe": deck,
        "naive_rmse": metrics.rmse(test, baselines.naive(train, 50)),
        "seasonal_naive_rmse": metrics.rmse(test, baselines.seasonal_naive(train, 50, 63)),
        "target_rmse": 0.05,
    }


def rolling_vs_stateful(train, test, seeds: int, repeats: int = 20) -> dict:
    """One recursively trained model (deck recipe) forecasting the 50 test points by re-running
    the window each step (the deck's loop) and by carrying the recurrent state."""
    out = {}
    for strategy in ("recursive", "stateful"):
        scores, seconds = [], []
        for seed in range(seeds):
            model = Forecaster(cell="lstm", window=50, strategy="recursive", scaler="minmax",
                               level=False, ensemble=1, seed=seed).fit(train)
            start = cpu()
            for _ in range(repeats):
                forecast = model.predict(len(test), strategy=strategy).to_numpy()
            seconds.append((cpu() - start) / repeats)
            scores.append(metrics.rmse(test, forecast))
        out[strategy] = {"rmse_median": statistics.median(scores),
                         "predict_cpu_ms_median": 1e3 * statistics.median(seconds)}
    return out


def airpassengers(seeds: int) -> dict:
    y = datasets.air_passengers()  # monthly 1949-1960, a pandas Series
    train, test = y[:-12], y[-12:].to_numpy(dtype=np.float64)
    default = run_seeds(lambda s: Forecaster(seed=s), train, test, seeds)
    recursive = run_seeds(lambda s: Forecaster(strategy="recursive", seed=s), train, test, seeds)
    history = train.to_numpy(dtype=np.float64)
    return {
        "benchmark": "airpassengers", "test": "1960", "settings": "defaults", "seeds": seeds,
        **default,
        "recursive_strategy": recursive,
        "seasonal_naive_rmse": metrics.rmse(test, baselines.seasonal_naive(history, 12, 12)),
        "naive_rmse": metrics.rmse(test, baselines.naive(history, 12)),
        "sarimax_rmse": metrics.rmse(test, baselines.sarimax(history, 12, 12)),
        "ets_rmse": metrics.rmse(test, baselines.ets(history, 12, 12)),
        "target_rmse_median": 20.0,
    }


def kernels(repeats: int = 30) -> dict:
    """CPU time of one LSTM training step (64 units, window 36, batch 256), fused vs explicit."""
    x, y = torch.randn(256, 36, 1), torch.randn(256, 1, 1)
    timings = {}
    for fused in (True, False):
        torch.manual_seed(0)
        net = RecurrentNet(ModelConfig(cell="lstm", units=64, fused=fused), 1, 1)
        optimizer = torch.optim.Adam(net.parameters())
        samples = []
        for k in range(repeats + 3):
            start = cpu()
            loss = torch.nn.functional.mse_loss(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if k >= 3:  # warm-up steps excluded
                samples.append(cpu() - start)
        timings["fused" if fused else "explicit"] = statistics.median(samples)
    default = RecurrentNet(ModelConfig(cell="lstm", units=64), 1, 1).recurrent.fused
    return {
        "benchmark": "lstm_train_step", "units": 64, "window": 36, "batch": 256, "threads": 1,
        "fused_cpu_ms_median": 1e3 * timings["fused"],
        "explicit_cpu_ms_median": 1e3 * timings["explicit"],
        "explicit_over_fused": timings["explicit"] / timings["fused"],
        "default_path": "fused" if default else "explicit",
        "default_is_faster": (timings["fused"] < timings["explicit"]) == default,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", default="sine,airpassengers,kernels")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = {"sine": lambda: sine(args.seeds), "airpassengers": lambda: airpassengers(args.seeds),
            "kernels": kernels}
    lines = []
    for name in args.only.split(","):
        result = runs[name]()
        print(json.dumps(result), flush=True)
        lines.append(result)
    RESULTS.mkdir(exist_ok=True)
    tag = "" if args.only == "sine,airpassengers,kernels" else "_" + args.only.replace(",", "_")
    (RESULTS / f"single_series{tag}.json").write_text("\n".join(json.dumps(r) for r in lines) + "\n")


if __name__ == "__main__":
    main()
