"""Nothing the user has is ever lost, and every failure is one line with the right exit code.

Each case asserts the exit status, the one-line message, and that every file that existed before
the run is byte-identical afterwards (inputs, folders, models, earlier outputs).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from rnncast import files
from rnncast.cli import main

FAST = ["--epochs", "3", "--ensemble", "1", "--units", "4", "--quiet"]
SRC = str(Path(__file__).resolve().parents[1] / "src")


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (hidden ones too) with its bytes (None for a folder)."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
            for p in sorted(root.rglob("*"))}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def monthly(path: Path, months: int = 48, drop: tuple[int, ...] = (), fmt: str = "%Y-%m-%d") -> Path:
    t = np.arange(months)
    frame = pd.DataFrame({
        "month": pd.date_range("2018-01-01", periods=months, freq="MS").strftime(fmt),
        "sales": (200 + 2 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)),
    }).drop(index=list(drop))
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("model")
    data = monthly(root / "sales.csv")
    assert main(["fit", str(data), "--target", "sales", "--time-col", "month", "--horizon", "6",
                 "--out", str(root / "model"), *FAST]) == 0
    return root / "model"


@pytest.fixture
def project(tmp_path) -> Path:
    """A user's folder: the data and some notes."""
    folder = tmp_path / "proj"
    folder.mkdir()
    monthly(folder / "sales.csv")
    (folder / "notes.txt").write_text("do not lose me\n")
    return folder


FIT = ["--target", "sales", "--time-col", "month", *FAST]


# -- outputs never touch inputs or foreign files -------------------------------------------------
def test_fit_refuses_a_folder_holding_the_input_and_notes(capsys, project):
    before = snapshot(project)
    code, _, err = run(capsys, "fit", project / "sales.csv", *FIT, "--out", project)
    assert code == 2
    assert one_line(err) == (f"rnncast: error: --out {project}: holds the input "
                             f"{project / 'sales.csv'}, which must not be replaced; name another folder")
    assert snapshot(project) == before


@pytest.mark.parametrize("out", [".", "$PWD", "~"])
def test_fit_refuses_the_current_and_home_directories(capsys, project, tmp_path, monkeypatch, out):
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(project))
    data = tmp_path / "elsewhere.csv"
    monthly(data)
    before = snapshot(project)
    code, _, err = run(capsys, "fit", data, *FIT, "--out", str(project) if out == "$PWD" else out)
    assert code == 2
    assert "is a folder rnncast did not write a model to (it holds notes.txt, sales.csv)" in one_line(err)
    assert snapshot(project) == before


def test_outputs_that_are_inputs_or_inside_a_model_are_refused(capsys, project, model_dir):
    data = project / "sales.csv"
    before, model_before = snapshot(project), snapshot(model_dir)
    cases = [
        (["evaluate", data, *FIT, "--test", "6", "--report", data], "is an input of this command"),
        (["forecast", model_dir, "--horizon", "3", "--data", data, "--out", data],
         "is an input of this command"),
        (["forecast", model_dir, "--horizon", "3", "--out", model_dir / "config.json"],
         f"lies inside the input {model_dir}"),
        (["evaluate", data, *FIT, "--test", "6", "--out", model_dir],
         "is an rnncast model, which only `rnncast fit` replaces"),
        (["forecast", model_dir, "--horizon", "3", "--out", project / "f.png"],
         "the forecast is a table (CSV or Parquet); name it f.csv"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, *argv)
        assert code == 2, err
        assert message in one_line(err)
    assert snapshot(project) == before and snapshot(model_dir) == model_before


def test_existing_files_and_devices_are_not_folders(capsys, project, tmp_path):
    data = project / "sales.csv"
    target = tmp_path / "a-file"
    target.write_text("mine\n")
    for out in (target, Path("/dev/null")):
        code, _, err = run(capsys, "fit", data, *FIT, "--out", out)
        assert code == 2
        assert one_line(err) == (f"rnncast: error: --out {out}: exists and is not a directory; "
                                 "name a new folder")
    assert target.read_text() == "mine\n"
    code, _, err = run(capsys, "forecast", tmp_path / "nowhere", "--horizon", "2", "--out", project)
    assert code == 2 and one_line(err) == f"rnncast: error: --out {project}: is a directory; name a file"


def test_a_long_output_name_is_one_line(capsys, project):
    code, _, err = run(capsys, "fit", project / "sales.csv", *FIT, "--out", project / ("m" * 300))
    assert code == 2
    assert one_line(err).endswith("file name too long (300 bytes; the limit is 255)")


def test_a_model_is_replaced_by_a_model_but_not_with_foreign_files(capsys, project, tmp_path):
    data, out = project / "sales.csv", tmp_path / "model"
    assert run(capsys, "fit", data, *FIT, "--out", out)[0] == 0
    first = snapshot(out)
    assert run(capsys, "fit", data, *FIT, "--seed", "1", "--out", out)[0] == 0
    assert snapshot(out) != first and set(snapshot(out)) == set(first)
    (out / "my-notes.txt").write_text("mine\n")
    before = snapshot(out)
    code, _, err = run(capsys, "fit", data, *FIT, "--out", out)
    assert code == 2 and "holds files rnncast did not write (my-notes.txt)" in one_line(err)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_output_through_a_symlink_replaces_the_target_and_keeps_the_link(capsys, project, tmp_path):
    real, link = tmp_path / "real-model", tmp_path / "link"
    data = project / "sales.csv"
    assert run(capsys, "fit", data, *FIT, "--out", real)[0] == 0
    link.symlink_to(real)
    assert run(capsys, "fit", data, *FIT, "--seed", "2", "--out", link)[0] == 0
    assert link.is_symlink() and files.is_model_directory(real)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "proj", "real-model"]


