"""Opening the interface quickly without changing what it shows: a lesson whose kernels a
loading screen has loaded before opens without one, the footer, remade only when its keys
change, still follows the worker, and a lesson left behind is not kept in memory (what opening
it made was frozen out of the collector's sight)."""

import gc
import weakref

import pytest
from training import XOR_DATA_AND_MODEL

from nnsim import warmup
from nnsim.kernels import _jit
from nnsim.tui.app import NnsimApp
from nnsim.tui.screens.loading import LoadingScreen
from nnsim.tui.screens.main import MainScreen
from nnsim.tui.widgets.footer import FooterKey

RUN = XOR_DATA_AND_MODEL + "[train]\nlr = 0.5\nbatch_size = 4\niterations = 3\n"


def lesson(tmp_path, title: str) -> str:
    path = tmp_path / f"{title}.toml"
    path.write_text(f'[lesson]\ntitle = "{title}"\ntext = "A short run."\n{RUN}')
    return str(path)


async def opened(pilot, app, title: str) -> MainScreen:
    for _ in range(400):
        await pilot.pause(0.05)
        screen = app.screen
        if isinstance(screen, MainScreen) and screen.session.scenario.title == title:
            return screen
    raise AssertionError(f"{title} never opened; the screen is {app.screen}")


async def until(pilot, condition) -> bool:
    """Whether ``condition()`` comes true within 4 s (a loaded machine draws late)."""
    for _ in range(80):
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


def pause_key_enabled(screen) -> bool | None:
    """Whether the footer's p key is lit; None before the footer has drawn its keys."""
    keys = [key for key in screen.query(FooterKey) if key.action == "pause"]
    return not keys[0].has_class("-disabled") if keys else None


async def test_the_footer_follows_the_worker_though_it_is_remade_only_on_change(tmp_path):
    app = NnsimApp(lesson(tmp_path, "first"), warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app, "first")
        assert await until(pilot, lambda: pause_key_enabled(screen) is False)  # nothing runs
        screen._refresh_bindings(True)  # what a command running for a while says
        assert await until(pilot, lambda: pause_key_enabled(screen) is True)
        screen._refresh_bindings(False)
        assert await until(pilot, lambda: pause_key_enabled(screen) is False)


async def freed(pilot, ref) -> bool:
    """Whether ``ref``'s object is collected once the screens that held it are gone."""
    for _ in range(40):
        gc.collect()
        if ref() is None:
            return True
        await pilot.pause(0.05)
    return False


async def test_a_lesson_left_for_another_is_freed(tmp_path):
    app = NnsimApp(lesson(tmp_path, "first"), warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app, "first")
        await pilot.pause(0.2)  # drawn: what opening the lesson made is frozen by now
        first = weakref.ref(screen.session)
        del screen
        app.action_lessons()
        await pilot.pause(0.2)
        app._open(lesson(tmp_path, "second"))  # as the picker does when a lesson is chosen
        await opened(pilot, app, "second")
        assert await freed(pilot, first)


async def test_a_screen_replaced_by_a_rerun_is_freed(tmp_path):
    app = NnsimApp(lesson(tmp_path, "first"), warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app, "first")
        await pilot.pause(0.2)  # drawn: what opening the lesson made is frozen by now
        first = weakref.ref(screen)
        del screen
        app.action_rerun()
        rerun = lambda: isinstance(app.screen, MainScreen) and app.screen is not first()  # noqa: E731
        assert await until(pilot, rerun)
        assert await freed(pilot, first)


@pytest.fixture
def record(tmp_path, monkeypatch):
    """The record of warmed calls in a directory of its own, with the kernels' stamp and an
    index of Numba's cache beside it."""
    (tmp_path / _jit.STAMP_NAME).write_text("sources-1")
    (tmp_path / "dense.dense_forward-36.py311.nbi").write_bytes(b"")
    monkeypatch.setattr(warmup, "_record_path", lambda: tmp_path / warmup.RECORD_NAME)
    return tmp_path


