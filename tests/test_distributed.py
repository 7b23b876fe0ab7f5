"""Data-parallel training on torch.distributed (gloo on loopback, two processes): the ranks end
with identical weights equal to one process's with the same global batch; `fit --workers 2`
writes one model that loads and forecasts; devices resolve as documented."""

import contextlib
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
import torch
from safetensors.torch import load_file

from rnncast import distributed
from rnncast.cli import main
from rnncast.errors import SettingError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
AIR = ROOT / "src" / "rnncast" / "data" / "airpassengers.csv"
FIT = ["fit", str(AIR), "--target", "passengers", "--time-col", "month", "--ensemble", "1",
       "--epochs", "6", "--units", "8", "--quiet", "--json", "--device", "cpu"]


def torchrun(*argv: str, logs: Path) -> subprocess.CompletedProcess:
    """torchrun with its logs in ``logs`` (by default a torchelastic_* folder it leaves behind)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", "--log-dir", str(logs), *argv]
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_two_ranks_end_identical_and_equal_one_process_with_the_same_global_batch(tmp_path):
    worker = str(ROOT / "tests" / "ddp_worker.py")
    done = torchrun(worker, str(tmp_path), "3", logs=tmp_path / "logs")
    assert done.returncode == 0, done.stderr[:3000]
    alone = subprocess.run([sys.executable, worker, str(tmp_path), "3"], env=ENV,
                           capture_output=True, text=True, timeout=120)
    assert alone.returncode == 0, alone.stderr[-2000:]
    a, b, one = (load_file(tmp_path / f"rank{r}-of-{w}.safetensors")
                 for r, w in ((0, 2), (1, 2), (0, 1)))
    assert set(a) == set(one)
    for name in a:
        assert torch.equal(a[name], b[name]), name  # DDP keeps the replicas identical
        torch.testing.assert_close(a[name], one[name], rtol=1e-4, atol=1e-5)
    # the validation loss is summed across the ranks' shares (11 and 10 windows): same numbers
    torch.testing.assert_close(a["val_loss"], one["val_loss"], rtol=1e-5, atol=0)
    assert not torch.equal(a["val_loss"][0], a["val_loss"][-1])  # it did train


@pytest.mark.slow
def test_fit_with_two_workers_writes_one_model_that_forecasts(tmp_path):
    out, alone = tmp_path / "model", tmp_path / "alone"
    done = subprocess.run([sys.executable, "-m", "rnncast", *FIT, "--out", str(out),
                           "--workers", "2"], env=ENV, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)  # rank 0's one JSON object; rank 1 printed nothing
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging left by either rank
    from rnncast import Forecaster

    forecast = Forecaster.load(out, "cpu").predict(12)
    assert len(forecast) == 12 and forecast.notna().all()
    assert main([*FIT, "--out", str(alone), "--threads", "1"]) == 0
    one = json.loads(Path(alone / "config.json").read_text())
    assert one["train"] == json.loads((out / "config.json").read_text())["train"]
    same = Forecaster.load(alone, "cpu").predict(12)
    assert abs(forecast - same).max() / same.abs().max() < 1e-3  # one process, same global batch
    assert report["series"] == 1


@pytest.mark.slow
def test_members_spread_over_ranks_equal_one_process_and_checkpoint_on_their_rank(tmp_path,
                                                                                  capsys):
    """--ensemble 3 on 2 processes (auto: members): rank 0 trains members 0 and 2, rank 1
    member 1, each alone and with its own checkpoints; every member then equals the one a
    single process trains, bit for bit, and a resume takes all three from the checkpoints."""
    from rnncast import Forecaster

    fit = [*FIT, "--ensemble", "3", "--epochs", "4"]
    out, alone, again = tmp_path / "two", tmp_path / "one", tmp_path / "again"
    run = [sys.executable, "-m", "rnncast", *fit, "--workers", "2"]
    done = subprocess.run([*run, "--checkpoint-dir", str(tmp_path / "ck"), "--out", str(out)],
                          env=ENV, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "ck").glob("member*-done.safetensors")) == [
        f"member{k}-done.safetensors" for k in range(3)]
    assert main([*fit, "--out", str(alone), "--threads", "1"]) == 0
    single = json.loads(capsys.readouterr().out)
    two, one = Forecaster.load(out, "cpu"), Forecaster.load(alone, "cpu")
    for a, b in zip(two.nets, one.nets, strict=True):
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(x, y), name
    report = json.loads(done.stdout)  # the histories came to rank 0 too
    assert report["val_loss"] == single["val_loss"] and len(set(report["val_loss"])) == 3
    resumed = subprocess.run([*run, "--resume", str(tmp_path / "ck"), "--out", str(again)],
                             env=ENV, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (Forecaster.load(again, "cpu").predict(6) == two.predict(6)).all().all()


def workers_of(launcher: int) -> list[int]:
    """The live processes whose parent is ``launcher`` (the workers torchrun started), by rank."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == launcher and fields[0] != "Z":
            rank = next((int(v[5:]) for v in environ if v.startswith(b"RANK=")), -1)
            found.append((rank, int(entry.name)))
    return [pid for _, pid in sorted(found)]