def test_the_forecast_plot_never_collides_and_parquet_is_written(capsys, model_dir, tmp_path):
    out = tmp_path / "f.parquet"
    code, _, err = run(capsys, "forecast", model_dir, "--horizon", "3", "--out", out)
    assert code == 0, err
    assert len(pd.read_parquet(out)) == 3 and (tmp_path / "f.png").stat().st_size > 1000


def test_written_files_get_the_usual_permissions(model_dir):
    mask = os.umask(0)
    os.umask(mask)
    for name in ("config.json", "weights.safetensors"):
        assert (model_dir / name).stat().st_mode & 0o777 == 0o666 & ~mask


# -- all or nothing ------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_failing_half_way_leaves_earlier_outputs_as_they_were(capsys, project, tmp_path,
                                                                     monkeypatch):
    data, out, report = project / "sales.csv", tmp_path / "eval", tmp_path / "report.html"
    assert run(capsys, "evaluate", data, *FIT, "--test", "6", "--out", out)[0] == 0
    report.write_text("an older report\n")
    before = snapshot(tmp_path)

    def full_disk(path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("rnncast.cli.evaluate.write_report", full_disk)  # after the plots and metrics
    code, _, err = run(capsys, "evaluate", data, *FIT, "--test", "6", "--out", out,
                       "--report", report)
    assert code == 1
    assert one_line(err) == f"rnncast: error: {report}: no space left on the device"
    assert snapshot(tmp_path) == before  # no temporary left either


def test_a_permission_error_is_one_line(capsys, project, tmp_path, monkeypatch):
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("rnncast.files.os.mkdir", refuse)
    code, _, err = run(capsys, "fit", project / "sales.csv", *FIT, "--out", tmp_path / "m")
    assert code == 1 and one_line(err).endswith(": permission denied")
    assert not (tmp_path / "m").exists()


KILLED = """
import os, sys
sys.path.insert(0, {src!r})
from rnncast import files
from rnncast.cli import main
point = {point!r}
if point == "before-swap":
    real = files._renameat2
    def killed(a, b, flags):
        return os._exit(9) if flags == files._RENAME_EXCHANGE else real(a, b, flags)
    files._renameat2 = killed
elif point == "after-swap":
    files.shutil.rmtree = lambda *a, **k: os._exit(9)
main({argv!r})
"""


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before-swap", "after-swap"])
def test_a_kill_during_the_swap_leaves_a_complete_model(capsys, project, tmp_path, point):
    from rnncast.forecaster import Forecaster

    data, out = project / "sales.csv", tmp_path / "model"
    assert run(capsys, "fit", data, *FIT, "--out", out)[0] == 0
    old = snapshot(out)
    argv = ["fit", str(data), *FIT, "--seed", "3", "--out", str(out)]
    child = subprocess.run([sys.executable, "-c", KILLED.format(src=SRC, point=point, argv=argv)],
                           capture_output=True, text=True)
    assert child.returncode == 9, child.stderr
    assert Forecaster.load(out).predict(3).notna().all()
    assert (snapshot(out) == old) == (point == "before-swap")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the dead run's leftover
    assert run(capsys, "fit", data, *FIT, "--out", out)[0] == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_concurrent_writers_end_with_one_complete_model(project, tmp_path):
    from rnncast.forecaster import Forecaster

    out = tmp_path / "model"
    argv = [sys.executable, "-m", "rnncast", "fit", str(project / "sales.csv"), *FIT, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": SRC}
    children = [subprocess.Popen([*argv, "--seed", str(k)], env=env, stderr=subprocess.PIPE)
                for k in range(2)]
    assert [c.wait() for c in children] == [0, 0]
    assert Forecaster.load(out).predict(3).notna().all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "proj"]


# -- limits --------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["--units", "10000000"], "units = 10000000 is over the limit of 4,096"),
    (["--layers", "100000"], "layers = 100000 is over the limit of 16"),
    (["--window", "50000"], "window = 50000 is over the limit of 10,000"),
    (["--ensemble", "1000"], "ensemble = 1000 is over the limit of 100"),
    (["--epochs", "10000000"], "epochs = 10000000 is over the limit of 100,000"),
    (["--lr", "1e30"], "lr = 1e+30 is over the limit of 10"),  # once saved weights of 1e30
    (["--units", "4096", "--layers", "16", "--window", "24", "--batch-size", "100000"],
     "GiB to train; this machine has"),
])
def test_sizes_are_bounded_before_allocation(capsys, project, tmp_path, argv, message):
    code, _, err = run(capsys, "fit", project / "sales.csv", "--target", "sales", "--time-col",
                       "month", "--quiet", *argv, "--out", tmp_path / "m")
    assert code == 2 and message in one_line(err)
    assert not (tmp_path / "m").exists()


