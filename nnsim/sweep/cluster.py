"""A sweep on a Dask distributed cluster (the optional extra ``nnsim[cluster]``): one Dask
task per grid point, ``run_task`` on the scenario's text and the point's parameters, results
gathered as they complete. A worker that dies loses only the tasks it held: the scheduler
runs them again elsewhere (``retries`` covers a task that raised, as a worker killed by the
system can make it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from .local import OnResult
from .runner import SweepTask, run_task

#: how many times a task that failed runs again
RETRIES = 2
#: seconds to wait for the scheduler to answer
CONNECT_TIMEOUT = 10

MISSING = (
    "--scheduler needs Dask's distributed scheduler, which is not installed: "
    "pip install 'nnsim[cluster]' (or pip install 'dask[distributed]>=2024.1')"
)


class ClusterError(OSError):
    """The scheduler cannot be reached, or Dask is missing: the message says which."""


def distributed():
    try:
        import distributed as dask_distributed
    except ImportError:
        raise ClusterError(MISSING) from None
    return dask_distributed


def run_on_cluster(
    tasks: Sequence[SweepTask], address: str, on_result: OnResult | None = None
) -> list[list]:
    """Each task's rows in the tasks' order; Ctrl-C cancels the tasks not yet done."""
    dask = distributed()
    try:
        client = dask.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {err}") from None
    sweep = uuid.uuid4().hex[:12]  # keys of another sweep on the same scheduler never collide
    results: list = [None] * len(tasks)
    try:
        futures = [
            client.submit(
                run_task, task, key=f"nnsim-sweep-{sweep}-{i}", retries=RETRIES, pure=False
            )
            for i, task in enumerate(tasks)
        ]
        where = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in dask.as_completed(futures, loop=client.loop):
                i = where[future.key]
                results[i] = future.result()
                if on_result is not None:
                    on_result(i, results[i])
        except BaseException:
            client.cancel(futures, force=True)
            raise
    finally:
        client.close()
    return results
