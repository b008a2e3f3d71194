"""Cold and warm start: `import nnsim.functional` plus one call of every function.

Cold: an empty Numba cache directory, so every kernel compiles. Warm: the same directory again,
so every kernel loads from disk. Each start is a fresh interpreter.

    python benchmarks/startup.py [--dtypes float32 float64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = """
import time, sys
t0 = time.perf_counter()
import nnsim.functional
from nnsim.warmup import warm_up
t1 = time.perf_counter()
n = warm_up({dtypes})
t2 = time.perf_counter()
print(f"{{t1 - t0}} {{t2 - t1}} {{n}}")
"""


def measure(cache_dir: str, dtypes: list[str]) -> tuple[float, float, float, int]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    code = CHILD.format(dtypes="(" + ", ".join(f"'{d}'" for d in dtypes) + ",)")
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    total = time.perf_counter() - start
    imp, calls, n = out.stdout.split()
    return total, float(imp), float(calls), int(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        cold = measure(cache, args.dtypes)
        warm = measure(cache, args.dtypes)
    result = {}
    for label, (total, imp, calls, n) in (("cold", cold), ("warm", warm)):
        result[label] = {
            "process_s": round(total, 2),
            "import_s": round(imp, 2),
            "calls_s": round(calls, 2),
            "calls": n,
        }
        print(
            f"{label:5s} start: {total:6.2f} s in all (import {imp:.2f} s, {n} calls {calls:.2f} s)"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