def test_argument_bounds_name_the_option(capsys, project, tmp_path):
    data = project / "sales.csv"
    for argv, message in [(["--seed", "-1"], "argument --seed: must be an integer from 0 to"),
                          (["--seed", str(2**40)], "argument --seed: must be an integer from 0 to"),
                          (["--threads", "999"], "argument --threads: must be from 1 to")]:
        with pytest.raises(SystemExit) as exit_:
            main(["fit", str(data), *FIT, "--out", str(tmp_path / "m"), *argv])
        assert exit_.value.code == 2
        line = one_line(capsys.readouterr().err)
        assert message in line and line.endswith("(see rnncast fit --help)")


def test_forecast_horizon_is_bounded_and_a_long_one_warns(capsys, caplog, model_dir, tmp_path):
    code, _, err = run(capsys, "forecast", model_dir, "--horizon", "1000000000", "--out", tmp_path / "f.csv")
    assert code == 2 and "horizon = 1000000000 is over the limit of 100,000" in one_line(err)
    code, _, err = run(capsys, "forecast", model_dir, "--horizon", "30", "--out", tmp_path / "f.csv")
    assert code == 0
    assert "forecasting 30 steps with a model trained for 6" in caplog.text


# -- corrupt models ------------------------------------------------------------------------------
def corrupt(model_dir: Path, tmp_path: Path, config=None, tensors=None) -> Path:
    broken = tmp_path / "broken"
    broken.mkdir()
    cfg = json.loads((model_dir / "config.json").read_text())
    weights = load_file(str(model_dir / "weights.safetensors"))
    if config:
        config(cfg)
    if tensors:
        tensors(weights)
    (broken / "config.json").write_text(json.dumps(cfg) if not isinstance(cfg, str) else cfg)
    save_file(weights, str(broken / "weights.safetensors"))
    return broken


def _set(path: list, value):
    def edit(cfg):
        node = cfg
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


