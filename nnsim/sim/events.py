"""What the simulator reports after each micro-op: an Event, and a Stop when it halts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

PHASES = ("batch", "forward", "loss", "backward", "clip", "update")


def phase_arrow(phase: str) -> str:
    """The mark of a phase in the event log and the status line: ▶ forward, ◀ backward, • else."""
    return {"forward": "▶", "backward": "◀"}.get(phase, "•")


@dataclass(frozen=True)
class Stop:
    """Why a run halted: a breakpoint's condition became true, or a value became NaN or inf."""

    reason: str  # "breakpoint", "nonfinite" or "early_stopping"
    iteration: int
    phase: str
    layer: str | None
    condition: str | None = None  # the breakpoint's condition
    detail: str = ""  # for nonfinite: which array, how many NaN and inf

    def as_dict(self) -> dict:
        return {
            "reason": self.reason,
            "condition": self.condition,
            "iteration": self.iteration,
            "phase": self.phase,
            "layer": self.layer,
        }

    def __str__(self) -> str:
        where = f"iteration {self.iteration}, {self.phase}" + (
            f" of {self.layer}" if self.layer else ""
        )
        if self.reason == "breakpoint":
            return f"breakpoint {self.condition!r} at {where}"
        if self.reason == "early_stopping":
            return f"early stopping after {where}: {self.detail}"
        return f"non-finite value at {where}: {self.detail}"


class Event(NamedTuple):
    """One micro-op done (a NamedTuple: the simulator makes one per micro-op, so it is cheap).

    ``what`` says what ran: "layer" (a layer or block computed whole), "enter" (stepped into a
    block or recurrent layer; nothing computed yet), "op" (a block's or recurrent layer's own
    piece of work, ``label`` says which; ``t`` is the 1-based time step), or the phase's own
    work ("batch", "loss", "clip", "update"). ``changed`` names the arrays it wrote, such as
    "conv1.output" or "conv1.grads". ``depth`` is 0 at the top level of the model.
    """

    index: int
    iteration: int
    phase: str
    layer: str | None
    what: str
    label: str
    depth: int
    t: int | None = None
    changed: tuple[str, ...] = ()
    stop: Stop | None = None

    def __str__(self) -> str:
        arrow = phase_arrow(self.phase)
        where = f" {self.layer}" if self.layer else ""
        step = f" t={self.t}" if self.t is not None else ""
        text = f"#{self.index} it {self.iteration} {arrow} {self.phase}{where}{step}: {self.label}"
        return text + (f"  [stopped: {self.stop}]" if self.stop else "")
