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

``--baseline PYTHON``: the interpreter of another nnsim install (say a venv with an older
commit installed, ``pip install -e`` of a git worktree): each warm start of this tree is paired
with one of that install, in alternating order, and the paired ratio (this / baseline) is
printed with both medians. The machines drift by a third within minutes, so a before/after
figure taken from two separate runs can say either thing; the pairs see the same drift.

    python benchmarks/startup.py [--cases run tui kernels] [--lesson vanishing_sigmoid]
                                 [--dtypes float32 float64] [--repeats 5]
                                 [--baseline PYTHON] [--json]
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
# widget and wait for them all, and the pause forces a screen update: until 7 December 2026
# this benchmark polled with them, work a terminal never does.)
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


def measure(
    code: str, args: list[str], cache_dir: str, python: str = sys.executable
) -> tuple[float, float]:
    """(CPU-seconds, wall seconds) of one fresh interpreter (``python``) running ``code``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(cache_dir, "pycache")
    cpu, wall = children_cpu(), time.perf_counter()
    out = subprocess.run(
        [python, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=cache_dir,  # not a checkout, whose nnsim/ would shadow the interpreter's install
    )
    cpu, wall = children_cpu() - cpu, time.perf_counter() - wall
    if out.returncode != 0:
        raise SystemExit(f"the child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return cpu, wall


def _figures(cold: tuple[float, float], warm: list[float]) -> dict:
    return {
        "cold_cpu_s": round(cold[0], 2),
        "cold_wall_s": round(cold[1], 1),
        "warm_cpu_s": round(statistics.median(warm), 2),
        "warm_range_cpu_s": [round(min(warm), 2), round(max(warm), 2)],
    }


def _line(figures: dict, repeats: int) -> str:
    low, high = figures["warm_range_cpu_s"]
    return (
        f"cold {figures['cold_cpu_s']:.2f} CPU-s ({figures['cold_wall_s']:.1f} s wall), warm "
        f"{figures['warm_cpu_s']:.2f} CPU-s (median of {repeats}: {low:.2f}-{high:.2f})"
    )


def run_case(code: str, child_args: list[str], repeats: int, baseline: str | None) -> dict:
    """One case's figures; with a baseline interpreter, its figures and the paired ratios."""
    pythons = [sys.executable] if baseline is None else [sys.executable, baseline]
    with tempfile.TemporaryDirectory() as this_cache, tempfile.TemporaryDirectory() as other:
        caches = [this_cache, other]
        colds = [measure(code, child_args, caches[i], py) for i, py in enumerate(pythons)]
        warm: list[list[float]] = [[] for _ in pythons]
        for repeat in range(repeats):
            order = range(len(pythons)) if repeat % 2 == 0 else reversed(range(len(pythons)))
            for i in order:  # A B, then B A: neither side always runs first
                warm[i].append(measure(code, child_args, caches[i], pythons[i])[0])
    result = _figures(colds[0], warm[0])
    if baseline is not None:
        result["baseline"] = _figures(colds[1], warm[1])
        ratios = [a / b for a, b in zip(warm[0], warm[1], strict=True)]
        result["warm_ratio"] = round(statistics.median(ratios), 3)
        result["warm_ratio_range"] = [round(min(ratios), 3), round(max(ratios), 3)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=["run", "tui"])
    parser.add_argument("--lesson", default="vanishing_sigmoid")
    parser.add_argument("--dtypes", nargs="+", default=["float64"])
    parser.add_argument(
        "--repeats", type=int, default=5, help="warm starts per case (median and range)"
    )
    parser.add_argument(
        "--baseline", metavar="PYTHON", help="another install's interpreter, paired with this one"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    if args.baseline is not None and not os.access(args.baseline, os.X_OK):
        parser.error(f"--baseline {args.baseline}: not an interpreter that can be run")
    repeats = max(1, args.repeats)
    result = {}
    for case in args.cases:
        title, code = CASES[case]
        title = title.format(lesson=args.lesson, dtypes=" ".join(args.dtypes))
        child_args = args.dtypes if case == "kernels" else [args.lesson]
        figures = result[case] = run_case(code, child_args, repeats, args.baseline)
        print(f"{title}: {_line(figures, repeats)}", flush=True)
        if args.baseline is not None:
            other = figures["baseline"]
            low, high = figures["warm_ratio_range"]
            print(f"  baseline ({args.baseline}): {_line(other, repeats)}")
            print(f"  warm, this / baseline in pairs: {figures['warm_ratio']:.3f} ({low}-{high})")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
