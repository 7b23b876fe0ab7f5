"""Progress a log file shows, with a bound on what is left that holds, and stage seconds that add
up to the command's time."""

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnncast import Forecaster, progress
from rnncast.history import EpochInfo
from rnncast.progress import Progress, Stages, clock

ROOT = Path(__file__).parents[1]


def test_durations_read_as_a_person_says_them():
    assert [clock(s) for s in (0.4, 8, 65, 3599, 4800)] == ["0 s", "8 s", "1 min 05 s",
                                                            "59 min 59 s", "1 h 20 min"]


def test_stage_seconds_add_up_to_the_total_and_a_stage_entered_again_adds_up():
    heard = []
    stages = Stages(say=heard.append)
    for _ in range(2):
        with stages("work", "working"):
            time.sleep(0.05)
    with stages("quiet"):
        pass
    summary = stages.summary()
    assert heard == ["working", "working"]
    assert list(summary) == ["start-up", "work", "quiet", "other", "total"]
    assert summary["work"] >= 0.1
    parts = sum(v for k, v in summary.items() if k != "total")
    assert parts == pytest.approx(summary["total"], abs=0.01)
    assert stages.line().startswith("took ")


def info(epoch, member=0, limit=10, left=None, refit=False):
    return EpochInfo(epoch, 0.5, 0.4, 0.1, None, member=member, limit=limit,
                     left=limit - epoch if left is None else left, refit=refit)


def test_a_log_gets_a_line_at_most_every_interval_and_one_at_the_end(monkeypatch):
    stream = io.StringIO()
    bar = Progress("fit x", members=1, stream=stream, terminal=False)
    for epoch in range(1, 11):
        bar(info(epoch))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the first epoch's, then the last (within the interval)
    assert "network 1 of 1, epoch 1 of at most 10: loss 0.5, validation 0.4" in lines[0]
    assert lines[1].endswith("at most 0 s left")
    monkeypatch.setattr(progress, "EVERY", 0.0)
    stream = io.StringIO()
    bar = Progress("fit x", stream=stream, terminal=False)
    for epoch in range(1, 4):
        bar(info(epoch))
    assert len(stream.getvalue().splitlines()) == 3
    quiet = io.StringIO()
    bar = Progress("fit x", shown=False, stream=quiet, terminal=False)
    bar(info(1))
    bar.note("a stage")
    assert quiet.getvalue() == ""


def test_what_is_left_counts_the_later_members_fits_and_refits():
    bar = Progress("x", members=2, fits=3, stream=io.StringIO(), terminal=False)
    bar(info(1, left=9 + 10))  # a refit of at most 10 epochs follows
    assert bar.left == 19 + 20 + 2 * 2 * 20
    bar(info(3, member=1, left=7 + 10))
    assert bar.left == 17 + 2 * 2 * 20
    bar(info(1, member=0, left=19))  # the second fit
    assert bar.fit == 1 and bar.left == 19 + 20 + 40


@pytest.mark.slow
def test_the_bound_on_epochs_left_holds_through_a_real_fit_with_refits(seasonal):
    """Every report's bound is at least the epochs that really followed it."""
    reports = []
    bar = Progress("fit", members=2, stream=io.StringIO(), terminal=False)

    def hear(i):
        bar(i)
        reports.append((i.refit, bar.left))

    Forecaster(ensemble=2, units=4, epochs=15, patience=3, refit=True).fit(seasonal, callback=hear)
    assert any(refit for refit, _ in reports)  # the refits were reported too
    for k, (_, left) in enumerate(reports):
        assert left >= len(reports) - k - 1


@pytest.mark.slow
def test_evaluate_off_a_terminal_says_each_stage_and_its_seconds_add_up(tmp_path):
    """A log file shows a line per stage and training's progress; metrics.json's seconds add
    up to the command's time (its `network_training` once was under half of it)."""
    t = np.arange(120)
    path = tmp_path / "y.csv"
    path.write_text("y\n" + "\n".join(f"{v:.4f}" for v in 50 + t + 8 * np.sin(t / 1.9)))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rnncast", "evaluate", str(path), "--target", "y", "--season", "12",
         "--test", "12", "--ensemble", "1", "--units", "4", "--epochs", "5", "--out",
         str(tmp_path / "out")], env={"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"},
        capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    said = done.stderr
    for line in ("reading", "choosing the recipe", "training a network on 1 series",
                 "epoch 1 of at most 5", "forecasting 12 steps", "baseline theta",
                 "drawing the plots"):
        assert line in said, said
    seconds = json.loads((tmp_path / "out" / "metrics.json").read_text())["seconds"]["stages"]
    total = seconds.pop("total")
    assert sum(seconds.values()) == pytest.approx(total, abs=0.01)
    assert 0.6 * wall <= total <= wall
    assert "took " in done.stdout