@pytest.mark.parametrize("config, tensors, message", [
    (_set(["plan", "windows"], []), None, "plan: windows must be one or more positive integers"),
    (_set(["plan", "head"], 0), None, "plan: head must be a positive integer, got 0"),
    (_set(["data", "clock"], "weekly"), None, "unknown clock 'weekly'"),
    (_set(["format_version"], "1"), None, "format_version must be a whole number, got '1'"),
    (None, lambda w: w.update(scale=w["scale"] * 0), "the scaler of series 0 is not finite and positive"),
    (None, lambda w: w.update(shift=w["shift"] * float("nan")), "tensor 'shift' holds NaN"),
    (None, lambda w: w.update(history=w["history"][:, 0]), "tensor 'history' has 1 dimensions"),
    (None, lambda w: w.update(history=w["history"] * float("nan")), "tensor 'history' holds NaN"),
    (None, lambda w: w.update(tail_lengths=w["tail_lengths"] + 1),
     "the series' lengths do not match tensor 'history'"),
    (None, lambda w: w.update(first=w["first"].double()), "tensor 'first' must hold 1 whole numbers"),
    (None, lambda w: w.update(step=w["step"] * 0), "tensor 'step' holds a value below 1"),
    (None, lambda w: w.update({k: v.to(torch.int32) for k, v in w.items() if k.startswith("member")}),
     "is torch.int32, expected torch.float32"),
    (None, lambda w: w.update({k: v * float("inf") for k, v in w.items() if k.startswith("member")}),
     "holds NaN or infinite values"),
])
def test_corrupt_models_are_refused_in_one_line(capsys, model_dir, tmp_path, config, tensors, message):
    broken = corrupt(model_dir, tmp_path, config, tensors)
    code, _, err = run(capsys, "forecast", broken, "--horizon", "3", "--out", tmp_path / "f.csv")
    assert code == 1 and message in one_line(err)
    assert not (tmp_path / "f.csv").exists()


