"""Temporaries: a killed writer's are removed by the next command, a live writer's never."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from rnncast.temporaries import clean_leftovers, scratch_folder, temporary_name

HOLD = """
import sys, time
from rnncast.temporaries import scratch_folder
with scratch_folder("workers") as folder:
    print(folder, flush=True)
    time.sleep(600)
"""


def holder(tmp: Path) -> tuple[subprocess.Popen, Path]:
    """A process holding a scratch folder in ``tmp``, and the folder."""
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    process = subprocess.Popen([sys.executable, "-c", HOLD], env=env, stdout=subprocess.PIPE,
                               text=True)
    return process, Path(process.stdout.readline().strip())


def test_a_killed_command_s_scratch_folder_goes_with_the_next_one_a_live_one_stays(tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    killed, dead = holder(tmp_path)
    live, alive = holder(tmp_path)
    try:
        assert dead.is_dir() and dead.parent == tmp_path and dead.name.startswith(".workers.rnncast-")
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        assert dead.is_dir()  # nothing can clean up after kill -9 ...
        with scratch_folder("workers") as mine:
            assert not dead.exists()  # ... but the next command does
            assert alive.is_dir()  # and never a live one's
            assert mine.is_dir()
        assert not mine.exists()
    finally:
        live.kill()
        live.wait()
    assert alive.is_dir()
    clean_leftovers(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_temporary_name_stays_within_the_file_system_s_limit():
    name = temporary_name(Path("/x") / ("é" * 200)).name
    assert len(name.encode()) <= 255 and name.startswith(".é") and ".rnncast-" in name
