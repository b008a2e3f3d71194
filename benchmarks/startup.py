"""Cold and warm start in CPU-seconds (user + sys of a fresh interpreter), three ways:

- ``run``: `nnsim run LESSON --iterations 1` (headless; kernels compile lazily on first use);
- ``tui``: `nnsim tui LESSON` to a usable debugger: the app runs headless (Textual's
  ``run_test``, driven as a terminal would: see ``TUI``), compiles the lesson's kernels behind
  the loading screen (cold) or loads them from the cache behind the opening screen (warm: a
  loading screen made those calls before, see nnsim.warmup.cached), shows the debugger, takes
  one `n` and exits;
- ``kernels``: `import nnsim.functional` plus every warm-up call for ``--dtypes``.

Cold: an empty Numba cache directory (NUMBA_CACHE_DIR), so every kernel used compiles. Warm: the
same directory again, so they load from disk. Each case gets its own cache directory. Python's
bytecode is cached the same way (PYTHONPYCACHEPREFIX in that directory, PYTHONDONTWRITEBYTECODE
dropped), as an installed nnsim has it: without it every start compiles nnsim's 120-odd modules
from source again (about 0.25 CPU-s).

    python benchmarks/startup.py [--cases run tui kernels] [--lesson vanishing_sigmoid]
                                 [--dtypes float32 float64] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

KERNELS = """
import sys
from nnsim.warmup import warm_up
print(warm_up(sys.argv[1:]))
"""

RUN = """
import sys
from nnsim import cli
code = cli.main(["run", sys.argv[1], "--iterations", "1"])
sys.exit(0 if code in (0, 1) else code)  # 1: the lesson's checks fail after one iteration
"""

# waits by sleeping, which costs no CPU, and sends the key as a terminal's driver does: the
# child's CPU time is start-up work alone. (Pilot's pause and press post a callback to every
# widget and wait for them all, and the pause forces a screen update: before 8 December 2026
# this benchmark polled with them, which added about 0.1 CPU-s.)
TUI = """
import asyncio, sys
from nnsim.tui.launch import settled_imports

with settled_imports():  # as `nnsim tui` imports the interface
    from nnsim.tui.app import NnsimApp
    from nnsim.tui.screens.main import MainScreen
from textual import events

async def until(ready, what):
    for _ in range(60000):
        if ready():
            return
        await asyncio.sleep(0.01)
    raise SystemExit(f"gave up waiting for {what}")

async def main():
    app = NnsimApp(sys.argv[1])
    async with app.run_test(size=(160, 50)):
        await until(lambda: isinstance(app.screen, MainScreen), "the debugger")
        session = app.screen.session
        before = len(session.sim.events)
        app.post_message(events.Key("n", "n"))
        await until(lambda: len(session.sim.events) > before and not session.busy, "n")
        await asyncio.sleep(0.1)  # the screen redraws the step on its own timer
        print(session.sim.events[-1])

asyncio.run(main())
"""

CASES = {
    "run": ("nnsim run {lesson} --iterations 1", RUN),
    "tui": ("nnsim tui {lesson} to the debugger and one n", TUI),
    "kernels": ("import + every warm-up call ({dtypes})", KERNELS),
}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(code: str, args: list[str], cache_dir: str) -> tuple[float, float]:
    """(CPU-seconds, wall seconds) of one fresh interpreter running ``code``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(cache_dir, "pycache")
    cpu, wall = children_cpu(), time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True
    )
    cpu, wall = children_cpu() - cpu, time.perf_counter() - wall
    if out.returncode != 0:
        raise SystemExit(f"the child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=["run", "tui"])
    parser.add_argument("--lesson", default="vanishing_sigmoid")
    parser.add_argument("--dtypes", nargs="+", default=["float64"])
    parser.add_argument(
        "--repeats", type=int, default=5, help="warm starts per case (median and range)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    result = {}
    for case in args.cases:
        title, code = CASES[case]
        title = title.format(lesson=args.lesson, dtypes=" ".join(args.dtypes))
        child_args = args.dtypes if case == "kernels" else [args.lesson]
        with tempfile.TemporaryDirectory() as cache:
            cold = measure(code, child_args, cache)
            warm = [measure(code, child_args, cache)[0] for _ in range(max(1, args.repeats))]
        median = statistics.median(warm)
        result[case] = {
            "cold_cpu_s": round(cold[0], 2),
            "warm_cpu_s": round(median, 2),
            "warm_range_cpu_s": [round(min(warm), 2), round(max(warm), 2)],
        }
        print(
            f"{title}: cold {cold[0]:.2f} CPU-s ({cold[1]:.1f} s wall), "
            f"warm {median:.2f} CPU-s (median of {len(warm)}: {min(warm):.2f}-{max(warm):.2f})",
            flush=True,
        )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
