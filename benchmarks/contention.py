"""A deep MLP on a busy machine: wall and CPU time of a run alone, then while busy processes
hold every core, with nnsim's BLAS thread setting and with OpenBLAS's own default.

The scenario (written inline, no sample files): 31 dense layers (30 x 128 ReLU, then 2) on
spirals, batch 64, SGD, run as `nnsim run SCENARIO --iterations N` in a fresh interpreter that
times the run alone (one short run first loads the kernels). The busy processes are pure-Python
spin loops, one per core, started here and killed after each measurement.

Settings: ``NNSIM_THREADS`` unset (nnsim's default, one BLAS thread) and ``NNSIM_THREADS=0``
(OpenBLAS's default: one thread per core, the old behaviour). A busy run that takes longer than
``--give-up`` times its quiet wall time is stopped and reported as at least that ratio.

Target (issue 18): busy wall time at most 3x quiet with the default setting; a single-threaded
process gets two thirds of a core when two spinners share two cores with it, so about 1.5x.
On a machine other work already loads, "quiet" is not quiet: the run's quiet wall time already
includes waiting for the cores, so the busy/quiet ratio is also printed as busy wall time over
quiet CPU time (what the run would take alone on an idle core).

    python benchmarks/contention.py [--iterations 100] [--repeats 3] [--give-up 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIO = """
[lesson]
title = "A deep MLP on a busy machine"
text = "31 dense layers: many small matrix products per iteration."

[data]
source = "spirals"
n_per_class = 100
noise = 0.2

[model]
layers = [
  { type = "dense", units = 128, activation = "relu", init = "he_normal", repeat = 30 },
  { type = "dense", units = 2 },
]
loss = "cross_entropy"

[train]
optimizer = "sgd"
lr = 0.01
batch_size = 64
iterations = 10
seed = 0
"""

# prints "wall cpu" of the timed run only; the CLI's own report is swallowed
CHILD = """
import contextlib, io, resource, sys, time
from nnsim import cli

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

with contextlib.redirect_stdout(io.StringIO()):
    cli.main(["run", sys.argv[1], "--iterations", "2"])
    wall, used = time.perf_counter(), cpu()
    cli.main(["run", sys.argv[1], "--iterations", sys.argv[2]])
    wall, used = time.perf_counter() - wall, cpu() - used
print(wall, used)
"""

SPIN = "while True: pass"

SETTINGS = {"nnsim default (1 BLAS thread)": None, "OpenBLAS default (NNSIM_THREADS=0)": "0"}


def run_once(scenario: Path, iterations: int, threads: str | None, timeout: float | None):
    """(wall, CPU) seconds of the timed run; None if it took longer than ``timeout``."""
    env = {k: v for k, v in os.environ.items() if k != "NNSIM_THREADS"}
    if threads is not None:
        env["NNSIM_THREADS"] = threads
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(scenario), str(iterations)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        raise SystemExit(f"the run failed ({out.returncode}):\n{out.stderr[-3000:]}")
    wall, cpu = out.stdout.split()[-2:]
    return float(wall), float(cpu)


def busy(cores: int) -> list[subprocess.Popen]:
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(cores)]
    time.sleep(0.5)  # let them start spinning
    return spinners


def stop(spinners: list[subprocess.Popen]) -> None:
    for spinner in spinners:
        spinner.kill()
    for spinner in spinners:
        spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="measurements per case")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="busy processes")
    parser.add_argument("--give-up", type=float, default=40.0, help="busy/quiet ratio to stop at")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    print(
        f"31-layer MLP, {args.iterations} iterations, {args.cores} busy processes, "
        f"{os.cpu_count()} cores; medians of {args.repeats}",
        flush=True,
    )
    result = {}
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(folder) / "deep_mlp.toml"
        scenario.write_text(SCENARIO)
        for title, threads in SETTINGS.items():
            quiet = [
                run_once(scenario, args.iterations, threads, None) for _ in range(args.repeats)
            ]
            quiet_wall = statistics.median(w for w, _ in quiet)
            quiet_cpu = statistics.median(c for _, c in quiet)
            limit = quiet_wall * args.give_up
            loaded = []
            for _ in range(args.repeats):
                spinners = busy(args.cores)
                try:
                    loaded.append(run_once(scenario, args.iterations, threads, limit))
                finally:
                    stop(spinners)
            finished = [m for m in loaded if m is not None]
            if len(finished) == len(loaded):
                busy_wall = statistics.median(w for w, _ in finished)
                busy_cpu = statistics.median(c for _, c in finished)
                ratio, shown = busy_wall / quiet_wall, f"{busy_wall / quiet_wall:.1f}x"
            else:
                busy_wall, busy_cpu, ratio = None, None, args.give_up
                shown = f">= {args.give_up:.0f}x (stopped after {limit:.0f} s)"
            per_iteration = quiet_cpu / args.iterations
            print(
                f"{title}: quiet {quiet_wall:.2f} s wall, {quiet_cpu:.2f} CPU-s "
                f"({per_iteration * 1000:.1f} CPU-ms per iteration); busy "
                + (f"{busy_wall:.2f} s wall, {busy_cpu:.2f} CPU-s" if busy_wall else "-")
                + f"; busy/quiet wall {shown}"
                + (f", busy wall/quiet CPU {busy_wall / quiet_cpu:.1f}x" if busy_wall else ""),
                flush=True,
            )
            result[title] = {
                "quiet_wall_s": round(quiet_wall, 3),
                "quiet_cpu_s": round(quiet_cpu, 3),
                "busy_wall_s": None if busy_wall is None else round(busy_wall, 3),
                "busy_cpu_s": None if busy_cpu is None else round(busy_cpu, 3),
                "ratio": round(ratio, 2),
            }
    default = result[next(iter(SETTINGS))]["ratio"]
    verdict = "met" if default <= 3.0 else "NOT met"
    print(f"target: busy/quiet wall <= 3x with nnsim's default (about 1.5x ideal): {verdict}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
