"""CPU-seconds per `n` in the debugger, as a learner pays them: the app runs headless
(Textual's ``run_test``, in this process), opens a lesson, and presses `n` K times, each time
waiting until the command has finished and the screen has handled its messages. The figure is
``time.process_time`` (every thread: the worker stepping, the interface redrawing) over the K
presses, divided by K; ``worker`` is the part spent inside ``Session.execute`` on the worker
thread (``time.thread_time``), ``idle`` the CPU the harness's wait for the screen costs with no
key pressed (a floor it adds). Each lesson is measured ``--repeats`` times; the median
is printed, and the range.

    python benchmarks/per_key.py [--lessons xor_mlp vanishing_sigmoid digits_cnn]
                                 [--presses 60] [--repeats 3] [--size 120x40] [--profile]
                                 [--json]

Targets (issue 18): at most 0.03 CPU-s per `n` on an MLP lesson, 0.05 on the digits CNN.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import statistics
import time

TARGETS = {"xor_mlp": 0.03, "vanishing_sigmoid": 0.03, "digits_cnn": 0.05}
WARM_PRESSES = 8  # untimed: the first steps compile kernels and populate the widgets
POLL = 0.01  # seconds between checks that the command finished


async def _until(pilot, ready, what: str) -> None:
    # asyncio.sleep, not pilot.pause: a pilot's pause forces a whole-screen update each time
    for _ in range(60_000):
        if ready():
            return
        await asyncio.sleep(POLL)
    raise SystemExit(f"gave up waiting for {what}")


def finished_signal(screen) -> asyncio.Event:
    """An event set when the screen's worker posts CommandFinished: waiting on it costs no
    CPU, where polling for the end of a step cost about a fifth of the figure."""
    from nnsim.tui.messages import CommandFinished

    finished, loop = asyncio.Event(), asyncio.get_running_loop()
    post = screen.worker.post

    def posting(message):
        result = post(message)
        if isinstance(message, CommandFinished):
            loop.call_soon_threadsafe(finished.set)
        return result

    screen.worker.post = posting
    return finished


async def press_n(pilot, finished: asyncio.Event) -> None:
    """Press n; return once its command has finished and the screen has handled that."""
    finished.clear()
    await pilot.press("n")
    await asyncio.wait_for(finished.wait(), timeout=600)
    await pilot.pause()  # every message handled, the screen updated


async def measure(lesson: str, presses: int, size: tuple[int, int], profile: bool) -> dict:
    from nnsim.tui.app import NnsimApp
    from nnsim.tui.screens.main import MainScreen

    app = NnsimApp(lesson, warm=False)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, MainScreen), "the debugger")
        screen = app.screen
        finished = finished_signal(screen)
        for _ in range(WARM_PRESSES):
            await press_n(pilot, finished)

        worker = [0.0]
        execute = screen.session.execute

        def timed_execute(*args, **kwargs):
            start = time.thread_time()
            try:
                return execute(*args, **kwargs)
            finally:
                worker[0] += time.thread_time() - start

        screen.session.execute = timed_execute
        profiler = cProfile.Profile() if profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for _ in range(presses):
            await press_n(pilot, finished)
        if screen.session.sim.events[-1].index < WARM_PRESSES + presses:
            raise SystemExit("fewer micro-ops ran than keys were pressed")
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall

        # the harness's own cost: the same waiting for the screen, no key pressed
        idle_start = time.process_time()
        for _ in range(presses):
            await pilot.pause()
        idle = (time.process_time() - idle_start) / presses
        screen.session.execute = execute
    result = {
        "cpu_per_n": cpu / presses,
        "worker_per_n": worker[0] / presses,
        "idle_per_n": idle,
        "wall_per_n": wall / presses,
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        out.write("\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        out.write("\nthe project's own functions:\n")
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(r"(tui|nnsim)[/\\]", 30)
        result["profile"] = out.getvalue()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="+", default=list(TARGETS))
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--profile", action="store_true", help="cProfile the main thread")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    size = tuple(int(s) for s in args.size.split("x"))
    figures = {}
    for lesson in args.lessons:
        runs = [
            asyncio.run(measure(lesson, args.presses, size, args.profile and i == 0))
            for i in range(args.repeats)
        ]
        per_n = [r["cpu_per_n"] for r in runs]
        figures[lesson] = {
            "cpu_per_n_median": round(statistics.median(per_n), 4),
            "cpu_per_n_range": [round(min(per_n), 4), round(max(per_n), 4)],
            "worker_per_n": round(statistics.median(r["worker_per_n"] for r in runs), 4),
            "idle_per_n": round(statistics.median(r["idle_per_n"] for r in runs), 4),
            "target": TARGETS.get(lesson),
        }
        f = figures[lesson]
        target = f"target {f['target']}" if f["target"] is not None else "no target"
        verdict = (
            ""
            if f["target"] is None
            else (" ok" if f["cpu_per_n_median"] <= f["target"] else " OVER")
        )
        print(
            f"{lesson} at {args.size}: {f['cpu_per_n_median']:.4f} CPU-s per n "
            f"(range {f['cpu_per_n_range'][0]:.4f}-{f['cpu_per_n_range'][1]:.4f}, "
            f"{args.repeats} runs of {args.presses}; stepping {f['worker_per_n']:.4f}, "
            f"harness floor {f['idle_per_n']:.4f}) {target}{verdict}",
            flush=True,
        )
        if args.profile:
            print(runs[0]["profile"])
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