def test_a_plan_is_cached_once_its_calls_were_made_with_the_sources_as_they_are(record):
    plan = warmup.Plan(("float64",), ("linear", "sgd"))
    assert not warmup.cached(plan)
    warmup.remember(plan)
    assert warmup.cached(plan) and warmup.cached(warmup.Plan(("float64",), ("sgd",)))
    assert not warmup.cached(warmup.Plan(("float64",), ("linear", "adam")))
    assert not warmup.cached(warmup.Plan(("float32",), ("linear",)))
    (record / _jit.STAMP_NAME).write_text("sources-2")  # a kernel changed: the cache was emptied
    assert not warmup.cached(plan)
    warmup.remember(plan)
    assert warmup.cached(plan)
    for index in record.glob("*.nbi"):  # Numba's cache emptied by hand
        index.unlink()
    assert not warmup.cached(plan)


async def test_a_lesson_warmed_before_opens_without_the_loading_screen(
    tmp_path, record, monkeypatch
):
    pushed, push_screen = [], NnsimApp.push_screen

    def recording(app, screen, *args, **kwargs):
        pushed.append((app.scenario_name, type(screen)))
        return push_screen(app, screen, *args, **kwargs)

    monkeypatch.setattr(NnsimApp, "push_screen", recording)
    first, again = lesson(tmp_path, "first"), lesson(tmp_path, "again")
    for name in (first, again):
        app = NnsimApp(name)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await opened(pilot, app, name.rsplit("/", 1)[1].removesuffix(".toml"))
            plan = warmup.plan_for(screen.session)
            assert set(plan.labels()) <= app.warmed  # loaded either way
    assert (first, LoadingScreen) in pushed and (again, LoadingScreen) not in pushed
    assert warmup.cached(plan)


async def test_the_collector_runs_again_once_the_lesson_opened_or_failed_to(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[lesson\n")
    for name in (lesson(tmp_path, "first"), str(broken)):
        app = NnsimApp(name, warm=False)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(200):
                await pilot.pause(0.05)
                if isinstance(app.screen, MainScreen) or not app.is_running:
                    break
            for _ in range(40):  # the debugger resumes it once its first frame is drawn
                if gc.isenabled():
                    break
                await pilot.pause(0.05)
            assert gc.isenabled()


async def test_quitting_while_the_first_lesson_opens_leaves_the_collector_running(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(NnsimApp, "_opened", lambda app, outcome: None)  # it never opens
    app = NnsimApp(lesson(tmp_path, "first"), warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert not gc.isenabled()  # paused while the lesson opens
        app.exit()
    assert gc.isenabled()


async def test_a_view_asked_for_before_a_pane_has_its_widgets_is_drawn_once_it_has(
    tmp_path, monkeypatch
):
    # seen once under load: the debugger's first view came before the inspector's own widgets
    from nnsim.tui.widgets.inspector import Inspector

    ready = [False]
    panes_mounted = MainScreen._panes_mounted
    monkeypatch.setattr(MainScreen, "_panes_mounted", lambda s: ready[0] and panes_mounted(s))
    app = NnsimApp(lesson(tmp_path, "first"), warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app, "first")
        inspector = screen.query_one(Inspector)
        await pilot.pause(0.2)
        assert inspector._shown is None  # the view waits as a whole
        assert screen.query_one("#status").render().plain == ""
        ready[0] = True
        assert await until(pilot, lambda: inspector._shown is not None)
        assert "first" in str(screen.query_one("#status").render())


async def test_a_pane_counts_as_mounted_only_with_its_own_widgets(tmp_path, monkeypatch):
    # the second time under load, the inspector was mounted and still without its children
    from textual.widget import Widget

    from nnsim.tui.widgets.inspector import Inspector

    app = NnsimApp(lesson(tmp_path, "first"), warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app, "first")
        assert await until(pilot, screen._panes_mounted)  # a loaded machine mounts late
        children = Widget.children
        monkeypatch.setattr(
            Widget,
            "children",
            property(lambda w: [] if isinstance(w, Inspector) else children.fget(w)),
        )
        screen._panes_ready = False
        assert not screen._panes_mounted()
        monkeypatch.undo()
        assert screen._panes_mounted()
