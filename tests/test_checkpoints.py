"""Checkpoints and resume: a fit killed in the middle of an epoch goes on from its last finished
epoch and ends where an uninterrupted fit ends; finished members are not retrained; a model
already at --out is untouched until the resumed fit succeeds; wrong folders are refused."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open

from rnncast import Forecaster
from rnncast.cli import main
from rnncast.errors import ModelFileError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}


def panel(series=20, length=120, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    rows = [pd.DataFrame({"id": f"s{k}", "month": pd.date_range("2000-01", periods=length, freq="MS"),
                          "y": 50 + 0.1 * k * t + 10 * np.sin(2 * np.pi * (t + k) / 12)
                          + rng.normal(0, 1, length)}) for k in range(series)]
    return pd.concat(rows)


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "panel.csv"
    panel().to_csv(path, index=False)
    return path


def fit_argv(data: Path, *more: str) -> list[str]:
    return ["fit", str(data), "--target", "y", "--time-col", "month", "--id-col", "id",
            "--ensemble", "2", "--units", "8", "--epochs", "8", "--patience", "8",
            "--max-windows", "1000000", "--threads", "1", "--quiet", "--json", *more]


def test_resume_after_an_interruption_gives_the_same_model(tmp_path):
    y = pd.Series(100 + np.arange(96) + 10 * np.sin(2 * np.pi * np.arange(96) / 12),
                  index=pd.date_range("2000-01", periods=96, freq="MS"))
    options = dict(ensemble=2, epochs=12, units=8, seed=3, threads=1, device="cpu")
    whole = Forecaster(**options).fit(y, checkpoints=tmp_path / "a")

    def stop(info):
        if info.member == 1 and info.epoch == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Forecaster(**options).fit(y, callback=stop, checkpoints=tmp_path / "b")
    seen = []
    again = Forecaster(**options).fit(y, callback=lambda i: seen.append((i.member, i.epoch)),
                                      checkpoints=tmp_path / "b", resume=True)
    assert seen[0] == (1, 6)  # member 0 was finished; member 1 goes on after epoch 5
    assert all(member == 1 for member, _ in seen)
    np.testing.assert_array_equal(whole.predict(12).values, again.predict(12).values)
    assert [h.to_dict() | {"seconds": 0} for h in whole.histories] == \
        [h.to_dict() | {"seconds": 0} for h in again.histories]


def epoch_saved(path: Path) -> int:
    with safe_open(path, "pt") as handle:
        return json.loads(handle.metadata()["rnncast"])["epoch"]


@pytest.mark.slow
def test_sigkill_in_an_epoch_then_resume(tmp_path, data):
    out, ck = tmp_path / "model", tmp_path / "ck"
    assert main(fit_argv(data, "--out", str(out), "--epochs", "1", "--ensemble", "1")) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    whole = subprocess.run([sys.executable, "-m", "rnncast", *fit_argv(data, "--out",
                            str(tmp_path / "whole"))], env=ENV, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    child = subprocess.Popen([sys.executable, "-m", "rnncast",
                              *fit_argv(data, "--out", str(out), "--checkpoint-dir", str(ck))],
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state = ck / "member0-train.safetensors"
    deadline = time.monotonic() + 120
    while not (state.exists() and epoch_saved(state) >= 2) and time.monotonic() < deadline:
        assert child.poll() is None, child.stderr.read()
        time.sleep(0.01)
    # wherever this lands after epoch 2 was saved (in an epoch, in a checkpoint's write, between
    # them), the last whole checkpoint is there and the fit goes on from it
    child.send_signal(signal.SIGKILL)
    child.wait()
    finished = epoch_saved(state)
    assert finished < 8 and not (ck / "member1-done.safetensors").exists()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old model, whole
    resumed = subprocess.run([sys.executable, "-m", "rnncast",
                              *fit_argv(data, "--out", str(out), "--resume", str(ck))],
                             env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    a, b = json.loads(whole.stdout), json.loads(resumed.stdout)
    for x, y in zip(a["val_loss"], b["val_loss"], strict=True):
        assert abs(x - y) <= 0.01 * abs(x)
    assert a["epochs_best"] == b["epochs_best"]
    assert Forecaster.load(out, "cpu").predict(3).notna().all().all()


@pytest.mark.slow
def test_wrong_folders_are_refused_with_one_line(tmp_path, data, capsys):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"x")
    code = main(fit_argv(data, "--out", str(tmp_path / "m"), "--checkpoint-dir", str(foreign)))
    err = capsys.readouterr().err
    assert code == 2 and "not an empty folder rnncast created" in err and len(err.splitlines()) == 1
    assert (foreign / "cat.jpg").read_bytes() == b"x" and len(list(foreign.iterdir())) == 1
    code = main(fit_argv(data, "--out", str(tmp_path / "m"), "--resume", str(tmp_path / "none")))
    assert code == 1 and "no rnncast checkpoints there" in capsys.readouterr().err
    code = main(fit_argv(data, "--out", str(tmp_path / "m"), "--checkpoint-dir",
                         str(tmp_path / "m" / "ck")))
    assert code == 2 and "must not be, hold or lie in --out" in capsys.readouterr().err


@pytest.mark.slow
def test_a_resume_with_other_data_or_settings_is_refused(tmp_path, data, capsys):
    ck = tmp_path / "ck"
    argv = fit_argv(data, "--out", str(tmp_path / "m"), "--epochs", "1", "--ensemble", "1")
    assert main([*argv, "--checkpoint-dir", str(ck)]) == 0
    capsys.readouterr()
    assert main([*argv, "--checkpoint-dir", str(ck)]) == 2
    assert "checkpoints of an earlier fit: --resume it" in capsys.readouterr().err
    assert main([*argv, "--resume", str(ck), "--units", "9"]) == 1
    assert "of a fit with other data or settings" in capsys.readouterr().err
    (ck / "member0-train.safetensors").write_bytes(b"not safetensors")
    (ck / "member0-done.safetensors").unlink()
    assert main([*argv, "--resume", str(ck)]) == 1
    err = capsys.readouterr().err
    assert "member0-train.safetensors is damaged" in err and len(err.splitlines()) == 1


def test_checkpoints_of_another_format_are_refused_by_name(tmp_path):
    """Checkpoints written before the optimizer stepped one flat tensor (format 1, no version in
    the marker) were read as damaged; they are refused as another version's, in one line."""
    folder = tmp_path / "ck"
    small_fit(folder)
    marker = folder / "checkpoints.json"
    held = json.loads(marker.read_text())
    assert held["version"] == 2
    del held["version"]
    marker.write_text(json.dumps(held))
    with pytest.raises(ModelFileError, match="checkpoint format 1, this one reads 2"):
        small_fit(folder, resume=True)