def test_deeply_nested_and_unreadable_configs(capsys, model_dir, tmp_path):
    broken = corrupt(model_dir, tmp_path)
    (broken / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run(capsys, "forecast", broken, "--horizon", "3", "--out", tmp_path / "f.csv")
    assert code == 1 and "config.json: corrupt model configuration" in one_line(err)
    (broken / "config.json").unlink()
    (broken / "config.json").mkdir()  # cannot be read as a file, even by root
    code, _, err = run(capsys, "forecast", broken, "--horizon", "3", "--out", tmp_path / "f.csv")
    assert code == 1 and "config.json is missing" in one_line(err)


# -- irregular time stamps -----------------------------------------------------------------------
def test_missing_months_are_named_then_filled_with_real_dates(capsys, tmp_path):
    data = monthly(tmp_path / "gaps.csv", drop=(3, 4, 20))
    code, _, err = run(capsys, "fit", data, *FIT, "--out", tmp_path / "m")
    assert code == 1
    assert one_line(err) == (f"rnncast: error: {data}: time column 'month' skips from 2018-03-01 "
                             "00:00:00 to 2018-06-01 00:00:00 at row 4 (3 missing step(s) in all); "
                             "fill them with --fill-missing interpolate|zero|ffill")
    assert run(capsys, "fit", data, *FIT, "--fill-missing", "interpolate", "--out", tmp_path / "m")[0] == 0
    code, _, _ = run(capsys, "forecast", tmp_path / "m", "--horizon", "2", "--out", tmp_path / "f.csv")
    assert pd.read_csv(tmp_path / "f.csv")["month"].tolist() == ["2022-01-01", "2022-02-01"]


def test_day_first_dates_get_a_hint_and_are_read_with_dayfirst(capsys, tmp_path):
    data = monthly(tmp_path / "dmy.csv", fmt="%d/%m/%Y")  # 01/02/2018 is 1 February
    code, _, err = run(capsys, "fit", data, *FIT, "--out", tmp_path / "m")
    assert code == 1 and one_line(err).endswith("if the dates are written day first (31/01/2020), "
                                                "add --dayfirst")
    code, _, err = run(capsys, "fit", data, *FIT, "--dayfirst", "--out", tmp_path / "m")
    assert code == 0, err
    assert json.loads((tmp_path / "m" / "config.json").read_text())["data"]["freq"] == "MS"


@pytest.mark.parametrize("stamps, fmt", [
    ([201511, 201512, 201601, 201602], "%Y%m"), ([20150130, 20150131, 20150201], "%Y%m%d")])
def test_months_and_days_written_as_numbers_get_their_date_format_named(capsys, tmp_path,
                                                                       stamps, fmt):
    data = tmp_path / "numbers.csv"
    pd.DataFrame({"month": stamps, "sales": np.arange(len(stamps)) + 1.0}).to_csv(data, index=False)
    code, _, err = run(capsys, "fit", data, "--target", "sales", "--time-col", "month",
                       "--out", tmp_path / "m", "--quiet")
    assert code == 1 and one_line(err).endswith(
        f"if these are dates written as numbers ({'201501' if fmt == '%Y%m' else '20150131'}), "
        f"add --date-format {fmt}")


def test_mixed_utc_offsets_are_named_then_read_as_local_time(capsys, tmp_path):
    days = pd.date_range("2021-03-01", periods=60, freq="D", tz="Europe/Berlin")
    data = tmp_path / "power.csv"
    pd.DataFrame({"day": days.map(lambda d: d.isoformat()),
                  "sales": 10 + np.sin(np.arange(60) / 3)}).to_csv(data, index=False)
    code, _, err = run(capsys, "fit", data, "--target", "sales", "--time-col", "day", *FAST,
                       "--out", tmp_path / "m")
    assert code == 1
    assert one_line(err) == (f"rnncast: error: {data}: time column 'day' mixes UTC offsets (+01:00 "
                             "and +02:00, first change at row 29); add --time-zone utc (hourly or "
                             "finer data) or --time-zone local (keep the wall-clock time)")
    code, _, err = run(capsys, "fit", data, "--target", "sales", "--time-col", "day", *FAST,
                       "--time-zone", "local", "--out", tmp_path / "m")
    assert code == 0, err
    assert json.loads((tmp_path / "m" / "config.json").read_text())["data"]["freq"] == "D"


def test_a_missing_integer_time_names_its_row(capsys, tmp_path):
    data = tmp_path / "steps.csv"
    pd.DataFrame({"t": [*range(20), None, *range(21, 40)], "y": np.arange(40.0)}).to_csv(data,
                                                                                         index=False)
    code, _, err = run(capsys, "fit", data, "--target", "y", "--time-col", "t", *FAST,
                       "--out", tmp_path / "m")
    assert code == 1
    assert one_line(err) == f"rnncast: error: {data}: time column 't' has a missing value at row 21"


# -- messages that name the culprit, and silent nonsense -----------------------------------------
def test_a_short_series_in_a_long_file_is_named(capsys, tmp_path):
    data = tmp_path / "long.csv"
    rows = [(key, i, float(i + 1)) for key, n in (("a", 30), ("b", 3)) for i in range(n)]
    pd.DataFrame(rows, columns=["id", "t", "y"]).to_csv(data, index=False)
    code, _, err = run(capsys, "evaluate", data, "--id-col", "id", "--time-col", "t", "--target", "y",
                       "--test", "4", *FAST)
    assert code == 1
    assert one_line(err) == ("rnncast: error: series 'b' has 3 points: a test range of 4 leaves it no "
                             "training data; use a shorter --test or drop the series")


@pytest.mark.parametrize("argv, message", [
    (["--target", "sales", "--target", "sales"], "--target sales is given twice"),
    (["--target", "sales", "--id-col", "sales"], "--id-col sales is also a --target"),
])
def test_columns_playing_two_parts_are_refused(capsys, project, argv, message):
    code, _, err = run(capsys, "evaluate", project / "sales.csv", *argv, "--test", "6", *FAST)
    assert code == 2 and message in one_line(err)


def test_huge_values_are_refused_instead_of_forecast_as_inf(capsys, tmp_path):
    data = tmp_path / "big.csv"
    pd.DataFrame({"y": 1e300 * (1 + 0.1 * np.sin(np.arange(60)))}).to_csv(data, index=False)
    code, _, err = run(capsys, "fit", data, "--target", "y", "--log", "no", *FAST, "--out", tmp_path / "m")
    assert code == 1 and "column 'y' has the value 1e+300 at row 1, beyond 1e+100" in one_line(err)
    assert not (tmp_path / "m").exists()


def test_fractional_interval_levels_are_refused_with_the_likely_intent(capsys, model_dir, tmp_path):
    with pytest.raises(SystemExit):
        main(["forecast", str(model_dir), "--horizon", "3", "--intervals", "0.8,0.95",
              "--out", str(tmp_path / "f.csv")])
    assert "0.8 would be a 0.8% band, nearly zero wide; did you mean 80?" in one_line(capsys.readouterr().err)


def test_json_failures_print_an_error_object(capsys, tmp_path):
    code, out, err = run(capsys, "forecast", tmp_path / "nope", "--horizon", "3", "--out",
                         tmp_path / "f.csv", "--json")
    assert code == 1 and json.loads(out)["error"] == {
        "message": one_line(err).removeprefix("rnncast: error: "), "exit": 1, "kind": "input"}
    with pytest.raises(SystemExit):
        main(["forecast", str(tmp_path / "nope"), "--horizon", "0", "--json", "--out", "f.csv"])
    out = capsys.readouterr().out
    assert json.loads(out)["error"]["exit"] == 2


def test_internal_errors_are_told_apart_and_debug_shows_the_traceback(capsys, project, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("rnncast.cli.common.holdout", bug)
    argv = ["evaluate", project / "sales.csv", *FIT, "--test", "6"]
    code, _, err = run(capsys, *argv)
    assert code == 3 and one_line(err) == (
        "rnncast: error: internal error (ZeroDivisionError: division by zero); this is a bug in "
        "rnncast: rerun with --debug for the traceback and report it")
    code, _, err = run(capsys, *argv, "--debug")
    assert code == 3 and "Traceback" in err and "ZeroDivisionError" in err


def test_integer_steps_other_than_one_keep_their_step_and_gaps_are_named(capsys, tmp_path):
    years = np.arange(1900, 2100, 5)
    data = tmp_path / "every5.csv"
    pd.DataFrame({"year": years, "y": 50 + np.sin(np.arange(40) / 2)}).to_csv(data, index=False)
    argv = ["--target", "y", "--time-col", "year", "--horizon", "3", *FAST]
    assert run(capsys, "fit", data, *argv, "--out", tmp_path / "m")[0] == 0
    code, _, err = run(capsys, "forecast", tmp_path / "m", "--horizon", "3", "--out", tmp_path / "f.csv")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "f.csv")["year"].tolist() == [2100, 2105, 2110]
    pd.DataFrame({"year": np.delete(years, 7), "y": np.arange(39.0) + 1}).to_csv(data, index=False)
    code, _, err = run(capsys, "fit", data, *argv, "--out", tmp_path / "m2")
    assert code == 1 and "skips from 1930 to 1940 at row 8" in one_line(err)


def test_a_gap_in_one_series_of_a_long_file_names_the_series_and_the_file_row(capsys, tmp_path):
    months = pd.date_range("2020-01-01", periods=40, freq="MS")
    frame = pd.DataFrame([(key, d, 10.0 + k) for key in ("a", "b") for k, d in enumerate(months)],
                         columns=["id", "month", "y"])
    frame = frame.drop(index=[50, 51]).sample(frac=1, random_state=1)  # b lacks Nov and Dec 2020
    data = tmp_path / "long.csv"
    frame.to_csv(data, index=False)
    row = int(np.flatnonzero(((frame["id"] == "b") & (frame["month"] == "2021-01-01")).to_numpy())[0]) + 1
    argv = ["--id-col", "id", "--time-col", "month", "--target", "y", "--horizon", "3", *FAST]
    code, _, err = run(capsys, "fit", data, *argv, "--out", tmp_path / "m")
    assert code == 1 and one_line(err) == (
        f"rnncast: error: {data}: series 'b': time column 'month' skips from 2020-10-01 00:00:00 to "
        f"2021-01-01 00:00:00 at row {row} (1 series with gaps in all); fill them with "
        "--fill-missing interpolate|zero|ffill")
    assert run(capsys, "fit", data, *argv, "--fill-missing", "ffill", "--out", tmp_path / "m")[0] == 0
    code, _, _ = run(capsys, "forecast", tmp_path / "m", "--horizon", "2", "--out", tmp_path / "f.csv")
    forecast = pd.read_csv(tmp_path / "f.csv")
    assert forecast["month"].tolist() == ["2023-05-01", "2023-06-01"] * 2


def test_a_forecast_whose_dates_run_past_the_year_9999_is_one_line(capsys, model_dir, tmp_path):
    """Within the limit of steps, the dates of 100,000 months do not exist: it used to end in an
    "internal error" from the plot."""
    code, _, err = run(capsys, "forecast", model_dir, "--horizon", "100000", "--out",
                       tmp_path / "f.csv")
    assert code == 1 and one_line(err) == (
        "rnncast: error: a forecast of 100,000 monthly steps runs past the year 9999, the last one "
        "dates are written and drawn for; forecast fewer steps")
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "f.png").exists()


