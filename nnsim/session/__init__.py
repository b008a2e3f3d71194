"""What front ends drive: a Session (commands in, immutable views out) and the headless run
of a lesson with its variants and judged expectations. Nothing here imports Textual.

    from nnsim.session import Session, run_lesson
    session = Session.open("vanishing_sigmoid")
    session.execute("continue")
    print(session.view().layers[0].verdict)
    print([r.passed for r in run_lesson(session.scenario).expectations])
"""

from ..layers.walk import Cell
from ..sim import ConditionError, Event
from ..sim.events import phase_arrow
from ..sim.gan import GanRun
from ..sim.registry import metric_rows, metric_table
from ..sim.surface import SurfaceRun
from .lesson import ExpectationResult, LessonRun, run_lesson, status_now
from .plots import sparkline
from .session import COMMANDS, GAME_COMMANDS, CommandError, Session
from .views import TABS, ExpectationStatus, LayerRow, Prediction, Tensor, View, statistics
from .visual import Request

__all__ = [
    "COMMANDS",
    "GAME_COMMANDS",
    "Cell",
    "CommandError",
    "ConditionError",
    "Event",
    "GanRun",
    "ExpectationResult",
    "ExpectationStatus",
    "LayerRow",
    "LessonRun",
    "Prediction",
    "metric_rows",
    "metric_table",
    "phase_arrow",
    "Request",
    "Session",
    "SurfaceRun",
    "TABS",
    "Tensor",
    "View",
    "run_lesson",
    "sparkline",
    "statistics",
    "status_now",
]