def small_fit(folder: Path, resume: bool = False) -> Forecaster:
    y = pd.Series(100 + np.arange(60) + 10 * np.sin(2 * np.pi * np.arange(60) / 12),
                  index=pd.date_range("2000-01", periods=60, freq="MS"))
    return Forecaster(ensemble=1, epochs=2, units=4, threads=1).fit(y, checkpoints=folder,
                                                                     resume=resume)


def nan_weights(tensors, metadata):
    name = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[name] = tensors[name] * float("nan")


def wrong_shape(tensors, metadata):
    name = next(k for k, v in tensors.items() if v.dim() == 2)
    tensors[name] = tensors[name][:, :1].contiguous()


@pytest.mark.parametrize("damage, said", [
    (nan_weights, "holds NaN or infinite values"),
    (wrong_shape, "size mismatch"),
    (lambda t, m: m.update(history="not json"), "Expecting value"),
    (lambda t, m: m.update(history='{"loss": ["a"], "val_loss": []}'), "values that are not numbers"),
    (lambda t, m: m.update(history='{"weights": 1}'), "not a training history"),
])
def test_a_damaged_finished_member_is_one_line_never_a_model(tmp_path, damage, said):
    """A NaN in a finished member's file once resumed into a model with NaN weights (exit 0);
    a tensor of the wrong shape or text in its metadata ended in "internal error" (exit 3)."""
    from safetensors.torch import load_file, save_file

    from rnncast.errors import ModelFileError

    folder = tmp_path / "ck"
    small_fit(folder)
    path = folder / "member0-done.safetensors"
    with safe_open(path, "pt") as handle:
        metadata = dict(handle.metadata())
    tensors = load_file(path)
    damage(tensors, metadata)
    save_file(tensors, path, metadata=metadata)
    with pytest.raises(ModelFileError, match=f"checkpoint {path} is damaged .*{said}"):
        small_fit(folder, resume=True)


RLIMIT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))  # as a full disk: writes fail past it
from rnncast.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_checkpoint_that_cannot_be_written_is_one_line(tmp_path, data):
    """safetensors' own writer reported a full disk as its own error: "internal error", exit 3."""
    argv = fit_argv(data, "--out", str(tmp_path / "m"), "--checkpoint-dir", str(tmp_path / "ck"))
    done = subprocess.run([sys.executable, "-c", RLIMIT, *argv], capture_output=True, text=True,
                          env={**ENV, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 1
    assert done.stderr == (f"rnncast: error: {tmp_path / 'ck' / 'member0-train.safetensors'}: "
                           "file too large for this system's limits\n")
    assert not (tmp_path / "m").exists()