def test_ids_are_read_as_written_and_integer_dates_take_the_date_format(tmp_path):
    """Ids 007, 7 and 07 were read as the number 7 and merged ("series '7' has the time twice");
    --date-format %Y%m%d was ignored for 20200101 read as an integer."""
    from rnncast.data import load_long
    from rnncast.timeindex import TimeConfig

    path = tmp_path / "ids.csv"
    rows = [f"{key},{20200101 + day},{k * 10 + day}" for k, key in enumerate(["007", "7", "07"])
            for day in range(3)]
    path.write_text("id,day,y\n" + "\n".join(rows) + "\n")
    panel = load_long(path, "id", "y", "day", TimeConfig(date_format="%Y%m%d"))
    assert panel.ids == ["007", "07", "7"] and panel.freq == "D"
    assert [str(t.date()) for t in panel.clock.first] == ["2020-01-01"] * 3
    assert panel.rows(2)[:, 0].tolist() == [10.0, 11.0, 12.0]  # '7' is the second series given


def test_a_search_ends_once_every_configuration_is_scored():
    """tune --trials 1000000 used to spin on after scoring every configuration."""
    from rnncast import Forecaster
    from rnncast.tuning import search

    y = 100 + np.arange(60.0) + 10 * np.sin(np.arange(60) / 2)
    result = search(y, {"window": [6, 12]}, lambda s: Forecaster(ensemble=1, epochs=2, units=4,
                                                                   head=6, **s),
                    trials=1_000_000, folds=1, test=6)
    assert len(result.rows) == 2 and result.trials <= 10


