"""Snapshots of everything a training run changes, taken at iteration boundaries.

A snapshot copies the model's parameters and running statistics, the optimiser's state, every
random generator (data order, dropout masks) and the simulator's own counters. Restoring one and
replaying is how the simulator rewinds: the replay is deterministic, so it arrives at exactly
the values of the first pass.

The store keeps the last few boundaries (for stepping back) and every ``every``-th one; when
there are more than ``max_sparse`` of those, it keeps every other one and doubles ``every``,
so memory stays bounded on long runs while any point stays a short replay away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model import Sequential
from ..optim import Optimizer


@dataclass
class Snapshot:
    completed: int  # iterations completed at this boundary
    params: dict[str, np.ndarray]
    running: dict[str, np.ndarray]
    optimizer_state: dict[str, dict[str, np.ndarray]]
    optimizer_steps: int
    noise: dict[str, dict]
    stream: dict
    counters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def take(
        cls,
        completed: int,
        model: Sequential,
        optimizer: Optimizer,
        stream_state: dict,
        counters: dict[str, Any],
    ) -> Snapshot:
        return cls(
            completed,
            {k: v.copy() for k, v in model.parameters().items()},
            {k: v.copy() for k, v in model.buffers().items()},
            {k: {s: a.copy() for s, a in st.items()} for k, st in optimizer.state.items()},
            optimizer.steps,
            # a generator's .state is a fresh dict on every read, and setting it copies in
            {layer.name: layer.noise.bit_generator.state for layer in model.walk() if layer.random},
            stream_state,
            dict(counters),  # numbers and flags
        )

    def restore(self, model: Sequential, optimizer: Optimizer) -> None:
        """Put the model and the optimiser back; the caller restores the stream and counters."""
        for key, target in model.parameters().items():
            target[...] = self.params[key]
        for key, target in model.buffers().items():
            target[...] = self.running[key]
        optimizer.state = {
            k: {s: a.copy() for s, a in st.items()} for k, st in self.optimizer_state.items()
        }
        optimizer.steps = self.optimizer_steps
        for layer in model.walk():
            if layer.name in self.noise:
                layer.noise.bit_generator.state = self.noise[layer.name]

    @property
    def nbytes(self) -> int:
        arrays = [*self.params.values(), *self.running.values()]
        arrays += [a for st in self.optimizer_state.values() for a in st.values()]
        return sum(a.nbytes for a in arrays)


class SnapshotStore:
    """Snapshots by completed-iteration count: the recent ones and a thinned sparse set."""

    def __init__(self, every: int = 25, recent: int = 3, max_sparse: int = 32) -> None:
        if every < 1 or recent < 2 or max_sparse < 2:
            raise ValueError("snapshot spacing must be >= 1, recent >= 2 and max_sparse >= 2")
        self.every, self.recent, self.max_sparse = every, recent, max_sparse
        self._recent: dict[int, Snapshot] = {}
        self._sparse: dict[int, Snapshot] = {}

    def add(self, snapshot: Snapshot) -> None:
        c = snapshot.completed
        self._recent[c] = snapshot
        for old in sorted(self._recent)[: -self.recent]:
            del self._recent[old]
        if c % self.every == 0:
            self._sparse[c] = snapshot
            if len(self._sparse) > self.max_sparse:
                self.every *= 2
                self._sparse = {k: v for k, v in self._sparse.items() if k % self.every == 0}

    def at_or_before(self, completed: int) -> Snapshot:
        """The latest snapshot with at most ``completed`` iterations done."""
        candidates = [k for k in (*self._recent, *self._sparse) if k <= completed]
        if not candidates:
            raise LookupError(f"no snapshot at or before iteration boundary {completed}")
        best = max(candidates)
        return self._recent.get(best) or self._sparse[best]

    def drop_after(self, completed: int) -> None:
        """Forget the snapshots of a future that a rewind has undone."""
        self._recent = {k: v for k, v in self._recent.items() if k <= completed}
        self._sparse = {k: v for k, v in self._sparse.items() if k <= completed}

    @property
    def nbytes(self) -> int:
        unique = {id(s): s for s in (*self._recent.values(), *self._sparse.values())}
        return sum(s.nbytes for s in unique.values())
