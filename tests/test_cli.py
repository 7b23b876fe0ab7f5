"""The command line: the workflow end to end, JSON output, and one clear line per bad input."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnncast import plots
from rnncast.cli import main

FAST = ["--epochs", "8", "--ensemble", "1", "--units", "8", "--quiet"]


@pytest.fixture
def monthly_csv(tmp_path):
    t = np.arange(72)
    frame = pd.DataFrame({
        "month": pd.date_range("2018-01-01", periods=72, freq="MS").strftime("%Y-%m-%d"),
        "sales": (200 + 2 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)),
        "price": 10 + np.cos(t / 3),
    })
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_evaluate_json_has_metrics_and_baselines_and_writes_plots(capsys, monthly_csv, tmp_path):
    out_dir = tmp_path / "eval"
    code, out, err = run(capsys, "evaluate", monthly_csv, "--target", "sales", "--time-col",
                         "month", "--test", "12", "--out", out_dir, "--json", *FAST)
    assert code == 0, err
    result = json.loads(out)  # exactly one JSON object on stdout
    assert set(result["metrics"]) == {"rmse", "mae", "mape", "smape", "mase"}
    assert set(result["baselines"]) == {"naive", "seasonal_naive", "naive2", "theta", "ets",
                                        "sarimax"}
    assert set(result["baselines"]["seasonal_naive"]) == set(result["metrics"])
    assert result["verdict_metric"] == "rmse"  # one series: its own units
    assert result["verdict"].startswith("The ")  # the sentence the table ends with
    assert result["season"] == 12 and result["test"] == 12
    for name in ("metrics.json", "forecast.png", "loss.png", "progress.png"):
        assert (out_dir / name).stat().st_size > 1000 or name == "metrics.json"
    assert json.loads((out_dir / "metrics.json").read_text())["metrics"] == result["metrics"]
    # how each forecast starts and ends: seasonal naive's by hand (the 12 months before the test)
    assert set(result["season_ends"]) == {"network", *result["baselines"]}
    y = pd.read_csv(monthly_csv)["sales"].to_numpy()
    scale = np.mean(np.abs(y[12:60] - y[:48]))
    naive = result["season_ends"]["seasonal_naive"]
    assert naive["first_season_mase"] == pytest.approx(np.mean(np.abs(y[60:] - y[48:60])) / scale)
    assert naive["last_season_bias"] == pytest.approx(100 * np.mean(y[48:60] - y[60:])
                                                      / np.mean(y[60:]))


def test_evaluate_says_how_each_forecast_starts_and_ends_over_two_seasons(capsys, monthly_csv):
    code, out, err = run(capsys, "evaluate", monthly_csv, "--target", "sales", "--time-col",
                         "month", "--test", "24", "--baselines", "seasonal_naive", *FAST[:-1])
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("first season's MASE"))
    y = pd.read_csv(monthly_csv)["sales"].to_numpy()  # seasonal naive repeats months 36-47
    mase = np.mean(np.abs(y[48:60] - y[36:48])) / np.mean(np.abs(y[12:48] - y[:36]))
    bias = 100 * np.mean(y[36:48] - y[60:]) / np.mean(y[60:])
    assert f"seasonal naive {mase:.3g} / {bias:+.1f}%" in line and "network " in line
    code, out, _ = run(capsys, "evaluate", monthly_csv, "--target", "sales", "--time-col",
                       "month", "--test", "12", "--baselines", "seasonal_naive", *FAST[:-1])
    assert code == 0 and "first season's MASE" not in out  # one season: nothing to compare


@pytest.mark.slow
def test_evaluate_table_names_a_better_baseline(capsys, tmp_path):
    path = tmp_path / "steps.csv"  # a pure seasonal pattern: seasonal naive is exact
    pd.DataFrame({"y": np.tile([1.0, 5.0, 2.0, 8.0], 20)}).to_csv(path, index=False)
    code, out, _ = run(capsys, "evaluate", path, "--target", "y", "--season", "4", "--test", "12",
                       "--epochs", "2", "--ensemble", "1", "--units", "4",
                       "--deseasonalize", "no", "--combine", "none")
    assert code == 0
    assert "seasonal naive" in out
    assert "The seasonal naive, naive2, ets and sarimax baselines are more accurate than the " \
           "network on this test range (RMSE 0, 0, 0, 0" in out  # every winner named
    assert "its season is strong (strength 1.00 of 1) and was left in (--deseasonalize)" in out
    # the head is one season (4), the test range three seasons: the blocks read each other
    assert "(--head 12 forecasts the whole range at once)" in out
    # advice that keeps the test range untouched, never settings tuned on it
    assert "use `rnncast tune --test 12` (it backtests on the data before it)" in out
    assert "--combine" not in out and "--preset" not in out
    assert "chosen from the data (options you give win):\n  window 12: 3 seasons of 4" in out


def test_fit_then_forecast_with_real_dates(capsys, monthly_csv, tmp_path):
    model_dir, csv = tmp_path / "model", tmp_path / "future.csv"
    code, _, err = run(capsys, "fit", monthly_csv, "--target", "sales", "--time-col", "month",
                       "--out", model_dir, *FAST)
    assert code == 0, err
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "weights.safetensors"]
    code, out, err = run(capsys, "forecast", model_dir, "--horizon", "6", "--out", csv, "--json")
    assert code == 0, err
    result = json.loads(out)
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["month", "sales"]
    assert frame["month"].tolist() == [f"2024-{m:02d}-01" for m in range(1, 7)]
    assert np.isfinite(frame["sales"]).all() and frame["sales"].between(100, 800).all()
    assert result["start"].startswith("2024-01-01") and Path(result["plot"]).exists()


def test_forecast_from_newer_data_and_integer_steps(capsys, tmp_path):
    path = tmp_path / "plain.csv"
    pd.DataFrame({"y": np.sin(np.arange(120) / 5)}).to_csv(path, index=False)
    model_dir = tmp_path / "m"
    assert run(capsys, "fit", path, "--target", "y", "--window", "20", "--horizon", "5",
               "--out", model_dir, *FAST)[0] == 0
    assert run(capsys, "forecast", model_dir, "--horizon", "3", "--out", tmp_path / "f.csv")[0] == 0
    assert pd.read_csv(tmp_path / "f.csv")["step"].tolist() == [120, 121, 122]
    newer = tmp_path / "newer.csv"
    pd.DataFrame({"y": np.sin(np.arange(130) / 5)}).to_csv(newer, index=False)
    assert run(capsys, "forecast", model_dir, "--horizon", "2", "--data", newer,
               "--out", tmp_path / "g.csv")[0] == 0
    assert pd.read_csv(tmp_path / "g.csv")["step"].tolist() == [130, 131]


@pytest.mark.slow
def test_same_seed_same_numbers(capsys, monthly_csv):
    args = ["evaluate", monthly_csv, "--target", "sales", "--time-col", "month", "--json", *FAST]
    first = json.loads(run(capsys, *args, "--seed", "4")[1])
    second = json.loads(run(capsys, *args, "--seed", "4")[1])
    assert first["metrics"] == second["metrics"]


def test_multivariate_targets(capsys, monthly_csv, tmp_path):
    code, out, err = run(capsys, "evaluate", monthly_csv, "--target", "sales", "--target", "price",
                         "--time-col", "month", "--test", "6", "--json", *FAST)
    assert code == 0, err
    result = json.loads(out)
    assert result["settings"]["plan"]["head"] == 6  # a test under one season
    # targets in different units: the verdict on MASE, a table per target, each baseline per target
    assert result["verdict_metric"] == "mase" and set(result["per_target"]) == {"sales", "price"}
    for scores in result["per_target"].values():
        assert {"network", "theta", "ets", "varmax"} <= set(scores)
    code, out, _ = run(capsys, "evaluate", monthly_csv, "--target", "sales", "--target", "price",
                       "--time-col", "month", "--test", "6", "--baselines", "naive",
                       *FAST[:-1])
    assert "\n  sales " in out and "\n  price " in out


@pytest.mark.slow
def test_evaluate_trains_the_head_fit_trains_for_a_test_range_past_one_season(capsys,
                                                                              monthly_csv):
    code, out, err = run(capsys, "evaluate", monthly_csv, "--target", "sales", "--time-col",
                         "month", "--test", "24", "--window", "12", "--json", *FAST)
    assert code == 0, err
    assert json.loads(out)["settings"]["plan"]["head"] == 12  # one season, two blocks


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_DATA = [
    (lambda d: d / "missing.csv", [], "missing.csv: no such file"),
    (lambda d: write(d, "empty.csv", ""), [], "empty.csv: the file is empty"),
    (lambda d: write(d, "header.csv", "t,y\n"), [], "header.csv: the file has no data rows"),
    (lambda d: write(d, "a.csv", "t,y\n1,2\n2,3\n"), ["--target", "sales"],
     "a.csv: no column 'sales' (columns: t, y)"),
    (lambda d: write(d, "b.csv", "t,y\n1,2\n2,abc\n3,4\n"), [],
     "b.csv: column 'y' has a non-numeric value 'abc' at row 2"),
    (lambda d: write(d, "semi.csv", "t;y\n1;2,5\n2;x\n3;4,5\n"), [],  # decimal commas
     "semi.csv: column 'y' has a non-numeric value 'x' at row 2"),
    (lambda d: write(d, "sheet.xlsx", "PK\x03\x04\x00\x00"), [],
     "sheet.xlsx: a spreadsheet workbook: save the sheet as CSV (or Parquet)"),
    (lambda d: write(d, "wide.csv", "t,y\n1,2,3\n2,3,4\n"), [],  # pandas made t an index
     "wide.csv: its rows hold more fields than its header names (2: t, y)"),
    (lambda d: write(d, "c.csv", "t,y\n1,2\n2,\n3,4\n"), [],
     "c.csv: column 'y' has a missing (NaN) value at row 2; fill it with --fill-missing "
     "interpolate|zero|ffill, or drop it"),
    (lambda d: write(d, "d.csv", "t,y\n1,2\n2,inf\n3,4\n"), [],
     "d.csv: column 'y' has an infinite value at row 2; fill or drop it first"),
    (lambda d: write(d, "e.csv", "t,y\n2020-01-01,1\n2020-02-01,2\n2020-02-01,3\n"),
     ["--time-col", "t"], "e.csv: time column 't' has a duplicated time 2020-02-01 00:00:00 at row 3"),
    (lambda d: write(d, "f.csv", "t,y\n2020-01-01,1\n2020-03-01,2\n2020-02-01,3\n"),
     ["--time-col", "t"], "f.csv: time column 't' is not sorted: 2020-02-01 00:00:00 at row 3 "
     "comes after 2020-03-01 00:00:00; sort the file by time first"),
    (lambda d: write(d, "g.csv", "t,y\n" + "".join(f"{k},{k}\n" for k in range(20))),
     ["--window", "12", "--test", "10"],
     "series of 20 points is too short for window 12 + test 10; use a shorter window or test range"),
]


@pytest.mark.parametrize("make, extra, message", BAD_DATA)
def test_bad_data_gets_one_line_and_exit_1(capsys, tmp_path, make, extra, message):
    path = make(tmp_path)
    argv = ["evaluate", path, *(extra if "--target" in extra else ["--target", "y", *extra])]
    code, out, err = run(capsys, *argv, *FAST)
    assert code == 1
    assert err.strip().splitlines() == [f"rnncast: error: {path.parent}/{message}"
                                        if not message.startswith("series") else
                                        f"rnncast: error: {message}"]
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("flag, value", [("--test", "0"), ("--window", "-3"), ("--epochs", "x"),
                                         ("--lr", "0")])
def test_zero_or_negative_sizes_are_refused(capsys, monthly_csv, flag, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(monthly_csv), "--target", "sales", flag, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: must be a positive" in err and repr(value) in err


@pytest.fixture
def model_dir(capsys, monthly_csv, tmp_path):
    path = tmp_path / "model"
    assert run(capsys, "fit", monthly_csv, "--target", "sales", "--time-col", "month",
               "--out", path, *FAST)[0] == 0
    return path


def forecast_error(capsys, model, out):
    code, _, err = run(capsys, "forecast", model, "--horizon", "3", "--out", out)
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err.strip()


def test_missing_and_corrupt_model_directories(capsys, model_dir, tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("precious\n")
    assert forecast_error(capsys, tmp_path / "nope", out) == (
        f"rnncast: error: {tmp_path}/nope: no model directory here "
        "(expected config.json and weights.safetensors)")
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "weights.safetensors").write_bytes(b"\x00garbage")
    assert "weights.safetensors: corrupt weights file" in forecast_error(capsys, broken, out)
    (broken / "config.json").write_text("{not json")
    assert "config.json: corrupt model configuration" in forecast_error(capsys, broken, out)
    (broken / "config.json").unlink()
    assert "not a complete model directory, config.json is missing" in forecast_error(
        capsys, broken, out)
    assert out.read_text() == "precious\n"  # a failed run never touches an existing output


def test_model_from_an_incompatible_version_is_named(capsys, model_dir, tmp_path):
    config = json.loads((model_dir / "config.json").read_text())
    config["format_version"], config["rnncast_version"] = 99, "9.0.0"
    (model_dir / "config.json").write_text(json.dumps(config))
    message = forecast_error(capsys, model_dir, tmp_path / "x.csv")
    assert "model format version 99 (written by rnncast 9.0.0) is not supported" in message
    assert not (tmp_path / "x.csv").exists()


def test_failed_fit_keeps_the_old_model(capsys, model_dir, tmp_path):
    before = (model_dir / "weights.safetensors").read_bytes()
    bad = write(tmp_path, "bad.csv", "month,sales\n2020-01-01,1\n2020-02-01,oops\n")
    code, _, _ = run(capsys, "fit", bad, "--target", "sales", "--out", model_dir, *FAST)
    assert code == 1
    assert (model_dir / "weights.safetensors").read_bytes() == before
    assert [p.name for p in model_dir.parent.iterdir() if p.name.startswith(".")] == []


def test_help_teaches_with_examples(capsys):
    for verb in ("evaluate", "fit", "forecast", "backtest", "diagnose", "demo"):
        with pytest.raises(SystemExit) as exit_info:
            main([verb, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert ("example:" in text or "examples:" in text) and f"rnncast {verb}" in text


@pytest.mark.slow
def test_parquet_input(capsys, monthly_csv, tmp_path):
    parquet = tmp_path / "sales.parquet"
    frame = pd.read_csv(monthly_csv)
    frame["month"] = pd.to_datetime(frame["month"])
    frame.to_parquet(parquet)
    code, out, err = run(capsys, "evaluate", parquet, "--target", "sales", "--time-col", "month",
                         "--test", "12", "--json", *FAST)
    assert code == 0, err
    assert json.loads(out)["season"] == 12  # monthly dates recognised from Parquet timestamps
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    code, _, err = run(capsys, "evaluate", tmp_path / "bad.parquet", "--target", "y", *FAST)
    assert code == 1 and "bad.parquet: cannot be read as a table" in err


@pytest.fixture
def long_csv(tmp_path):
    rows = []
    for k, n in enumerate([60, 48, 10]):
        t = np.arange(n)
        rows.append(pd.DataFrame({
            "store": f"shop{k}",
            "week": pd.date_range("2020-01-06", periods=n, freq="W-MON").strftime("%Y-%m-%d"),
            "units": (50 + 20 * k) * (1 + 0.1 * np.sin(2 * np.pi * t / 8)) + t,
        }))
    path = tmp_path / "long.csv"
    pd.concat(rows).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_many_series_in_long_format_evaluate_fit_forecast(capsys, long_csv, tmp_path):
    common = ["--target", "units", "--time-col", "week", "--id-col", "store", "--window", "8",
              "--season", "8", *FAST]
    code, out, err = run(capsys, "evaluate", long_csv, *common, "--test", "4", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["series"] == 3 and set(result["baselines"]) == {"naive", "seasonal_naive",
                                                                   "naive2", "theta", "ets"}
    assert result["verdict_metric"] == "mase"  # series of different sizes: a scale-free verdict
    mase = result["metrics"]["mase"]
    lower = {n for n, b in result["baselines"].items() if b["mase"] < mase}
    assert set(result["better_baselines"]) <= lower <= {*result["better_baselines"],
                                                        *result["tied_baselines"]}
    model, csv = tmp_path / "model", tmp_path / "f.csv"
    assert run(capsys, "fit", long_csv, *common, "--horizon", "4", "--out", model)[0] == 0
    code, out, err = run(capsys, "forecast", model, "--horizon", "3", "--out", csv)
    assert code == 0, err
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["store", "week", "units"]
    assert frame.groupby("store").size().to_dict() == {"shop0": 3, "shop1": 3, "shop2": 3}
    last = pd.read_csv(long_csv).groupby("store")["week"].max()
    first_new = frame.groupby("store")["week"].min()
    assert all(pd.Timestamp(first_new[s]) == pd.Timestamp(last[s]) + pd.Timedelta(weeks=1)
               for s in last.index)


def test_panel_evaluation_writes_each_series_scores_and_notes_a_baseline_over_budget(
        capsys, long_csv, tmp_path):
    common = ["--target", "units", "--time-col", "week", "--id-col", "store", "--window", "8", *FAST]
    out_dir = tmp_path / "eval"
    code, out, err = run(capsys, "evaluate", long_csv, *common, "--test", "4", "--json",
                         "--baselines", "naive,seasonal_naive,ets", "--baseline-budget", "1e-9",
                         "--out", out_dir)
    assert code == 0, err
    result = json.loads(out)
    assert set(result["baselines"]) == {"naive", "seasonal_naive"}  # ETS could not fit in time
    assert result["baseline_notes"] == ["ets left out: 3 series take longer than the "
                                        "baseline budget of 1e-09 s (--baseline-budget)"]
    scores = pd.read_csv(out_dir / "series_scores.csv")
    assert sorted(scores["series"].unique()) == ["shop0", "shop1", "shop2"]
    assert sorted(scores["model"].unique()) == ["naive", "network", "seasonal_naive"]
    mean = scores[scores["model"] == "network"]["smape"].mean()
    assert mean == pytest.approx(result["metrics"]["smape"])  # the panel score is their mean


def test_without_a_season_the_seasonal_baselines_are_not_repeated(capsys, tmp_path):
    path = tmp_path / "walk.csv"
    y = 100 + np.cumsum(np.random.default_rng(0).normal(size=60))
    pd.DataFrame({"y": y}).to_csv(path, index=False)
    code, out, err = run(capsys, "evaluate", path, "--target", "y", "--season", "1", "--test",
                         "6", "--json", *FAST)
    assert code == 0, err
    assert set(json.loads(out)["baselines"]) == {"naive", "theta", "ets", "sarimax"}


def test_short_series_skipped_by_name(capsys, caplog, long_csv):
    code, out, _ = run(capsys, "evaluate", long_csv, "--target", "units", "--id-col", "store",
                         "--window", "8", "--test", "4", "--short", "skip", "--json", *FAST)
    assert code == 0
    assert "skipped 1 series too short for window + head = 9: shop2" in caplog.text  # head 1
    result = json.loads(out)
    assert result["series"] == 2 and result["skipped"] == ["shop2"]  # scored where forecast


@pytest.mark.slow
def test_demo_runs_the_whole_walk_through(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--out", tmp_path / "demo", "--quick", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result["airpassengers"]["baselines"]) == {"naive", "seasonal_naive", "naive2",
                                                         "theta", "ets", "sarimax"}
    assert min(result["future"]) == "1961-01-01" and len(result["future"]) == 24
    for name in ("sine/forecast.png", "sine/progress.png", "airpassengers/loss.png",
                 "airpassengers-forecast.csv", "airpassengers-forecast.png",
                 "airpassengers-model/config.json"):
        assert (tmp_path / "demo" / name).exists(), name


@pytest.mark.slow
def test_covariates_and_calendar_from_the_command_line(capsys, monthly_csv, tmp_path):
    common = ["--target", "sales", "--covariate", "price", "--calendar", "--time-col", "month", *FAST]
    code, out, err = run(capsys, "evaluate", monthly_csv, *common, "--test", "6", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["settings"]["plan"]["covariates"] == ["price"]
    # covariates are known only up to the origin: the head covers the test range at once
    assert result["settings"]["plan"]["head"] == 6
    assert set(result["metrics"]) == {"rmse", "mae", "mape", "smape", "mase"}
    model, csv = tmp_path / "m", tmp_path / "f.csv"
    assert run(capsys, "fit", monthly_csv, *common, "--horizon", "6", "--out", model)[0] == 0
    assert run(capsys, "forecast", model, "--horizon", "6", "--out", csv)[0] == 0
    assert list(pd.read_csv(csv).columns) == ["month", "sales"]
    code, _, err = run(capsys, "forecast", model, "--horizon", "7", "--out", csv)
    assert code == 1 and "forecast at most 6 steps (the model's head)" in err


def test_a_baseline_that_cannot_be_fitted_is_left_out_not_a_crash(capsys, caplog, tmp_path):
    path = write(tmp_path, "tiny.csv", "t,y\n1,2\n2,3\n3,4\n")
    code, out, err = run(capsys, "evaluate", path, "--target", "y", "--season", "2", "--test", "1",
                         "--window", "1", "--epochs", "2", "--ensemble", "1", "--json")
    assert code == 0, err
    result = json.loads(out)  # strict JSON: undefined metrics are null, not NaN
    assert result["baselines"]["sarimax"] == dict.fromkeys(
        ["rmse", "mae", "mape", "smape", "mase"])
    assert "the sarimax baseline could not be fitted" in caplog.text


@pytest.mark.slow
def test_backtest_scores_every_fold(capsys, monthly_csv, tmp_path):
    code, out, err = run(capsys, "backtest", monthly_csv, "--target", "sales", "--time-col", "month",
                         "--folds", "2", "--horizon", "6", "--baselines", "naive,seasonal_naive",
                         "--out", tmp_path / "bt", "--json", *FAST)
    assert code == 0, err
    result = json.loads(out)
    assert [f["origin_from_end"] for f in result["folds"]] == [12, 6]
    assert set(result["mean"]["baselines"]) == {"naive", "seasonal_naive"}
    assert (tmp_path / "bt" / "backtest.png").stat().st_size > 1000
    code, out, _ = run(capsys, "backtest", monthly_csv, "--target", "sales", "--time-col", "month",
                       "--folds", "2", "--horizon", "6", "--no-refit", *FAST[:-1])
    assert code == 0 and "fold 2" in out and "mean" in out


# -- diagnose ------------------------------------------------------------------------------------
TINY = ["--samples", "300", "--epochs", "2", "--units", "8", "--quiet"]


def test_diagnose_adding_json_names_every_cell(capsys):
    code, out, _ = run(capsys, "diagnose", "--task", "adding", "--length", "12",
                       "--cells", "rnn,lstm", "--json", *TINY)
    assert code == 0
    result = json.loads(out)
    assert result["length"] == 12 and set(result["cells"]) == {"rnn", "lstm"}
    for entry in result["cells"].values():
        assert entry["gradient_ratio"] > 0 and entry["final_loss"] > 0
        assert entry["baseline_loss"] == pytest.approx(1 / 6, abs=0.04)  # the mean predictor
    again = json.loads(run(capsys, "diagnose", "--task", "adding", "--length", "12",
                           "--cells", "rnn,lstm", "--json", *TINY)[1])
    assert again["cells"]["lstm"]["final_loss"] == result["cells"]["lstm"]["final_loss"]


@pytest.mark.slow
def test_diagnose_lengths_remedies_and_plots(capsys, tmp_path):
    out_dir = tmp_path / "diag"
    code, out, _ = run(capsys, "diagnose", "--task", "adding", "--length", "6,20", "--cells", "rnn,gru",
                       "--remedies", "--explode-lr", "1", "--out", out_dir, "--json", *TINY[:-3],
                       "--units", "32", "--samples", "1000", "--quiet")
    assert code == 0
    result = json.loads(out)
    assert set(result["by_length"]) == {"6", "20"}
    rows = result["remedies"]["rows"]
    assert {"relu", "xavier init", "layer norm", "clip norm 1"} <= set(rows)
    assert rows["SGD lr 1, no clipping"]["diverged"] is True  # the loss became NaN or inf
    assert rows["SGD lr 1, clip norm 1"]["diverged"] is False
    for name in ("diagnose.json", "gradient_flow.png", "layer_gradients.png", "memory.png"):
        assert (out_dir / name).stat().st_size > 1000
    code, text, _ = run(capsys, "diagnose", "--task", "adding", "--length", "6", "--cells", "rnn",
                        "--remedies", *TINY[:-1])
    assert code == 0 and "remedies, one at a time" in text and "leaky_relu" in text


def test_diagnose_on_a_data_file(capsys, monthly_csv):
    code, out, _ = run(capsys, "diagnose", monthly_csv, "--target", "sales", "--time-col", "month",
                       "--window", "12", "--cells", "lstm,gru", "--json", *TINY)
    assert code == 0
    result = json.loads(out)
    assert result["length"] == 12 and set(result["cells"]) == {"lstm", "gru"}


@pytest.mark.parametrize("argv, message", [
    (["--length", "1"], "integers >= 2"),
    (["--cells", "rnn,lstmm"], "unknown cell"),
])
def test_diagnose_bad_arguments(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["diagnose", "--task", "adding", *argv, *TINY])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and "Traceback" not in err
    code, _, err = run(capsys, "diagnose", "--task", "adding", "--explode-lr", "1", *TINY)
    assert code == 2 and "add --remedies" in err


def test_diagnose_needs_data_or_a_task(capsys, monthly_csv):
    code, _, err = run(capsys, "diagnose", *TINY)
    assert code == 2 and "either a DATA file or --task" in err
    code, _, err = run(capsys, "diagnose", monthly_csv, "--task", "adding", *TINY)
    assert code == 2 and "either a DATA file or --task" in err


# -- prediction intervals ------------------------------------------------------------------------
def test_fit_with_intervals_then_forecast_writes_bands(capsys, monthly_csv, tmp_path):
    model = tmp_path / "model"
    code, _, _ = run(capsys, "fit", monthly_csv, "--target", "sales", "--time-col", "month",
                       "--horizon", "6", "--intervals", "--out", model, *FAST)
    assert code == 0
    out_csv = tmp_path / "f.csv"
    code, _, _ = run(capsys, "forecast", model, "--horizon", "6", "--intervals", "80,95",
                       "--out", out_csv, "--json")
    assert code == 0
    frame = pd.read_csv(out_csv)
    assert list(frame.columns) == ["month", "sales", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert np.all(frame["lo-95"] <= frame["lo-80"]) and np.all(frame["hi-80"] <= frame["hi-95"])
    assert out_csv.with_suffix(".png").stat().st_size > 1000
    code, _, err = run(capsys, "forecast", model, "--horizon", "7", "--intervals", "80",
                       "--out", out_csv)
    assert code == 1 and "calibrated for 6 steps" in err


def test_forecast_intervals_need_a_calibrated_model(capsys, model_dir, tmp_path):
    code, _, err = run(capsys, "forecast", model_dir, "--horizon", "3", "--intervals", "80",
                       "--out", tmp_path / "f.csv")
    assert code == 1 and "fit it again with --intervals" in err
    with pytest.raises(SystemExit):
        main(["forecast", str(model_dir), "--horizon", "3", "--intervals", "80,120",
              "--out", str(tmp_path / "f.csv")])
    assert "between 1 and 99.9" in capsys.readouterr().err


def test_backtest_reports_interval_coverage(capsys, monthly_csv):
    code, out, _ = run(capsys, "backtest", monthly_csv, "--target", "sales", "--time-col", "month",
                       "--folds", "2", "--horizon", "6", "--intervals", "50,80,95",
                       "--baselines", "naive", "--json", *FAST)
    assert code == 0
    result = json.loads(out)
    for fold in result["folds"]:
        assert list(fold["coverage"]) == ["50", "80", "95"]
        assert 0 <= fold["coverage"]["50"] <= fold["coverage"]["80"] <= 1
        assert fold["coverage"]["95"] is None  # under 19 errors per step: no bounded 95% band
    assert result["mean"]["coverage"]["95"] is None


def test_diagnose_names_a_file_too_short_for_validation(capsys, tmp_path):
    path = tmp_path / "short.csv"
    pd.DataFrame({"y": np.arange(30) % 7 + 1.0}).to_csv(path, index=False)
    code, _, err = run(capsys, "diagnose", path, "--target", "y", "--window", "28", *TINY)
    assert code == 1 and "too short to hold out validation windows" in err


def test_fit_json_says_the_recipe_choices_and_takes_a_preset(capsys, monthly_csv, tmp_path):
    code, out, err = run(capsys, "fit", monthly_csv, "--target", "sales", "--time-col", "month",
                         "--preset", "fast", "--units", "8", "--quiet", "--json",
                         "--out", tmp_path / "m")
    assert code == 0, err
    report = json.loads(out)
    assert report["settings"]["train"]["loss"] == "mae"  # the fast point's
    assert report["settings"]["plan"]["combine"] == []  # the fast point: no classical partner
    assert not any(c.startswith("combine") for c in report["choices"])
    assert any(c.startswith("deseasonalize on: season 12") for c in report["choices"])
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", str(monthly_csv), "--target", "sales", "--combine", "theta,prophet",
              "--out", str(tmp_path / "n")])
    assert exit_info.value.code == 2 and "unknown method 'prophet'" in capsys.readouterr().err


def test_several_targets_fit_as_a_panel_of_columns_and_forecast_side_by_side(
        capsys, monthly_csv, tmp_path):
    code, out, err = run(capsys, "fit", monthly_csv, "--target", "sales", "--target", "price",
                         "--time-col", "month", "--json", "--out", tmp_path / "m", *FAST)
    assert code == 0, err
    assert json.loads(out)["settings"]["plan"]["stacked"] == ["sales", "price"]
    assert run(capsys, "forecast", tmp_path / "m", "--horizon", "4",
               "--out", tmp_path / "f.csv")[0] == 0
    forecast = pd.read_csv(tmp_path / "f.csv")
    assert {"sales", "price"} <= set(forecast.columns) and len(forecast) == 4
    assert forecast["sales"].mean() > 5 * forecast["price"].mean()  # each in its own units


def test_long_monthly_series_are_not_refitted_unless_asked(capsys, tmp_path):
    t = np.arange(312)  # 26 years: over 25 seasons
    frame = pd.DataFrame({"month": pd.date_range("1990-01-01", periods=312, freq="MS"),
                          "sales": 100 + t + 10 * np.sin(2 * np.pi * t / 12)})
    frame.to_csv(tmp_path / "long.csv", index=False)
    plans = {}
    for refit in ("auto", "yes"):
        model_dir = tmp_path / refit
        code, _, err = run(capsys, "fit", tmp_path / "long.csv", "--target", "sales", "--time-col",
                           "month", "--out", model_dir, "--refit-members", refit, *FAST)
        assert code == 0, err
        plans[refit] = json.loads((model_dir / "config.json").read_text())["plan"]
    assert plans["auto"]["refit"] is False
    assert any(r.startswith("refit off: the median series holds 312 points") for r in
               plans["auto"]["reasons"])
    assert plans["yes"]["refit"] is True
    assert not any(r.startswith("refit off") for r in plans["yes"]["reasons"])


def test_a_file_in_neuralforecasts_layout_needs_no_column_names(capsys, tmp_path):
    t = np.arange(40)
    frame = pd.concat([pd.DataFrame({"unique_id": name, "ds": pd.date_range(
        "2020-01-01", periods=40, freq="MS"), "y": 10 + k + np.sin(t / 3)})
        for k, name in enumerate(["a", "b"])])
    frame.to_csv(tmp_path / "long.csv", index=False)
    code, out, err = run(capsys, "fit", tmp_path / "long.csv", "--out", tmp_path / "m",
                         "--json", "--window", "12", *FAST)
    assert code == 0, err
    assert json.loads(out)["series"] == 2  # unique_id read as the id column, ds as time
    code, out, err = run(capsys, "fit", tmp_path / "long.csv", "--out", tmp_path / "m2",
                         "--window", "12", *FAST[:-1])
    assert code == 0 and "columns: unique_id (series), ds (time), y (target)" in err
    frame.rename(columns={"y": "sales"}).to_csv(tmp_path / "other.csv", index=False)
    code, out, err = run(capsys, "fit", tmp_path / "other.csv", "--out", tmp_path / "m3", *FAST)
    assert code == 2 and not (tmp_path / "m3").exists()
    assert err.strip().splitlines() == [
        f"rnncast: error: give --target COLUMN, the column to forecast ({tmp_path}/other.csv has "
        "no column 'y'; its columns: unique_id, ds, sales)"]


def test_a_panel_forecast_draws_six_series_spread_over_the_panel(capsys, tmp_path, monkeypatch):
    t = np.arange(30)
    pd.concat([pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range("2020-01-06", periods=30,
                                                                        freq="W-MON"),
                             "y": 20 + k + np.sin(t / 2)}) for k in range(10)]
              ).to_csv(tmp_path / "p.csv", index=False)
    assert run(capsys, "fit", tmp_path / "p.csv", "--window", "8", "--season", "4", "--out",
               tmp_path / "m", *FAST)[0] == 0
    drawn = {}
    real = plots.plot_future_grid
    monkeypatch.setattr(plots, "plot_future_grid", lambda series, path, title: drawn.update(
        series=series, title=title) or real(series, path, title))
    code, _, err = run(capsys, "forecast", tmp_path / "m", "--horizon", "3", "--out",
                       tmp_path / "f.csv")
    assert code == 0, err
    assert (tmp_path / "f.png").is_file()
    assert [name for name, _, _ in drawn["series"]] == ["s0", "s1", "s3", "s5", "s7", "s9"]
    assert drawn["title"] == "Forecast of 6 of 10 series, 3 steps"
    for name, history, forecast in drawn["series"]:
        assert len(forecast) == 3 and forecast.index[0] == history.index[-1] + pd.Timedelta(weeks=1)
        assert history.iloc[-1, 0] == pytest.approx(20 + int(name[1:]) + np.sin(29 / 2))


def test_a_panel_evaluation_draws_series_from_the_best_mase_to_the_worst(capsys, tmp_path,
                                                                         monkeypatch):
    t = np.arange(40)
    rng = np.random.default_rng(0)
    pd.concat([pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range("2020-01-06", periods=40,
                                                                        freq="W-MON"),
                             "y": 20 + np.sin(t / 2) + rng.normal(0, 0.1 * k, 40)})
               for k in range(8)]).to_csv(tmp_path / "p.csv", index=False)
    seen = {}
    real = plots.plot_series_gallery
    monkeypatch.setattr(plots, "plot_series_gallery", lambda result, path: seen.update(
        drawn=result.drawn) or real(result, path))
    code, out, err = run(capsys, "evaluate", tmp_path / "p.csv", "--test", "4", "--window", "8",
                         "--season", "4", "--out", tmp_path / "ev", *FAST[:-1])
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "ev" / "series_scores.csv")
    network = scores[scores["model"] == "network"].sort_values("mase", kind="stable")
    ranked = network["series"].tolist()
    drawn = [name for name, _, _, _, _ in seen["drawn"]]
    assert drawn == [ranked[i] for i in (0, 1, 2, 4, 5, 7)]  # six spread over eight ranks
    assert [mase for _, mase, _, _, _ in seen["drawn"]] == pytest.approx(
        network.set_index("series").loc[drawn, "mase"].tolist())
    _, _, train, truth, forecast = seen["drawn"][-1]
    assert len(truth) == len(forecast) == 4 and truth.index[0] > train.index[-1]
    assert (tmp_path / "ev" / "series.png").is_file() and "series.png, series_scores.csv" in out


def test_the_score_table_keeps_its_columns_under_a_long_file_name():
    from types import SimpleNamespace

    from rnncast.cli.args import METRICS
    from rnncast.cli.common import score_table

    scores = dict.fromkeys(METRICS, 1.5)
    result = SimpleNamespace(model=SimpleNamespace(model_config=SimpleNamespace(cell="lstm"),
                                                   plan=SimpleNamespace(strategy="direct")),
                             metrics=scores, baselines={"seasonal_naive": scores}, targets=1,
                             notes=[])
    lines = score_table([("weekly_store_panel_2024.csv (test 13)", result)]).splitlines()
    assert len(lines) == 3 and len({len(line) for line in lines}) == 1  # every column in line


def test_a_missing_value_in_a_long_table_names_its_series(capsys, tmp_path):
    frame = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 3, "ds": list(range(3)) * 2,
                          "y": [1.0, 2.0, 3.0, 4.0, np.nan, 6.0]})
    frame.to_csv(tmp_path / "p.csv", index=False)
    code, _, err = run(capsys, "fit", tmp_path / "p.csv", "--out", tmp_path / "m", *FAST)
    assert code == 1 and err.strip().splitlines() == [
        f"rnncast: error: {tmp_path}/p.csv: series 'b': column 'y' has a missing (NaN) value at "
        "row 5; fill it with --fill-missing interpolate|zero|ffill, or drop it"]
