"""The debugger screen: model tree, tensor inspector, gradient flow, curves, lesson, event log.

Keys follow pudb: n next, s step into, o step out, c continue, f finish the pass, p pause,
[ and ] back and forward through history, b breakpoint on the highlighted layer, B the
breakpoint list, u/d move the inspection without running, 1-4 inspector tabs.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import RichLog, Static, Tree

from nnsim.i18n import _
from nnsim.session import TABS, Session, View

from ..commands import DEBUGGER, bindings, retranslate_bindings
from ..messages import CommandFinished, CommandProgress, CommandStarted, WorkerIdle
from ..widgets.activation_std import ActivationStdPane
from ..widgets.charts import Curves, GradientFlow
from ..widgets.event_log import EventLog, event_line
from ..widgets.footer import KeyFooter
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
from ..widgets.status import StatusLine, command_word, status_text
from ..worker import SessionWorker

RUNNING_SHOWN_AFTER = 0.15  # seconds a command runs before the screen says it runs


class MainScreen(Screen):
    """The debugger on one Session; its commands run in the session's worker, in order."""

    BINDINGS = bindings(DEBUGGER)
    pane: str | None = None  # the pane chosen by l or g; None: the size class's first

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.worker = SessionWorker(session, self.post_message, self._start_thread)
        self._last_view: View | None = None  # for the status line while a command runs
        self._footer_busy = False  # the worker's state the footer's keys were last drawn for
        self._idle = False  # drawing after the last queued command finished
        self._figures = None  # the map, f and f', the std line: kept while a command runs
        self._panes_ready = False  # see _panes_mounted
        self._view_deferred = False

    def _start_thread(self, loop) -> None:
        self.run_worker(loop, thread=True, group="session", exit_on_error=False)

    def compose(self) -> ComposeResult:
        # the classes for the terminal's size before the widgets are first styled: the resize
        # that follows finds them set, and the screen is not styled twice. Not where they hide
        # the model tree (narrow, tiny): Textual focuses it first, and hidden from the start it
        # would keep the focus unseen; hidden on resize, it gives the focus up
        if size_class(*self.app.size) in ("wide", "medium"):
            self._set_layout_classes(*self.app.size)
        scenario = self.session.scenario
        yield StatusLine(id="status")
        yield Static(id="panes")  # the panes' keys, help and quit: always on screen
        yield Static(id="too-small")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield ModelTree(id="tree")
                yield GradientFlow(id="gradflow")
                yield ActivationStdPane(id="actstd")
            with Vertical(id="centre"):
                yield Inspector(id="inspector")
                yield Curves(id="curves")
            yield LessonPane(scenario.lesson, id="lesson")
        yield EventLog(id="log", max_lines=500, wrap=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        retranslate_bindings(self)  # the bindings in the language chosen now
        self.query_one(RichLog).write(
            Text(_("n next · s step into · o step out · c continue · p pause · ? help"), "dim")
        )
        self.refresh_view()

    def on_resize(self) -> None:
        self.apply_layout()
        self.refresh_view()

    def _set_layout_classes(self, width: int, height: int) -> bool:
        """The size class and the pane shown as CSS classes (see tui/widgets/layout.py), set
        without restyling: True if any changed. Why: each restyle of this screen's hundred-odd
        widgets costs about 20 ms, and setting the classes one by one restyled it for each."""
        size = size_class(width, height)
        pane = self.pane or DEFAULT_PANE[size]
        wanted = {
            "compact": width < 100 or height < 30,
            "short": height < 30,
            **{name: name == size for name in SIZE_CLASSES},
            **{f"pane-{name}": name == pane for name in PANES},
        }
        changed = [name for name, on in wanted.items() if self.has_class(name) != on]
        for name in changed:
            self.set_class(wanted[name], name, update=False)
        return bool(changed)

    def apply_layout(self) -> None:
        """Set the size class and the pane shown (one restyle, none if they are unchanged)."""
        width, height = self.size
        if self._set_layout_classes(width, height):
            self.update_node_styles()
        size = size_class(width, height)
        pane = self.pane or DEFAULT_PANE[size]
        self.query_one("#panes", Static).update(pane_bar(size, pane, width))
        self.query_one("#too-small", Static).update(too_small(width, height))
        # under the gradient flow; at 80 columns under the model tree (the flow pane is full)
        self.query_one("#actstd").display = size != "narrow" or pane == "debugger"

    def action_toggle_pane(self, pane: str) -> None:
        """l: the lesson, g: the gradient flow; the same key again: the debugger."""
        size = size_class(*self.size)
        self.pane = toggled(self.pane or DEFAULT_PANE[size], pane, size)
        self.apply_layout()

    # ---------------------------------------------------------------- running commands

    def on_unmount(self) -> None:
        self.worker.cancel()  # replaced by a re-run, a what-if, a variant or the picker

    @property
    def running(self) -> str | None:
        """The command the worker runs (or is about to), None when idle."""
        if not self.worker.busy:
            return None
        return self.worker.running or "starting"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # the footer answers for the state it was last told of (_footer_busy), not the worker's
        # flag at the moment it happens to redraw: that flag can still be set for an instant
        # after the last command's message, and the redraw would then stay busy
        if action == "pause":
            return True if self._footer_busy else None
        if self._footer_busy and action == "toggle_breakpoint":
            return None  # dimmed while the worker runs
        return True

    def action_command(self, command: str) -> None:
        if command == "step_forward":
            command = "step"  # forward through history is the deterministic replay of a step
        self.worker.submit(command)
        self._show_running()

    def _show_running(self) -> None:
        """Say on screen that a command runs (the status, and p in the footer) once it has run
        RUNNING_SHOWN_AFTER: a step that ends sooner would only flash them, and each flash
        lays the screen out twice (the footer remounts its keys), most of what a key cost."""
        if not self.worker.busy:
            return
        if self._footer_busy:  # shown already: the command or the queue changed
            self._show_status()
        else:
            self.set_timer(RUNNING_SHOWN_AFTER, self._running_for_a_while)

    def _running_for_a_while(self) -> None:
        if self.worker.busy:
            self._refresh_bindings()
            self._show_status()

    def _refresh_bindings(self, busy: bool | None = None) -> None:
        """refresh_bindings when what check_action answers (whether the worker runs,
        ``busy``) changed since the footer was last drawn."""
        busy = self.worker.busy if busy is None else busy
        if busy != self._footer_busy:
            self._footer_busy = busy
            self.refresh_bindings()

    def on_command_started(self, message: CommandStarted) -> None:
        self._show_running()

    def on_command_progress(self, message: CommandProgress) -> None:
        if message.event is not None:
            progress = _("… iteration {n}").format(n=message.event.iteration)
            self.query_one(RichLog).write(progress)
        self.refresh_view()

    def on_command_finished(self, message: CommandFinished) -> None:
        log = self.query_one(RichLog)
        if message.error:
            command = command_word(message.command)
            log.write(Text(f"{command}: {message.error}", style="yellow"))
            self.app.notify(message.error, title=command, severity="warning")
        elif message.undone is not None:
            log.write(Text(_("undid {op}").format(op=message.undone), style="cyan"))
        elif message.event is not None:
            log.write(event_line(message.event))
            if message.event.stop is not None:
                stopped = _("stopped")
                self.app.notify(str(message.event.stop), title=stopped, severity="warning")
        if message.cancelled and message.command == "continue":
            log.write(Text(_("paused"), style="cyan"))
        # nothing queued behind it: the worker is done, though its thread may not have said so
        self._idle = not message.queued
        self._refresh_bindings(False if self._idle else None)
        self.refresh_view()
        self._idle = False

    def on_worker_idle(self, message: WorkerIdle) -> None:
        # the one moment the worker is surely idle: the footer and status may have been drawn
        # busy by a timer that fired between the last command's end and the thread's
        self._refresh_bindings(False)
        self._show_status()

    def action_pause(self) -> None:
        dropped = self.worker.pause()
        if dropped:
            said = _("paused; {n} queued key(s) dropped").format(n=dropped)
            self.query_one(RichLog).write(Text(said, "cyan"))

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
        if self.session.tab in ("weights", "gradients", "time", "visual", "map"):
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
        if name is None or self.worker.busy:
            return
        on = self.session.toggle_breakpoint(name)
        said = _("breakpoint set at {layer}") if on else _("breakpoint removed from {layer}")
        self.app.notify(said.format(layer=name))
        self.refresh_view()

    def action_breakpoints(self) -> None:
        from .breakpoints import BreakpointScreen

        self.app.push_screen(BreakpointScreen(self.session), lambda _result: self.refresh_view())

    @on(Tree.NodeHighlighted)
    def _highlighted(self, message: Tree.NodeHighlighted) -> None:
        name = message.node.data
        if name and name != self.session.selected:
            self.session.select(name)
            self.refresh_view()

    # ---------------------------------------------------------------- drawing

    def _show_status(self, view: View | None = None) -> None:
        view = view or self._last_view
        if view is None:
            return
        label = self.session.label if self.session.previous is not None else ""
        running = None if self._idle else self.worker.running
        queued = self.worker.queued if running else 0
        status = status_text(view, str(self.session.scenario.title), running, label, queued)
        self.query_one("#status", Static).update(status)

    def _panes_mounted(self) -> bool:
        """Whether the panes made of several widgets have all of theirs. Textual mounts a
        screen's widgets, and theirs, before the screen's Mount, yet twice, under load in the
        full test suite, the screen's first view found the inspector without its children
        (NoMatches on '#tabs'), the second time with the inspector itself counted as mounted:
        so a pane counts once it has its children, and a view asked for before is drawn a
        moment later instead."""
        if not self._panes_ready:
            panes = (self.query_one(Inspector), self.query_one(GradientFlow))
            panes += (self.query_one(LessonPane),)
            self._panes_ready = all(p.is_mounted and len(p.children) > 0 for p in panes)
        return self._panes_ready

    def _deferred_view(self) -> None:
        self._view_deferred = False
        self.refresh_view()

    def refresh_view(self) -> None:
        if not self._panes_mounted():
            if not self._view_deferred:
                self._view_deferred = True
                self.set_timer(0.02, self._deferred_view)
            return
        session = self.session
        view = session.try_view()
        if view is None:
            return
        self._last_view = view
        self._show_status(view)
        self.query_one(ModelTree).show(view, view.selected)
        figures = session.try_figures()  # None while a command holds the session: kept
        self._figures = figures or self._figures
        inspector_figure = self._figures.inspector if self._figures else None
        self.query_one(Inspector).show(view, view.tab, inspector_figure)
        self.query_one(ActivationStdPane).show(self._figures.depth if self._figures else None)
        self.query_one(GradientFlow).show(view, session.previous)
        self.query_one(Curves).show(view, session.previous)
        self.query_one(LessonPane).show(view)


__all__ = ["MainScreen", "TABS"]
