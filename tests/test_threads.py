"""BLAS threads and import cost: what `import nnsim` sets up and what it leaves for later.

Each fact is checked in a fresh interpreter, because both are decided once, at import."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import pytest

BLAS_THREADS = """
import json
import nnsim  # noqa: F401
import numpy as np
from threadpoolctl import threadpool_info
np.ones((64, 64)) @ np.ones((64, 64))
print(json.dumps([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]))
"""


def blas_threads(**env: str) -> tuple[list[int], str]:
    """The thread counts of every BLAS library after `import nnsim`, and what went to stderr."""
    environment = {k: v for k, v in os.environ.items() if k != "NNSIM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", BLAS_THREADS],
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout), out.stderr


def test_importing_nnsim_gives_every_blas_library_one_thread_by_default() -> None:
    # a busy machine: OpenBLAS's default threads spin against other processes' work
    counts, _ = blas_threads()
    assert counts and set(counts) == {1}


def test_nnsim_threads_chooses_the_blas_thread_count() -> None:
    assert set(blas_threads(NNSIM_THREADS="2")[0]) == {2}


def test_a_malformed_nnsim_threads_warns_and_keeps_one_thread() -> None:
    counts, stderr = blas_threads(NNSIM_THREADS="many")
    assert set(counts) == {1}
    assert "NNSIM_THREADS='many' is not a whole number of threads" in stderr


OS_THREADS = """
import os
import nnsim  # noqa: F401
import numpy as np
np.ones((256, 256)) @ np.ones((256, 256))
print(len(os.listdir("/proc/self/task")), os.environ.get("OPENBLAS_NUM_THREADS"))
"""


@pytest.mark.skipif(
    not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
    reason="counts the process's threads in Linux's /proc, on a machine with 2 cores or more",
)
def test_openblas_starts_no_threads_of_its_own_and_the_environment_is_left_as_it_was() -> None:
    # OpenBLAS's own threads start when NumPy loads and spin for a while (0.12 CPU-s at start)
    environment = {
        k: v for k, v in os.environ.items() if k not in ("NNSIM_THREADS", "OPENBLAS_NUM_THREADS")
    }
    run = functools.partial(
        subprocess.run, [sys.executable, "-c", OS_THREADS], capture_output=True, text=True
    )
    assert run(env=environment, check=True).stdout.split() == ["1", "None"]
    # the library's own default (NNSIM_THREADS=0) and a count the user gave OpenBLAS are kept
    threads, _ = run(env={**environment, "NNSIM_THREADS": "0"}, check=True).stdout.split()
    assert int(threads) > 1
    user_set = {**environment, "OPENBLAS_NUM_THREADS": "2"}
    assert run(env=user_set, check=True).stdout.split() == ["2", "2"]


def test_importing_nnsim_loads_neither_numba_nor_the_kernels_until_a_model_needs_them() -> None:
    code = (
        "import sys, nnsim\n"
        "before = sorted(m for m in sys.modules if m == 'numba' or m.startswith('nnsim.kernels'))\n"
        "model = nnsim.Sequential\n"
        "print(before, 'numba' in sys.modules, nnsim.gradcheck.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True", "gradcheck"]


def test_nnsim_gradcheck_stays_the_function_after_its_module_is_imported() -> None:
    code = (
        "import nnsim\n"
        "from nnsim.gradcheck import gradcheck\n"
        "print(nnsim.gradcheck is gradcheck, callable(nnsim.gradcheck))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
