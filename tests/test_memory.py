"""Importing nnsim keeps freed memory for the next iteration (nnsim._memory)."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the allocator settings apply to glibc only",
)

# Four 2 MB arrays made, touched and dropped, as one iteration's caches are: with glibc's
# defaults the freed top of the heap is trimmed each time and refilled page by page.
CHILD = """
import resource
import numpy as np
import nnsim

def iteration():
    arrays = [np.ones(2**19, np.float32) for _ in range(4)]
    del arrays

iteration(); iteration()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    iteration()
print(nnsim._memory.RETAINING, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(opt_out: bool) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "NNSIM_MALLOC_DEFAULTS"}
    if opt_out:
        env["NNSIM_MALLOC_DEFAULTS"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1])


def test_repeated_iterations_reuse_freed_memory_instead_of_faulting_in_new_pages():
    retaining, faults = _page_faults(opt_out=False)
    assert retaining == "True"
    assert faults < 100  # 5 iterations x 8 MB would be 10 000 pages of 4 KB


def test_the_environment_can_keep_glibcs_own_settings():
    retaining, faults = _page_faults(opt_out=True)
    assert retaining == "False"
    assert faults > 5000  # what the settings save: glibc trims and refills every iteration
