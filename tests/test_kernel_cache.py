"""Cached kernels are thrown away when any kernel source changed, and load without the
compiler's registries (nnsim.kernels._jit)."""

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


# calls sigmoid in float64 and prints the bits, whether the call loaded machine code from the
# cache, and whether loading imported the compiler's implementations of NumPy functions; then
# calls it in float32 (never cached here, so it compiles after the load) and checks the values
SIGMOID = """
import sys
import numpy as np
import nnsim.functional as F
from nnsim.kernels import activations

x = np.linspace(-30.0, 30.0, 101)
y = F.sigmoid(x)
print(y.tobytes().hex())
print(sum(activations.sigmoid_forward.stats.cache_hits.values()))
print("numba.np.arraymath" in sys.modules)
y32 = F.sigmoid(x.astype(np.float32))
assert np.allclose(y32, 1.0 / (1.0 + np.exp(-x)), rtol=1e-6, atol=0.0), y32
"""

# steps an RNN through time (rnn_step_forward); with "whole", then runs the sequence kernel,
# rnn_forward, which calls the step kernel: in a second process the step kernel is loaded from
# the cache and the sequence kernel compiles against it
STEPS = """
import sys
import numpy as np
from nnsim.functional import recurrent as R

rng = np.random.default_rng(0)
x, h0 = rng.standard_normal((2, 5, 3)), np.zeros((2, 4))
w_ih, w_hh, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 4)), np.zeros(4)
stepper = R.RecurrentStepper("rnn", x, h0, w_ih, w_hh, b, b)
for t in range(5):
    stepper.forward_step(t)
print(stepper.cache.h_seq.tobytes().hex())
if sys.argv[1:] == ["whole"]:
    print(R.rnn(x, h0, w_ih, w_hh, b, b)[0].tobytes().hex())
"""


def _run(code: str, cache_dir: Path, *args: str) -> list[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}  # not the suite's own cache
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def _start(cache_dir: Path) -> Path:
    return Path(_run(CHILD, cache_dir)[0])


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


def test_a_cached_kernel_loads_without_the_compilers_registries_and_gives_the_same_bits(
    tmp_path,
):
    # Numba's own cache imports some forty modules of implementations before each load; only
    # a compilation reads them (nnsim.kernels._jit._LoadWithRuntimeOnly)
    compiled_bits, compiled_hits, _ = _run(SIGMOID, tmp_path)
    loaded_bits, loaded_hits, registries_loaded = _run(SIGMOID, tmp_path)
    assert (compiled_hits, loaded_hits) == ("0", "1")
    assert loaded_bits == compiled_bits
    assert registries_loaded == "False"


def test_a_kernel_compiled_after_a_cached_load_calls_the_loaded_kernel_correctly(tmp_path):
    (stepped,) = _run(STEPS, tmp_path)  # compiles and caches the step kernel alone
    loaded_stepped, whole = _run(STEPS, tmp_path, "whole")
    assert loaded_stepped == stepped
    assert whole == stepped  # stepped and whole runs are bit-identical
