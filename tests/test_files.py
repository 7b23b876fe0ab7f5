"""Temporaries and commits across processes: a live run's staging is never taken for a leftover
(even from another container, where its process id means nothing), a killed run's is removed by
the next command in that folder, and concurrent commits never mix their outputs."""

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnncast import files
from rnncast.cli import main

FAST = ["--epochs", "2", "--ensemble", "1", "--units", "4", "--quiet"]
HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def data(folder: Path) -> Path:
    t = np.arange(48)
    path = folder / "sales.csv"
    pd.DataFrame({"month": pd.date_range("2018-01-01", periods=48, freq="MS"),
                  "sales": 200 + 2 * t + 20 * np.sin(2 * np.pi * t / 12)}).to_csv(path, index=False)
    return path


def dead_pid() -> int:
    """A process id that no process here has (as a process in another container may have)."""
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid -= 1
    return pid


def hold(path: Path, seconds: float) -> subprocess.Popen:
    """Another process holding ``path`` locked, as a live rnncast run holds its temporaries."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_live_staging_folder_is_never_taken_for_a_leftover(tmp_path, capsys):
    """A run in another PID namespace stages `.model_p.rnncast-PID-…` under a process id that
    is free here: a second run used to delete it (the first then failed with "no such file")."""
    staged = tmp_path / f".model_p.rnncast-{dead_pid()}-0123abcd"
    staged.mkdir()
    (staged / "weights.safetensors").write_bytes(b"half written")
    holder = hold(staged, 30)
    try:
        code = main(["fit", str(data(tmp_path)), "--target", "sales", "--time-col", "month",
                     "--out", str(tmp_path / "model_p"), *FAST])
        assert code == 0, capsys.readouterr().err
        assert (staged / "weights.safetensors").read_bytes() == b"half written"
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_run_s_temporaries_go_with_the_next_command_in_that_folder(tmp_path, capsys):
    """Whatever their name: a killed forecast's staged CSV, a plot's temporary beside its staged
    file, a half-written folder; a user's file that merely looks alike stays."""
    pid = dead_pid()
    left = [tmp_path / f".fc.csv.rnncast-{pid}-0123abcd",
            tmp_path / f"..fc.png.rnncast-{pid}-0123abcd.rnncast-{pid}-4567cdef",
            tmp_path / f".old.rnncast-{pid}-89abcdef"]
    left[0].write_text("id,y\n")
    left[1].write_bytes(b"\x89PNG")
    left[2].mkdir()
    (left[2] / "config.json").write_text("{}")
    mine = tmp_path / ".notes.rnncast-draft"  # not an rnncast temporary name
    mine.write_text("keep")
    code = main(["evaluate", str(data(tmp_path)), "--target", "sales", "--time-col", "month",
                 "--test", "6", "--out", str(tmp_path / "eval"), "--baselines", "naive", *FAST])
    assert code == 0, capsys.readouterr().err
    assert not any(p.exists() for p in left)
    assert mine.read_text() == "keep"


def test_temporaries_in_a_checkpoint_folder_go_when_it_is_opened_again(tmp_path):
    from rnncast.checkpoints import Checkpoints

    folder = tmp_path / "ck"
    Checkpoints.open(folder, "f" * 32, resume=False)
    left = folder / f".member0-train.safetensors.rnncast-{dead_pid()}-0123abcd"
    left.write_bytes(b"half")
    Checkpoints.open(folder, "f" * 32, resume=True)
    assert not left.exists()


def test_commits_into_one_folder_wait_for_each_other(tmp_path):
    """Four concurrent `forecast --out cc.csv` once left a CSV and a PNG of different runs: a
    commit holds its folder's lock, so a second commit waits until the first is whole."""
    outputs = files.Outputs()
    table, picture = outputs.file(tmp_path / "cc.csv"), outputs.file(tmp_path / "cc.png")
    table.write_text("mine\n")
    picture.write_bytes(b"mine")
    holder = hold(tmp_path, 1.5)  # another run committing into the same folder
    start = time.monotonic()
    outputs.commit()
    assert time.monotonic() - start > 1.0
    holder.wait()
    assert (tmp_path / "cc.csv").read_text() == "mine\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_temporary_is_locked_while_it_is_written(tmp_path):
    seen = []

    def write(tmp: Path) -> None:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append(tmp.name)
        finally:
            os.close(fd)
        tmp.write_text("done")

    files.atomic_write(tmp_path / "x.txt", write)
    assert seen and (tmp_path / "x.txt").read_text() == "done"


def test_an_output_that_is_a_loop_of_symbolic_links_is_one_line(tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    code = main(["fit", str(data(tmp_path)), "--target", "sales", "--time-col", "month",
                 "--out", str(loop), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and err == f"rnncast: error: --out {loop}: a loop of symbolic links\n"
