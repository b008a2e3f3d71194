"""CPU-seconds per `n` in the debugger, as a learner pays them: the app runs headless
(Textual's ``run_test``, in this process), opens a lesson, and presses `n` K times. Each key
reaches the app as a terminal's would (a Key event from the driver); the harness waits, without
using the CPU, until the command has finished and then for the screen to redraw on its own
timer (``--settle`` seconds). The figure is ``time.process_time`` (every thread: the worker
stepping, the interface redrawing) over the K presses, divided by K; ``worker`` is the part
spent inside ``Session.execute`` on the worker thread (``time.thread_time``), ``idle`` the CPU
the same waits cost with no key pressed (a floor the harness adds). Each lesson is measured
``--repeats`` times; the median is printed, and the range.

``--pilot`` presses and waits through Textual's Pilot instead, as this benchmark did until
7 December 2026. Pilot's press and pause each post a callback to every widget of the screen
and wait for all of them, and its pause then forces a screen update: together about 0.018
CPU-s a key on the debugger's 64 widgets (Zen 3; the floor printed counts the pause alone,
about 0.009), which a terminal never spends.

    python benchmarks/per_key.py [--lessons xor_mlp vanishing_sigmoid digits_cnn]
                                 [--presses 60] [--repeats 3] [--size 120x40] [--profile]
                                 [--settle 0.05] [--pilot] [--json]

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


class Keys:
    """Presses n and waits for its command and the redraw: as a terminal does (``settle``
    seconds of sleep for the redraw), or through Textual's Pilot (``settle`` None)."""

    def __init__(self, pilot, finished: asyncio.Event, settle: float | None) -> None:
        self.pilot, self.finished, self.settle = pilot, finished, settle

    async def press_n(self) -> None:
        self.finished.clear()
        if self.settle is None:
            await self.pilot.press("n")
        else:
            from textual import events

            self.pilot.app.post_message(events.Key("n", "n"))  # as the driver posts it
        await asyncio.wait_for(self.finished.wait(), timeout=600)
        await self.wait()

    async def wait(self) -> None:
        """Until the screen has handled every message and redrawn."""
        if self.settle is None:
            await self.pilot.pause()
        else:
            await asyncio.sleep(self.settle)


async def measure(
    lesson: str, presses: int, size: tuple[int, int], profile: bool, settle: float | None
) -> dict:
    from nnsim.tui.app import NnsimApp
    from nnsim.tui.screens.main import MainScreen

    app = NnsimApp(lesson, warm=False)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, MainScreen), "the debugger")
        screen = app.screen
        keys = Keys(pilot, finished_signal(screen), settle)
        for _ in range(WARM_PRESSES):
            await keys.press_n()

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
            await keys.press_n()
        if screen.session.sim.events[-1].index < WARM_PRESSES + presses:
            raise SystemExit("fewer micro-ops ran than keys were pressed")
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall

        # the harness's own cost: the same waiting for the screen, no key pressed
        idle_start = time.process_time()
        for _ in range(presses):
            await keys.wait()
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
    parser.add_argument(
        "--settle", type=float, default=0.05, help="seconds to wait for the redraw after a step"
    )
    parser.add_argument(
        "--pilot", action="store_true", help="press and wait through Textual's Pilot (before)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    size = tuple(int(s) for s in args.size.split("x"))
    figures = {}
    for lesson in args.lessons:
        runs = [
            asyncio.run(
                measure(
                    lesson,
                    args.presses,
                    size,
                    args.profile and i == 0,
                    None if args.pilot else args.settle,
                )
            )
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
            f"harness floor {f['idle_per_n']:.4f}{', through Pilot' if args.pilot else ''}) "
            f"{target}{verdict}",
            flush=True,
        )
        if args.profile:
            print(runs[0]["profile"])
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