def alive(pids: list[int]) -> list[int]:
    def running(pid):
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    return [pid for pid in pids if running(pid)]


def long_fit(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, list[int]]:
    """`fit --workers 2` that trains for minutes, once both workers run: the command, its
    workers by rank."""
    checkpoints, scratch = tmp_path / "checkpoints", tmp_path / "tmp"
    scratch.mkdir()
    argv = [sys.executable, "-m", "rnncast", *FIT, "--ensemble", "2", "--epochs", "20000",
            "--patience", "20000", "--max-windows", "100000000", "--out", str(tmp_path / "model"),
            "--workers", "2", "--checkpoint-dir", str(checkpoints), *extra]
    command = subprocess.Popen(argv, env={**ENV, "TMPDIR": str(scratch)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    training = [checkpoints / f"member{k}-train.safetensors" for k in range(2)]  # one a worker
    while not all(p.exists() for p in training) and time.monotonic() < deadline:
        assert command.poll() is None, command.stderr.read()
        time.sleep(0.1)
    workers = workers_of(command.pid)
    assert len(workers) == 2
    return command, workers


def finished(command: subprocess.Popen, workers: list[int], seconds: float) -> int:
    """The command's exit status within ``seconds``; whatever happens, nothing of it is left."""
    try:
        return command.wait(timeout=seconds)
    finally:
        for pid in [command.pid, *workers]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        command.wait()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_command_stops_every_worker_before_anything_is_written(tmp_path, sig):
    """The workers die with the command (they used to train on and replace the model 16-18 s
    after a kill -9 of it); a SIGTERM is one line."""
    command, workers = long_fit(tmp_path)
    os.kill(command.pid, sig)
    code = finished(command, workers, 30)
    deadline = time.monotonic() + 10
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(workers)
    assert not (tmp_path / "model").exists()
    err = command.stderr.read()
    # torchinductor_USER: torch's own compile cache, which torch keeps for every later program
    left = [p.name for p in (tmp_path / "tmp").iterdir() if not p.name.startswith("torchinductor_")]
    if sig == signal.SIGTERM:
        assert code == 143 and err == ("rnncast: error: stopped by SIGTERM; every worker was "
                                       "stopped and no output was written or changed\n")
        assert left == []  # neither torchrun's folders nor the workers' messages stay behind
    else:  # only the messages' folder, which the next command removes (tests/test_temporaries.py)
        assert len(left) == 1 and left[0].startswith(".workers.rnncast-")


@pytest.mark.slow
@pytest.mark.parametrize("rank", [0, 1])
def test_a_stopped_worker_ends_the_job_within_the_timeout_in_one_line(tmp_path, rank):
    """kill -STOP of a worker used to hang the others for gloo's half hour, then end in
    torchrun's traceback."""
    command, workers = long_fit(tmp_path, "--worker-timeout", "3")
    stopped = time.monotonic()
    os.kill(workers[rank], signal.SIGSTOP)
    code = finished(command, workers, 60)
    assert time.monotonic() - stopped < 3 + 10  # the timeout, a heartbeat, torchrun's grace
    assert code == 1 and command.stderr.read() == (
        f"rnncast: error: worker {rank} has not answered for 3 s (stopped or hung); the job ends "
        "and no output was written or changed\n")
    time.sleep(0.5)
    assert not alive(workers) and not (tmp_path / "model").exists()


@pytest.mark.slow
def test_any_failure_under_workers_is_one_line_without_torchrun_s_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "rnncast", "fit", str(tmp_path / "none.csv"),
                           "--target", "y", "--out", str(tmp_path / "m"), "--workers", "2"],
                          env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.endswith(f"\nrnncast: error: {tmp_path / 'none.csv'}: no such file\n")
    assert done.stderr.count("rnncast: error:") == 1  # the stage lines before it say what it did


def test_workers_are_bounded_by_the_cores(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["fit", str(AIR), "--target", "passengers", "--out", "m", "--workers", "1000"])
    assert stop.value.code == 2
    assert f"--workers: must be from 1 to {os.cpu_count()}" in capsys.readouterr().err


def test_an_ensemble_is_shared_out_by_members_only_when_there_are_enough():
    two = distributed.Group(1, 2)
    assert [two.owner(k, 5, "auto") for k in range(5)] == [0, 1, 0, 1, 0]
    assert two.owner(0, 1, "auto") is None and two.owner(0, 1, "members") == 0
    assert two.owner(3, 5, "batches") is None
    assert distributed.Group().owner(2, 5, "members") is None  # one process: nothing to share


def test_only_fit_runs_under_torchrun(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    code = main(["evaluate", str(AIR), "--target", "passengers", "--time-col", "month",
                 "--test", "12", "--out", str(tmp_path / "e")])
    assert code == 2 and "only `fit` trains in several processes" in capsys.readouterr().err


def test_workers_flag_is_removed_from_what_each_process_runs():
    argv = ["fit", "d.csv", "--workers", "2", "--out", "m", "--workers=3"]
    assert distributed.without_workers(argv) == ["fit", "d.csv", "--out", "m"]


def test_devices_resolve_as_documented(monkeypatch):
    assert distributed.resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert distributed.resolve_device("auto").type == expected
    with pytest.raises(SettingError, match="device must be one of"):
        distributed.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(SettingError, match="no CUDA device"):
            distributed.resolve_device("cuda")


def test_threads_are_shared_among_the_processes_of_one_machine(monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    from rnncast.cores import local_share

    assert local_share(2) == 1 and local_share(16) == 8
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert local_share(2) == 2


SPARK_TASK = """
import sys
from rnncast.cli import main  # the function the README hands to Spark's TorchDistributor.run

sys.exit(main({argv!r}))
"""


SPARK = """
import os, sys
os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.host", "127.0.0.1").getOrCreate())
{recipe}
spark.stop()
sys.exit(status)
"""


@pytest.mark.slow
def test_the_readme_s_spark_recipe_trains_on_a_local_spark(tmp_path):
    """The README's TorchDistributor recipe, as written there, on Spark in local mode with two
    task slots (CI installs pyspark, and Java from Debian's packages)."""
    import shutil

    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install pyspark)")
    if shutil.which("java") is None:
        pytest.skip("no Java here to run Spark (Debian: apt-get install default-jre-headless)")
    readme = (ROOT / "README.md").read_text()
    blocks = [block.split("```", 1)[0] for block in readme.split("```python")[1:]]
    recipe = next(block for block in blocks if "TorchDistributor" in block)
    t = np.arange(60)
    frame = pd.concat([pd.DataFrame({"store": f"s{k}", "ds": pd.date_range("2015-01-01", periods=60,
                                                                           freq="MS"),
                                     "y": 100 + k + t + 10 * np.sin(2 * np.pi * t / 12)})
                       for k in range(4)])
    frame.to_parquet(tmp_path / "sales.parquet", index=False)
    recipe = recipe.replace("/dbfs/", f"{tmp_path}/").replace(
        '"--out"', '"--epochs", "2", "--ensemble", "2", "--units", "4", "--quiet", "--out"')
    task = tmp_path / "spark_task.py"
    task.write_text(SPARK.format(recipe=recipe))
    done = subprocess.run([sys.executable, str(task)], env=ENV, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    from rnncast import Forecaster

    forecast = Forecaster.load(tmp_path / "model", "cpu").predict(3)
    assert sorted(forecast["store"].unique()) == ["s0", "s1", "s2", "s3"]


@pytest.mark.slow
def test_the_function_torchdistributor_runs_trains_under_torchrun(tmp_path):
    """TorchDistributor starts each process with torchrun's environment and calls the function
    it is given with its arguments: here, two processes calling rnncast.cli.main(list)."""
    task = tmp_path / "task.py"
    task.write_text(SPARK_TASK.format(argv=[*FIT, "--out", str(tmp_path / "model")]))
    done = torchrun(str(task), logs=tmp_path / "logs")
    assert done.returncode == 0, done.stderr[:3000]
    from rnncast import Forecaster

    assert Forecaster.load(tmp_path / "model", "cpu").predict(3).notna().all()
