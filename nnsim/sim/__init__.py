"""The step-through simulator: micro-ops, events, breakpoints, diagnostics, trace, rewind."""

from .conditions import Condition, ConditionError, parse
from .diagnostics import METRICS, VERDICTS, Thresholds
from .events import PHASES, Event, Stop
from .simulator import Breakpoint, Simulator
from .trace import Trace

__all__ = [
    "Breakpoint",
    "Condition",
    "ConditionError",
    "Event",
    "METRICS",
    "parse",
    "PHASES",
    "Simulator",
    "Stop",
    "Thresholds",
    "Trace",
    "VERDICTS",
]