@pytest.mark.parametrize("stamps, first, freq", [
    (lambda t: [f"{1956 + k // 4} Q{k % 4 + 1}" for k in t], "1956-01-01", "QS"),
    (lambda t: pd.date_range("1939-01-01", periods=len(t), freq="MS").strftime("%Y %b"),
     "1939-01-01", "MS"),
    (lambda t: pd.date_range("2019-01-07", periods=len(t), freq="W-MON").strftime("%G W%V"),
     "2019-01-07", "W-MON"),
    (lambda t: [f"{2015 + k // 12}M{k % 12 + 1:02d}" for k in t], "2015-01-01", "MS"),  # Eurostat
    (lambda t: [f"{2015 + k // 12}m{k % 12 + 1}" for k in t], "2015-01-01", "MS"),  # Stata
])
def test_fpp3_and_tsibble_stamps_are_read_as_written(capsys, tmp_path, stamps, first, freq):
    """`1956 Q1` and `1939 Jan` could not be read, and no --date-format could say quarters."""
    t = np.arange(40)
    path = tmp_path / "fpp3.csv"
    pd.DataFrame({"Quarter": stamps(t), "Beer": 200 + t + 20 * np.sin(t)}).to_csv(path, index=False)
    code, _, err = run(capsys, "fit", path, "--target", "Beer", "--time-col", "Quarter",
                       "--window", "8", "--head", "4", "--out", tmp_path / "m", *FAST)
    assert code == 0, err
    from rnncast import Forecaster

    model = Forecaster.load(tmp_path / "m")
    assert model.panel.freq.startswith(freq)  # QS-JAN or QS-OCT: the same quarters
    assert str(model.panel.clock.first[0].date()) >= first


def test_a_quarter_format_and_missing_values_filled_like_missing_stamps(capsys, tmp_path):
    """NaN values and missing stamps were two errors with two fixes: --fill-missing is both."""
    path = tmp_path / "q.csv"
    beer = [float(v) for v in 100 + np.arange(24)]
    beer[5] = np.nan
    pd.DataFrame({"q": [f"{2000 + k // 4}Q{k % 4 + 1}" for k in range(24)], "beer": beer}).to_csv(
        path, index=False)
    common = ["--target", "beer", "--time-col", "q", "--date-format", "%YQ%q"]
    code, _, err = run(capsys, "fit", path, *common, "--out", tmp_path / "m", *FAST)
    assert code == 1 and one_line(err) == (
        f"rnncast: error: {path}: column 'beer' has a missing (NaN) value at row 6; fill it with "
        "--fill-missing interpolate|zero|ffill, or drop it")
    from rnncast.data import load_series
    from rnncast.timeindex import TimeConfig

    series = load_series(path, "beer", "q", TimeConfig(date_format="%YQ%q", fill="interpolate"))
    assert series.values[5, 0] == 105.0 and series.freq.startswith("QS")
    assert str(series.index[5].date()) == "2001-04-01"
