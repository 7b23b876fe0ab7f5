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


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="BLAS runs one thread on one core")
def test_every_blas_library_runs_one_thread_while_rnncast_works_and_is_set_back_after():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "2"})
    libraries, inside, after = map(int, out.stdout.split())
    assert libraries >= 2  # NumPy's and SciPy's own OpenBLAS
    assert inside == 1  # SciPy's too, although it loaded after the limit began
    assert after == 2
