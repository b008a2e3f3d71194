"""A sweep on this machine: a pool of worker processes (forkserver where the platform has it,
else spawn: never a plain fork of a process that may hold threads), one BLAS thread each (each
imports nnsim, which applies NNSIM_THREADS, default 1)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from .runner import SweepTask, quiet_worker, run_task

OnResult = Callable[[int, list], None]

LOST = (
    "a worker process ended abruptly (killed, or out of memory?) after {n} grid point(s) "
    "had finished; the sweep stopped. On a Dask cluster (--scheduler) a run whose worker "
    "dies runs again on another."
)


class WorkerLost(OSError):
    """A local worker died (the system killed it, or it ran out of memory)."""


def default_workers(tasks: int) -> int:
    """One worker per core, never more than there are tasks."""
    return max(1, min(os.cpu_count() or 1, tasks))


def _context():
    """forkserver: workers fork from a small server that imported nnsim once (the slow part
    of a start), instead of each importing it again as spawn would."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["nnsim.sweep.runner"])
        return context
    return multiprocessing.get_context("spawn")


def run_local(
    tasks: Sequence[SweepTask], workers: int | None = None, on_result: OnResult | None = None
) -> list[list]:
    """Each task's rows, in the tasks' order whatever the order they finish in. Ctrl-C
    (KeyboardInterrupt) cancels what has not started, ends the workers and is raised again."""
    results: list = [None] * len(tasks)
    pool = ProcessPoolExecutor(
        max_workers=workers or default_workers(len(tasks)),
        mp_context=_context(),
        initializer=quiet_worker,
    )
    try:
        with _sigint_held():
            pending = {pool.submit(run_task, task): i for i, task in enumerate(tasks)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                try:
                    results[i] = future.result()
                except BrokenProcessPool:
                    raise WorkerLost(LOST.format(n=sum(r is not None for r in results))) from None
                if on_result is not None:
                    on_result(i, results[i])
    except BaseException:
        _end(pool)
        raise
    pool.shutdown(wait=True)
    return results


def _end(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued tasks and end the workers now, the running ones included."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Ctrl-C held back while the workers start (submitting starts them, and the forkserver
    with the first), then raised: a worker half made when the sweep ends would print a
    traceback. The processes started meanwhile inherit the blocked signal and never see
    Ctrl-C; this process notes it (any of its threads may receive it) and raises it after."""
    heard: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda number, frame: heard.append(number))
    except ValueError:  # not the main thread: Ctrl-C is not this thread's to handle
        yield
        return
    mask = getattr(signal, "pthread_sigmask", None)  # POSIX only
    held = mask(signal.SIG_BLOCK, {signal.SIGINT}) if mask is not None else None
    try:
        yield
    finally:
        if mask is not None:
            mask(signal.SIG_SETMASK, held)
        signal.signal(signal.SIGINT, previous)
    if heard:
        raise KeyboardInterrupt
