"""The debugger screen: model tree, tensor inspector, gradient flow, curves, lesson, event log.

Keys follow pudb: n next, s step into, o step out, c continue, f finish the pass, p pause,
[ and ] back and forward through history, b breakpoint on the highlighted layer, B the
breakpoint list, u/d move the inspection without running, 1-4 inspector tabs.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static, Tree

from nnsim.session import TABS, CommandError, Session, View

from ..widgets.charts import Curves, GradientFlow
from ..widgets.inspector import Inspector
from ..widgets.layout import (
    DEFAULT_PANE,
    PANES,
    SIZE_CLASSES,
    pane_bar,
    size_class,
    toggled,
    too_small,
)
from ..widgets.lesson import LessonPane
from ..widgets.model_tree import ModelTree
from ..widgets.status import StatusLine

RUNNING_COMMANDS = {
    "step",
    "step_into",
    "step_out",
    "finish_pass",
    "continue",
    "step_back",
    "step_forward",
    "rewind",
}


class MainScreen(Screen):
    BINDINGS = [
        Binding("n", "command('step')", "next"),
        Binding("s", "command('step_into')", "step into"),
        Binding("o", "command('step_out')", "step out"),
        Binding("c", "command('continue')", "continue"),
        Binding("f", "command('finish_pass')", "finish pass"),
        Binding("p", "pause", "pause"),
        Binding("left_square_bracket", "command('step_back')", "back"),
        Binding("right_square_bracket", "command('step_forward')", "forward"),
        Binding("b", "toggle_breakpoint", "breakpoint"),
        Binding("B", "breakpoints", "breakpoints", key_display="B"),
        Binding("u", "move(-1)", "up", show=False),
        Binding("d", "move(1)", "down", show=False),
        Binding("1", "tab('weights')", "weights", show=False),
        Binding("2", "tab('activations')", "activations", show=False),
        Binding("3", "tab('gradients')", "gradients", show=False),
        Binding("4", "tab('time')", "time steps", show=False),
        Binding("5", "tab('visual')", "visual", show=False),
        Binding("comma", "slice(-1)", "previous slice", show=False),
        Binding("full_stop", "slice(1)", "next slice", show=False),
        Binding("minus", "zoom(-1)", "zoom out", show=False),
        Binding("equals_sign", "zoom(1)", "zoom in", show=False),
        Binding("l", "toggle_pane('lesson')", "lesson"),
        Binding("g", "toggle_pane('flow')", "gradient flow", show=False),
    ]
    pane: str | None = None  # the pane chosen by l or g; None: the size class's first

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.running: str | None = None
        self.pause = threading.Event()  # set by `p`: the running command stops between ops

    def compose(self) -> ComposeResult:
        scenario = self.session.scenario
        yield StatusLine(id="status")
        yield Static(id="panes")  # the panes' keys, help and quit: always on screen
        yield Static(id="too-small")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield ModelTree(id="tree")
                yield GradientFlow(id="gradflow")
            with Vertical(id="centre"):
                yield Inspector(id="inspector")
                yield Curves(id="curves")
            yield LessonPane(scenario.title, scenario.text, id="lesson")
        yield RichLog(id="log", max_lines=500, wrap=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(RichLog).write(
            Text("n next · s step into · o step out · c continue · p pause · ? help", "dim")
        )
        self.refresh_view()

    def on_resize(self) -> None:
        self.apply_layout()
        self.refresh_view()

    def apply_layout(self) -> None:
        """Set the size class and the pane shown as CSS classes (see tui/widgets/layout.py)."""
        width, height = self.size
        size = size_class(width, height)
        self.set_class(width < 100 or height < 30, "compact")
        self.set_class(height < 30, "short")
        for name in SIZE_CLASSES:
            self.set_class(name == size, name)
        pane = self.pane or DEFAULT_PANE[size]
        for name in PANES:
            self.set_class(name == pane, f"pane-{name}")
        self.query_one("#panes", Static).update(pane_bar(size, pane, width))
        self.query_one("#too-small", Static).update(too_small(width, height))

    def action_toggle_pane(self, pane: str) -> None:
        """l: the lesson, g: the gradient flow; the same key again: the debugger."""
        size = size_class(*self.size)
        self.pane = toggled(self.pane or DEFAULT_PANE[size], pane, size)
        self.apply_layout()

    # ---------------------------------------------------------------- running commands

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return True if self.running == "continue" else None
        if self.running is not None and action in ("command", "toggle_breakpoint"):
            return None  # dimmed while the worker runs
        return True

    def action_command(self, command: str) -> None:
        if self.running is not None:
            return
        if command == "step_forward":
            command = "step"  # forward through history is the deterministic replay of a step
        self.running = command
        self.refresh_bindings()
        self.run_worker(lambda: self._work(command), thread=True, exclusive=True, group="sim")

    def _work(self, command: str) -> None:
        self.pause.clear()
        try:
            event = self.session.execute(
                command,
                should_stop=self.pause.is_set,
                report=lambda e: self.app.call_from_thread(self._progress, e),
            )
            self.app.call_from_thread(self._done, command, event, None)
        except (CommandError, ValueError, KeyError, LookupError) as err:
            self.app.call_from_thread(self._done, command, None, str(err))

    def _progress(self, event) -> None:
        if event is not None:
            self.query_one(RichLog).write(f"… iteration {event.iteration}")
        self.refresh_view()

    def _done(self, command: str, event, error: str | None) -> None:
        self.running = None
        log = self.query_one(RichLog)
        if error:
            log.write(Text(f"{command}: {error}", style="yellow"))
        elif event is not None:
            log.write(str(event))
            if event.stop is not None:
                self.app.notify(str(event.stop), title="stopped", severity="warning")
        self.refresh_bindings()
        self.refresh_view()

    def action_pause(self) -> None:
        self.pause.set()

    # ---------------------------------------------------------------- inspection (no running)

    def action_move(self, step: int) -> None:
        self.session.move_selection(step)
        self.refresh_view()

    def action_tab(self, tab: str) -> None:
        self.session.set_tab(tab)
        self.query_one(Inspector).slice_index = 0
        self.refresh_view()

    def action_slice(self, step: int) -> None:
        inspector = self.query_one(Inspector)
        if self.session.tab in ("weights", "gradients", "time", "visual"):
            self.session.index += step  # cycles W/b, the recurrent series, or the examples
        inspector.slice_index += step
        self.refresh_view()

    def action_zoom(self, step: int) -> None:
        inspector = self.query_one(Inspector)
        inspector.zoom = max(0, min(8, inspector.zoom + step))  # 0 fits the pane
        self.refresh_view()

    def show_visual(self, request) -> None:
        """Open the visual tab on ``request`` (a nnsim.session.Request)."""
        self.session.show_visual(request)
        self.query_one(Inspector).slice_index = 0
        self.refresh_view()

    def action_toggle_breakpoint(self) -> None:
        name = self.session.selected
        if name is None or self.running is not None:
            return
        on = self.session.toggle_breakpoint(name)
        self.app.notify(f"breakpoint {'set at' if on else 'removed from'} {name}")
        self.refresh_view()

    def action_breakpoints(self) -> None:
        from .breakpoints import BreakpointScreen

        self.app.push_screen(BreakpointScreen(self.session), lambda _: self.refresh_view())

    @on(Tree.NodeHighlighted)
    def _highlighted(self, message: Tree.NodeHighlighted) -> None:
        name = message.node.data
        if name and name != self.session.selected:
            self.session.select(name)
            self.refresh_view()

    # ---------------------------------------------------------------- drawing

    def refresh_view(self) -> None:
        session = self.session
        view = session.try_view()
        if view is None:
            return
        label = session.label if session.previous is not None else ""
        title = session.scenario.title
        self.query_one("#status", Static).update(_status(view, title, self.running, label))
        self.query_one(ModelTree).show(view, view.selected)
        self.query_one(Inspector).show(view, view.tab)
        self.query_one(GradientFlow).show(view, session.previous)
        self.query_one(Curves).show(view, session.previous)
        self.query_one(LessonPane).show(view)


def _status(view: View, title: str, running: str | None, label: str = "") -> Text:
    text = Text()
    text.append(f" {title} ", style="bold reverse")
    text.append(f"  iteration {view.iteration}/{view.total_iterations}")
    arrow = {"forward": "▶", "backward": "◀"}.get(view.phase, "•")
    where = f" {view.next_layer}" if view.next_layer else ""
    text.append(f"  next: {arrow} {view.phase}{where}")
    if view.depth:
        text.append(f" (depth {view.depth})")
    if view.loss == view.loss:  # not NaN
        text.append(f"  loss {view.loss:.4g}")
    if running:
        text.append(f"  running {running}…", style="bold yellow")
    elif view.stopped is not None:
        text.append(f"  stopped: {view.stopped}", style="bold red")
    text.append(f"  inspecting {view.selected} [{view.tab}]", style="dim")
    if label:
        text.append(f"  (what if: {label})", style="bold cyan")
    return text


__all__ = ["MainScreen", "TABS"]
