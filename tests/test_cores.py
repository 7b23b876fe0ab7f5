"""CPU threads while rnncast works (cores.py)."""

import os
import subprocess
import sys

import pytest

# A fresh interpreter: the BLAS libraries load on first import there, as in a user's process.
PROBE = """
from threadpoolctl import threadpool_info
from rnncast.cores import threads
with threads(1):
    import scipy.linalg  # what statsmodels imports on a first classical fit
    inside = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
after = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
print(len(inside), max(inside), max(after))
"""


@pytest.mark.slow
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="BLAS runs one thread on one core")
def test_every_blas_library_runs_one_thread_while_rnncast_works_and_is_set_back_after():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "2"})
    libraries, inside, after = map(int, out.stdout.split())
    assert libraries >= 2  # NumPy's and SciPy's own OpenBLAS
    assert inside == 1  # SciPy's too, although it loaded after the limit began
    assert after == 2


def fit_and_forecast():
    """A fit with batches of 512 windows (threads by the data: every core) and its forecast."""
    import numpy as np

    from rnncast import Forecaster

    t = np.arange(300)
    y = {f"s{k}": 100 + t * (1 + k / 10) + 10 * np.sin(2 * np.pi * t / 12 + k) for k in range(12)}
    model = Forecaster(ensemble=1, epochs=3, units=8, batch_size=512, combine="none", seed=3,
                       season=12)
    return model.fit(y).predict(6)


@pytest.mark.slow
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: one thread either way")
def test_the_same_seed_gives_bit_identical_forecasts_beside_a_busy_process():
    """Threads follow the data and the machine, never the load of the moment (the thread count
    once came from the cores idle right then, and a busy core changed the numbers)."""
    import time

    import pandas as pd

    quiet = fit_and_forecast()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(len(os.sched_getaffinity(0)))]
    try:
        time.sleep(0.5)
        busy = fit_and_forecast()
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    pd.testing.assert_frame_equal(quiet, busy, check_exact=True)
