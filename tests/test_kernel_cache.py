"""Cached kernels are thrown away when any kernel source changed (nnsim.kernels._jit)."""

import os
import subprocess
import sys
from pathlib import Path

from nnsim.kernels import _jit

# prints where Numba caches the kernels of this process, after importing every kernel
CHILD = """
import nnsim.functional
from nnsim.kernels import _jit
print(_jit.REGISTRY[0]._cache._cache_path)
"""


def _start(cache_dir: Path) -> Path:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}  # not the suite's own cache
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


def test_a_source_change_anywhere_in_the_kernels_discards_every_cached_kernel(tmp_path):
    # kernels inline functions of other files (vmath), which Numba's own check never sees
    directory = _start(tmp_path)
    stamp = directory / _jit.STAMP_NAME
    assert stamp.read_text() == _jit.sources_fingerprint()

    cached = directory / "recurrent.lstm_forward-1.py311.nbi"
    cached.write_bytes(b"machine code of an older vmath")
    stamp.write_text("the fingerprint of older sources")
    _start(tmp_path)
    assert not cached.exists()
    assert stamp.read_text() == _jit.sources_fingerprint()

    cached.write_bytes(b"machine code of these sources")
    _start(tmp_path)
    assert cached.exists()  # unchanged sources: the cache is kept
