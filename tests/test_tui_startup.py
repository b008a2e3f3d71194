"""Opening the interface quickly without changing what it shows: the footer, remade only when
its keys change, still follows the worker, and a lesson left behind is not kept in memory (what
opening it made was frozen out of the collector's sight)."""

import gc
import weakref

from training import XOR_DATA_AND_MODEL

from nnsim.tui.app import NnsimApp
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


def pause_key_enabled(screen) -> bool:
    (key,) = [key for key in screen.query(FooterKey) if key.action == "pause"]
    return not key.has_class("-disabled")


async def test_the_footer_follows_the_worker_though_it_is_remade_only_on_change(tmp_path):
    app = NnsimApp(lesson(tmp_path, "first"), warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app, "first")
        await pilot.pause(0.2)  # the footer draws its keys a frame after the screen
        assert not pause_key_enabled(screen)  # nothing runs: p is dimmed
        screen._refresh_bindings(True)  # what a command running for a while says
        await pilot.pause(0.2)
        assert pause_key_enabled(screen)
        screen._refresh_bindings(False)
        await pilot.pause(0.2)
        assert not pause_key_enabled(screen)


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
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen) and app.screen is not first()
        assert await freed(pilot, first)
