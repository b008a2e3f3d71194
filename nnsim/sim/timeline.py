"""The run's past: snapshots at iteration boundaries and the micro-ops run since, so that any
earlier point can be restored and replayed deterministically (rewind, step back)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .events import Event
from .snapshots import Snapshot, SnapshotStore

if TYPE_CHECKING:
    from .stepper import Stepper


class Timeline:
    """Snapshots (``SnapshotStore``) and, per iteration still within reach of a step back, the
    primitives ("op" or "into") that ran in it."""

    def __init__(
        self,
        take: Callable[[], Snapshot],
        restore: Callable[[Snapshot], None],
        snapshot_every: int = 25,
        adopt: Callable[[Snapshot], bool] = lambda snapshot: False,
    ) -> None:
        self.take = take  # a snapshot of the whole run, now
        self.restore = restore  # put the whole run back to a snapshot
        # put the model and optimiser back to a snapshot the replay reached without bringing
        # them to it (an edit between commands); True when it did
        self.adopt = adopt
        self.snapshots = SnapshotStore(every=snapshot_every)
        self.histories: dict[int, list[str]] = {}  # by iteration (from 1)
        self.replaying = False  # replays neither stop at breakpoints nor report events

    def begin(self, completed: int, snapshot: bool) -> None:
        """An iteration starts after ``completed`` ones; snapshot it when ``snapshot`` or on
        the store's sparse grid (a long run keeps only those: a rewind replays from the
        nearest one)."""
        if snapshot or completed % self.snapshots.every == 0:
            self.snapshots.add(self.take())
        keep = completed - self.snapshots.recent
        for old in [k for k in self.histories if k <= keep]:  # usually one
            del self.histories[old]
        self.histories[completed + 1] = []

    def record(self, iteration: int, kind: str) -> None:
        self.histories[iteration].append(kind)

    def record_whole(self, iteration: int, ops: int) -> None:
        """An iteration that ran whole: ``ops`` micro-ops at the top level."""
        self.histories[iteration] = ["op"] * ops

    def rewind(self, stepper: Stepper, iterations: int) -> None:
        """Go back to the start of the iteration ``iterations`` before the current one."""
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        if iterations == 0 and not stepper.frames:
            # the start of the next iteration is now: what was written since the last
            # command (weights loaded, a value set) is kept, as the replay adopts it
            self.snapshots.add(self.take())
        self.replay_to(stepper, max(0, stepper.completed - iterations), [])

    def step_back(self, stepper: Stepper) -> None:
        """Undo the last micro-op: restore and replay up to the one before it."""
        current = stepper.completed + 1 if stepper.frames else stepper.completed
        history = self.histories.get(current)
        if not history:
            raise ValueError("nothing to step back to: this is the start of the run")
        self.replay_to(stepper, current - 1, history[:-1])

    def replay_to(self, stepper: Stepper, completed: int, partial: list[str]) -> None:
        """Restore a snapshot before boundary ``completed`` and replay to it, then replay the
        ``partial`` primitives of the next iteration."""
        snapshot = self.snapshots.at_or_before(max(0, completed - 1))
        # the snapshots the replay passes: each command snapshots the first boundary it
        # starts from, so whatever was written between commands (weights loaded, a value
        # set) is there and is adopted, never undone by the replay
        store = self.snapshots
        held = {
            c: s for c, s in {**store._sparse, **store._recent}.items() if snapshot.completed < c
        }
        histories = {k: list(v) for k, v in self.histories.items()}
        self.restore(snapshot)
        self.snapshots.drop_after(snapshot.completed)
        self.histories = {k: v for k, v in self.histories.items() if k <= snapshot.completed}
        self.replaying = True
        try:
            while stepper.completed < completed:
                stepper.next()
                if stepper.completed in held:
                    self.adopt(held[stepper.completed])
            if partial:
                stepper.begin_iteration()
                for kind in partial:
                    stepper.primitive(kind)
            self.histories.update({k: v for k, v in histories.items() if k < stepper.completed})
        finally:
            self.replaying = False
        stepper.forget_events_after(stepper.event_index)  # the undone future

    def find_nonfinite(self, stepper: Stepper) -> Event:
        """Replay the last iteration micro-op by micro-op up to its first non-finite value."""
        self.replay_to(stepper, stepper.completed - 1, [])
        event = stepper.primitive("op")
        while event.stop is None and stepper.frames:
            event = stepper.primitive("op")
        return event
