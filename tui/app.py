"""The nnsim terminal interface: composes the screens; the work happens in the engine."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from nnsim.scenario import ScenarioError
from nnsim.session import CommandError, Request, Session

from .screens.ask import AskScreen
from .screens.gan import GanScreen
from .screens.help import HelpScreen
from .screens.loading import LoadingScreen
from .screens.main import MainScreen
from .screens.picker import PickerScreen
from .screens.surface import SurfaceScreen
from .widgets.inspector import Inspector

GAME_SCREENS = {"surface": SurfaceScreen, "gan": GanScreen}  # scenarios without one network

ACTIONS = [  # (palette title, help, action on the main screen)
    ("Next", "run the next micro-op (n)", "command('step')"),
    ("Step into", "enter a block or a recurrent layer's time steps (s)", "command('step_into')"),
    ("Step out", "finish the enclosing block or the current pass (o)", "command('step_out')"),
    ("Finish the pass", "finish the forward or backward pass (f)", "command('finish_pass')"),
    ("Continue", "run until a breakpoint, a NaN or the last iteration (c)", "command('continue')"),
    ("Pause", "pause a running continue (p)", "pause"),
    ("Step back", "undo the last micro-op by rewind and replay ([)", "command('step_back')"),
    ("Step forward", "redo the next micro-op (])", "command('step_forward')"),
    ("Rewind one iteration", "back to the start of the previous iteration", "command('rewind')"),
    ("Toggle breakpoint", "stop before the highlighted layer runs (b)", "toggle_breakpoint"),
    ("Breakpoints", "list, add, enable or delete breakpoint conditions (B)", "breakpoints"),
    ("Weights tab", "inspect the weights (1)", "tab('weights')"),
    ("Activations tab", "inspect the outputs (2)", "tab('activations')"),
    ("Gradients tab", "inspect the gradients (3)", "tab('gradients')"),
    ("Time steps tab", "inspect a recurrent layer's steps (4)", "tab('time')"),
    ("Visual tab", "occlusion maps and maximised inputs of a CNN (5)", "tab('visual')"),
    ("Inspect the layer above", "move the inspection up without running (u)", "move(-1)"),
    ("Inspect the layer below", "move the inspection down without running (d)", "move(1)"),
    ("Previous slice", "previous filter, channel, parameter or gate (,)", "slice(-1)"),
    ("Next slice", "next filter, channel, parameter or gate (.)", "slice(1)"),
    ("Zoom in", "enlarge the heatmap's cells (=)", "zoom(1)"),
    ("Zoom out", "shrink the heatmap's cells (-)", "zoom(-1)"),
]


class NnsimApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "nnsim"
    BINDINGS = [
        Binding("f1,question_mark", "help", "help"),
        Binding("ctrl+s", "screenshot_svg", "screenshot"),
        Binding("ctrl+q", "quit", "quit"),
    ]

    def __init__(self, scenario: str | Path | None = None, warm: bool = True) -> None:
        super().__init__()
        self.scenario_name = scenario
        self.warm = warm
        self.warmed: set[str] = set()  # the dtypes whose kernels are compiled or loaded
        self.lesson = None  # the scenario opened, whose variants the palette can compare

    def on_mount(self) -> None:
        if self.scenario_name is None:
            self.push_screen(PickerScreen(), self._open)
        else:
            self._open(str(self.scenario_name))

    def _open(self, name: str | None) -> None:
        if name is None:
            return
        try:
            session = Session.open(name)
            self.lesson = session.scenario
            if session.kind in GAME_SCREENS:
                self.push_screen(GAME_SCREENS[session.kind](session))
                return
        except ScenarioError as err:
            self.notify(str(err), title="cannot open the scenario", severity="error", timeout=20)
            if self.scenario_name is not None:
                self.exit(return_code=2, message=str(err))
            return
        main = MainScreen(session)
        dtype = session.dtype
        if self.warm and dtype not in self.warmed:
            self.warmed.add(dtype)  # later lessons of this dtype open at once
            self.push_screen(LoadingScreen((dtype,)), lambda _: self.push_screen(main))
        else:
            self.push_screen(main)

    # ---------------------------------------------------------------- what if

    WHAT_IF = {
        "lr": ("New learning rate:", "e.g. 0.01"),
        "optimizer": ("New optimiser (sgd, adagrad, rmsprop, adam):", "adam"),
        "activation": ("Replace an activation: OLD NEW", "sigmoid relu"),
        "init": ("New initialisation for every layer with weights:", "he_normal"),
        "maximise": ("Maximise which class (its number)?", "3"),
    }

    def action_what_if(self, kind: str) -> None:
        if not isinstance(self.screen, MainScreen):
            return
        prompt, placeholder = self.WHAT_IF[kind]
        self.push_screen(AskScreen(prompt, placeholder), lambda answer: self._what_if(kind, answer))

    def _what_if(self, kind: str, answer: str | None) -> None:
        if kind == "maximise":
            self._maximise_class(answer)
            return
        if answer is None:
            return
        session = self.screen.session
        try:
            if kind == "lr":
                following = session.what_if(lr=float(answer))
            elif kind == "optimizer":
                following = session.what_if(optimizer=answer)
            elif kind == "activation":
                old, new = answer.split()
                following = session.what_if(activation=(old, new))
            else:
                following = session.what_if(init=answer)
        except (ValueError, ScenarioError) as err:
            self.notify(str(err), title="what if", severity="error")
            return
        self._restart(following)

    def _maximise_class(self, answer: str | None) -> None:
        if answer is None or not isinstance(self.screen, MainScreen):
            return
        try:
            target = int(answer)
        except ValueError:
            self.notify(f"{answer!r} is not a class number", severity="error")
            return
        self.screen.show_visual(Request("class", target))

    def occlusion(self) -> None:
        if isinstance(self.screen, MainScreen):
            self.screen.show_visual(Request("occlusion"))

    def maximise_filter(self) -> None:
        if not isinstance(self.screen, MainScreen):
            return
        screen = self.screen
        name = screen.session.selected
        shape = screen.session.layer_output_shape(name)
        if not shape or len(shape) != 3:
            self.notify(
                f"highlight a layer with feature maps (C, H, W); {name} outputs {shape}",
                severity="error",
            )
            return
        # the activations tab cycles (example, channel) slices: its channel is index mod C
        channel = screen.query_one(Inspector).slice_index % shape[0]
        screen.show_visual(Request("filter", channel, name))

    def compare(self, variant: str | None) -> None:
        """Open one of the lesson's variants (None: the lesson itself); the current run stays
        on the curves, faint, for comparison."""
        screen = self.screen
        if not isinstance(screen, (SurfaceScreen, GanScreen, MainScreen)):
            return
        try:
            following = screen.session.variant(variant)
        except CommandError as err:
            self.notify(str(err), title="variant", severity="error")
            return
        if isinstance(screen, MainScreen):
            self._restart(following)
        else:
            self.switch_screen(type(screen)(following))

    def action_rerun(self) -> None:
        if isinstance(self.screen, MainScreen):
            self._restart(self.screen.session.rerun())

    def _restart(self, session: Session) -> None:
        """A new run from iteration 0 with the same seed; the old one is its overlay."""
        self.switch_screen(MainScreen(session))
        self.notify(f"re-running from iteration 0 with {session.label}", title="what if")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_screenshot_svg(self) -> None:
        path = self.save_screenshot()
        self.notify(f"saved {path}", title="screenshot")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "every key (F1)", self.action_help)
        yield SystemCommand(
            "Screenshot", "save an SVG of the screen (ctrl+s)", self.action_screenshot_svg
        )
        if isinstance(screen, (SurfaceScreen, GanScreen)):
            yield from self._variant_commands()
        if isinstance(screen, MainScreen):
            for title, help_text, action in ACTIONS:
                yield SystemCommand(title, help_text, lambda a=action: screen.run_action(a))
            for kind, (title, help_text) in {
                "lr": ("What if: learning rate", "re-run from 0 with another learning rate"),
                "optimizer": ("What if: optimiser", "re-run from 0 with another optimiser"),
                "activation": ("What if: activation", "replace one activation by another"),
                "init": ("What if: initialisation", "re-run with another weight init"),
            }.items():
                yield SystemCommand(title, help_text, lambda k=kind: self.action_what_if(k))
            yield SystemCommand(
                "Occlusion map",
                "CNN: which pixels of a validation digit its class depends on (visual tab)",
                self.occlusion,
            )
            yield SystemCommand(
                "Maximise a class",
                "CNN: gradient ascent on the input to excite one class (visual tab)",
                lambda: self.action_what_if("maximise"),
            )
            yield SystemCommand(
                "Maximise a filter",
                "CNN: the input exciting the highlighted conv layer's shown channel",
                self.maximise_filter,
            )
            yield from self._variant_commands()
            yield SystemCommand(
                "Re-run from iteration 0",
                "same seed; this run becomes the overlay",
                self.action_rerun,
            )

    def _variant_commands(self) -> Iterable[SystemCommand]:
        variants = getattr(self.lesson, "variants", None) or {}
        if variants:
            yield SystemCommand(
                "Variant: the lesson itself",
                "re-run the lesson as written; this run becomes the overlay",
                lambda: self.compare(None),
            )
        for name in variants:
            yield SystemCommand(
                f"Variant: {name}",
                f"{self.lesson.variant_titles.get(name, name)}; this run becomes the overlay",
                lambda n=name: self.compare(n),
            )


def run(scenario: str | None = None) -> int:
    """Start the interface (on the lesson picker without a scenario)."""
    app = NnsimApp(scenario)
    app.run()
    return app.return_code or 0
