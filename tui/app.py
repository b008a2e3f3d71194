"""The nnsim terminal interface: installs and routes screens; the work happens in the
Session (nnsim.session), driven by each screen's worker."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.command import CommandPalette
from textual.screen import Screen
from textual.worker import WorkerFailed

from nnsim.i18n import LANGUAGE_NAMES, N_, _, language, set_language
from nnsim.scenario import ScenarioError
from nnsim.session import CommandError, Request, Session
from nnsim.warmup import Plan, load_cached, plan_for, remember

from . import cjk
from .commands import APP, DEBUGGER, GAME, WHAT_IF, bindings, palette_title, retranslate_bindings
from .launch import pause, release, resume, settle
from .screens.gan import GanScreen
from .screens.loading import LoadingScreen
from .screens.main import MainScreen
from .screens.opening import OpeningScreen
from .screens.picker import PickerScreen
from .screens.surface import SurfaceScreen
from .what_if import QUESTIONS, changed_session
from .widgets.inspector import Inspector
from .widgets.lesson import LessonPane

cjk.install()

GAME_SCREENS = {"surface": SurfaceScreen, "gan": GanScreen}  # scenarios without one network
SVG_FONTS = "font-family: Fira Code, monospace;"  # Rich's SVG export names these
CJK_SVG_FONTS = (
    "font-family: Fira Code, 'Noto Sans Mono CJK SC', 'Noto Sans CJK SC', 'Source Han Mono SC', "
    "'WenQuanYi Zen Hei Mono', 'Microsoft YaHei Mono', 'PingFang SC', monospace;"
)
SCREENSHOTS = Path("~/nnsim-screenshots")  # where ctrl+s saves, unless --screenshots DIR


class NnsimApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "nnsim"
    BINDINGS = bindings(APP, priority=True)

    def __init__(
        self,
        scenario: str | Path | None = None,
        warm: bool = True,
        screenshots: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.scenario_name = scenario
        self.warm = warm
        self.warmed: set[str] = set()  # kernels compiled or loaded: "linear (float64)"
        self.lessons_shown = 0
        self.show_checks = False  # each promise's condition under it (palette)
        self.screenshots = Path(screenshots or os.environ.get("NNSIM_SCREENSHOTS") or SCREENSHOTS)

    def on_mount(self) -> None:
        retranslate_bindings(self)  # made when the class was, perhaps in another language
        if self.scenario_name is None:
            self.push_screen(PickerScreen(), self._open)
        else:
            name = self.scenario_name  # a ModelLesson (--model, --data) is opened by calling it
            self._open(name if callable(name) else str(name))

    def on_unmount(self) -> None:
        resume()  # quit while the first lesson was opening: the collector was still paused

    # ---------------------------------------------------------------- opening lessons

    def _open(self, name: str | None) -> None:
        if name is not None:
            if not self.lessons_shown:
                pause()  # until the lesson is settled (see _show_lesson)
            self.push_screen(OpeningScreen(name, self._load_cached_kernels), self._opened)

    def _load_cached_kernels(self, session: Session) -> None:
        """In the opening screen's worker: the lesson's kernels if a loading screen made all their
        calls before (nnsim.warmup.cached): loaded from Numba's cache, no loading screen."""
        plan = plan_for(session)
        if self.warm and load_cached(plan):
            self.warmed |= set(plan.labels())

    def _opened(self, outcome: Session | str) -> None:
        if isinstance(outcome, str):
            resume()
            title = _("cannot open the scenario")
            self.notify(outcome, title=title, severity="error", timeout=20)
            if self.scenario_name is not None and len(self.screen_stack) <= 1:
                self.exit(return_code=2, message=outcome)
            elif not isinstance(self.screen, PickerScreen):
                self.push_screen(PickerScreen(), self._open)
            return
        screen = GAME_SCREENS.get(outcome.kind, MainScreen)(outcome)
        plan = plan_for(outcome)
        needed = {label for label in plan.labels() if label not in self.warmed}
        if self.warm and needed:
            self.warmed |= needed  # a later lesson with the same kernels opens at once
            resume()  # the kernels compile
            loading = LoadingScreen(plan.dtypes, plan)
            self.push_screen(loading, lambda _: self._show_lesson(screen, plan))
        else:
            self._show_lesson(screen)

    def _show_lesson(self, screen: Screen, warmed: Plan | None = None) -> None:
        """Show an opened lesson, its kernels loaded (``warmed``: by a loading screen, recorded);
        the first one frozen now and once drawn, handed back when left (see tui/launch.py)."""
        if warmed is not None:
            remember(warmed)
        self.push_screen(screen)
        if not self.lessons_shown:
            settle(resume=False)  # the collector resumes once the screen is drawn
            self.call_after_refresh(settle)
        self.lessons_shown += 1

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "lessons" and isinstance(self.screen, PickerScreen):
            return False  # already there: not offered
        return True

    def action_lessons(self) -> None:
        """Back to the lesson picker (the open run's worker is cancelled with its screen)."""
        if isinstance(self.screen, PickerScreen):
            return
        release()  # the lesson left may have been frozen with it (see _show_lesson)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(PickerScreen(), self._open)

    # ---------------------------------------------------------------- what if

    def action_what_if(self, kind: str) -> None:
        if not isinstance(self.screen, MainScreen):
            return
        question, example = (_(text) for text in QUESTIONS[kind])
        session = self.screen.session
        current = {
            "lr": f"{session.scenario.build_optimizer().lr:g}",
            "optimizer": session.scenario.build_optimizer().name,
        }.get(kind, "")
        made: list[Session] = []

        def check(answer: str) -> str | None:
            """Build the new run now: a mistake keeps the prompt open with its reason."""
            if kind == "maximise":
                return (
                    None
                    if answer.isdigit()
                    else _("{answer} is not a class number").format(answer=repr(answer))
                )
            try:
                made[:] = [changed_session(session, kind, answer)]
            except (ValueError, ScenarioError) as err:
                return str(err)
            return None

        def answered(answer: str | None) -> None:
            if answer is None or not isinstance(self.screen, MainScreen):
                return
            if kind == "maximise":
                self.screen.show_visual(Request("class", int(answer)))
            elif made:
                self._restart(made[0])

        from .screens.ask import AskScreen  # imported when first asked: a faster start

        self.push_screen(AskScreen(question, example, current, check), answered)

    def action_occlusion(self) -> None:
        if isinstance(self.screen, MainScreen):
            self.screen.show_visual(Request("occlusion"))

    def action_maximise_filter(self) -> None:
        if not isinstance(self.screen, MainScreen):
            return
        screen = self.screen
        name = screen.session.selected
        shape = screen.session.layer_output_shape(name)
        if not shape or len(shape) != 3:
            self.notify(
                _("highlight a layer with feature maps (C, H, W); {name} outputs {shape}").format(
                    name=name, shape=shape
                ),
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
            self.notify(str(err), title=_("variant"), severity="error")
            return
        if isinstance(screen, MainScreen):
            self._restart(following)
        else:
            release()
            self.switch_screen(type(screen)(following))

    def action_rerun(self) -> None:
        if isinstance(self.screen, MainScreen):
            self._restart(self.screen.session.rerun())

    def _restart(self, session: Session) -> None:
        """A new run from iteration 0 with the same seed; the old one is its overlay."""
        release()  # the screen replaced may have been frozen with its lesson (see _show_lesson)
        self.switch_screen(MainScreen(session))
        self.notify(
            _("re-running from iteration 0 with {label}").format(label=session.label),
            title=_("what if"),
        )

    # ---------------------------------------------------------------- app commands

    def action_help(self) -> None:
        from .screens.help import HelpScreen  # with Rich's Markdown: imported when first asked

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """Textual's SVG with CJK fonts after Fira Code: a Chinese screen drawn by a viewer
        without them would show boxes, or glyphs of another width."""
        svg = super().export_screenshot(title=title, simplify=simplify)
        return svg.replace(SVG_FONTS, CJK_SVG_FONTS)

    def action_pytorch(self) -> None:
        from .screens.pytorch import PyTorchScreen  # imported when first asked

        session = getattr(self.screen, "session", None)
        if session is None or isinstance(self.screen, PyTorchScreen):
            return
        lesson = session.scenario.lesson
        if not lesson.pytorch:
            self.notify(_("this lesson has no PyTorch snippet"), title=_("in PyTorch"))
            return
        self.push_screen(PyTorchScreen(lesson.title, lesson.pytorch))

    def action_screenshot(self) -> None:
        """An SVG of the screen: saved under ``screenshots`` in a terminal, downloaded in a
        browser (textual-serve)."""
        folder = self.screenshots.expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.deliver_screenshot(path=str(folder))  # Textual says where it went
        except OSError as err:
            message = _("cannot save a screenshot in {folder}: {error}")
            self.notify(message.format(folder=folder, error=err), severity="error")

    def action_language(self, code: str) -> None:
        """Switch the lessons' and the interface's language now (the palette)."""
        set_language(code)
        for screen in self.screen_stack:
            for node in (screen, *screen.query("*")):
                retranslate_bindings(node)
            for pane in screen.query(LessonPane):
                pane.retranslate()
            if isinstance(screen, (MainScreen, SurfaceScreen, GanScreen)):
                screen.refresh_view()
        retranslate_bindings(self)
        self.refresh_bindings()
        self.notify(LANGUAGE_NAMES[code], title=_("language"))

    def action_toggle_checks(self) -> None:
        """Show or hide, under each promise, the condition that judges it (every screen)."""
        self.show_checks = not self.show_checks
        for screen in self.screen_stack:
            for pane in screen.query(LessonPane):
                pane.redraw_expectations()

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            placeholder = _("Search for commands…")
            self.push_screen(CommandPalette(id="--command-palette", placeholder=placeholder))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from self._commands(APP, self)
        checks = N_("Lesson: hide the checks") if self.show_checks else None
        yield SystemCommand(
            palette_title(checks or N_("Lesson: show the checks")),
            _("under each promise, the condition nnsim verify judges it by"),
            self.action_toggle_checks,
        )
        other = "en" if language() == "zh" else "zh"
        yield SystemCommand(
            _("Language") + f": {LANGUAGE_NAMES[other]}  Language",
            _("lessons, the interface and reports in English or Chinese") + " (语言)",
            self._runs(f"language('{other}')"),
        )
        if isinstance(screen, MainScreen):
            yield from self._commands(DEBUGGER, screen)
            for title, help_text, action in WHAT_IF:
                yield SystemCommand(palette_title(title), _(help_text), self._runs(action))
        if isinstance(screen, (SurfaceScreen, GanScreen)):
            yield from self._commands(GAME, screen)
        if isinstance(screen, (MainScreen, SurfaceScreen, GanScreen)):
            yield from self._variant_commands(screen.session)

    def _commands(self, commands, target) -> Iterable[SystemCommand]:
        for command in commands:
            yield SystemCommand(
                palette_title(command.title),
                f"{_(command.help)} ({command.shown})",
                self._runs(command.action, None if target is self else target),
            )

    def _runs(self, action: str, target=None):
        """A palette callback running ``action`` on ``target`` (the app by default); run_action
        is a coroutine, so it is scheduled rather than called."""
        node = target or self
        return lambda: node.call_later(node.run_action, action)

    def _variant_commands(self, session: Session) -> Iterable[SystemCommand]:
        if session.variants:
            yield SystemCommand(
                palette_title(N_("Variant: the lesson itself")),
                _("re-run the lesson as written; this run becomes the overlay"),
                lambda: self.compare(None),
            )
        for name, title in session.variants.items():
            yield SystemCommand(
                _("Variant: {name}").format(name=name),
                _("{title}; this run becomes the overlay").format(title=title),
                lambda n=name: self.compare(n),
            )

    # ---------------------------------------------------------------- never die of the palette

    def _handle_exception(self, error: Exception) -> None:
        """An exception raised inside Textual's command palette (its 'no matches' timer
        firing after the palette closed, say) is logged, the palette closed and the session
        kept; any other exception ends the app as usual."""
        cause = error.error if isinstance(error, WorkerFailed) else error  # the palette searches
        frames = traceback.extract_tb(cause.__traceback__)  # in a worker
        if _in_the_palette(frames):
            self.log.error("".join(traceback.format_exception(cause)))
            if isinstance(self.screen, CommandPalette):
                self.pop_screen()
            self.notify(
                _(
                    "the command palette failed ({error}); your run is kept: press ctrl+p to "
                    "open it again"
                ).format(error=f"{type(cause).__name__}: {cause}"),
                title=_("interface error"),
                severity="warning",
            )
            return
        super()._handle_exception(error)


def _in_the_palette(frames) -> bool:
    """Whether a traceback runs through Textual's command palette and none of our code."""
    here = str(Path(__file__).resolve().parent)
    palette = f"{os.sep}textual{os.sep}command.py"
    ours = any(frame.filename.startswith(here) for frame in frames)
    return not ours and any(frame.filename.endswith(palette) for frame in frames)


def run(scenario: str | None = None, screenshots: str | None = None) -> int:
    """Start the interface (on the lesson picker without a scenario)."""
    app = NnsimApp(scenario, screenshots=screenshots)
    app.run()
    return app.return_code or 0
