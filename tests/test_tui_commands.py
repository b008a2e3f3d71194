"""The interface's commands on the Session: keys queue instead of dropping, nothing runs past
the end, a step back says what it undid, prompts never take an example for an answer,
screens can be replaced mid-run, screenshots land in a known folder, and a fault inside the
toolkit never costs the learner the session."""

import pytest
from training import XOR_DATA_AND_MODEL

from nnsim.tui.app import NnsimApp
from nnsim.tui.commands import APP, DEBUGGER, GAME, help_markdown
from nnsim.tui.screens.ask import AskScreen
from nnsim.tui.screens.main import MainScreen
from nnsim.tui.screens.picker import PickerScreen
from nnsim.tui.screens.surface import SurfaceScreen

SHORT = (
    """
[lesson]
title = "short"
text = "A short run."
"""
    + XOR_DATA_AND_MODEL
    + """[train]
lr = 0.5
batch_size = 4
iterations = 3
"""
)


@pytest.fixture
def short(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(SHORT)
    return str(path)


async def opened(pilot, app, kind=MainScreen):
    for _ in range(400):
        await pilot.pause(0.05)
        if isinstance(app.screen, kind):
            return app.screen
    raise AssertionError(f"{kind.__name__} never opened; the screen is {app.screen}")


async def idle(pilot, screen):
    for _ in range(400):
        await pilot.pause(0.05)
        if screen.running is None:
            await pilot.pause(0.05)  # let the last message be handled
            return
    raise AssertionError("the worker never finished")


def log_text(screen) -> str:
    return "\n".join(strip.text for strip in screen.query_one("#log").lines)


async def test_keys_pressed_during_a_step_are_queued_not_lost(short):
    app = NnsimApp(short, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app)
        for _ in range(9):
            await pilot.press("n")  # faster than the steps run
        await idle(pilot, screen)
        assert len(screen.session.sim.events) == 9
        assert [e.index for e in screen.session.sim.events] == list(range(1, 10))


async def test_nothing_runs_past_the_last_iteration_and_the_learner_is_told(short):
    app = NnsimApp(short, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("c")
        await idle(pilot, screen)
        sim = screen.session.sim
        assert sim.completed == 3
        for key in "cn":
            await pilot.press(key)
            await idle(pilot, screen)
        assert sim.completed == 3 and sim.iteration <= 4
        assert "the run is complete (3 of 3 iterations)" in log_text(screen)
        assert "iteration 3/3, complete" in str(screen.query_one("#status").render())


async def test_a_step_back_logs_the_micro_op_it_undid(short):
    app = NnsimApp(short, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app)
        for key in "nnn":
            await pilot.press(key)
        await idle(pilot, screen)
        third = screen.session.sim.events[-1]
        await pilot.press("left_square_bracket")
        await idle(pilot, screen)
        assert f"undid {third}" in log_text(screen)
        assert screen.session.sim.events[-1].index == third.index - 1


async def test_the_log_keeps_its_newest_line_in_view_at_every_key(short):
    # the log scrolls to its new line in the same frame that shows it (not one frame later)
    app = NnsimApp(short, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app)
        log = screen.query_one("#log")
        await pilot.press("n")
        await idle(pilot, screen)
        assert log.size.height > 0
        for _ in range(3 * log.size.height):  # many more lines than the log shows
            await pilot.press("n")
            await idle(pilot, screen)
            assert log.scroll_y == log.max_scroll_y
        assert log.max_scroll_y > 0
        newest = str(screen.session.sim.events[-1])
        shown = [log.render_line(y).text for y in range(log.size.height)]
        assert any(newest in line for line in shown), shown


async def test_a_what_if_prompt_never_takes_its_example_for_an_answer(short):
    app = NnsimApp(short, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, app)
        app.action_what_if("activation")
        await pilot.pause(0.1)
        assert isinstance(app.screen, AskScreen)
        await pilot.press("enter")  # the grey example is a placeholder, not a value
        await pilot.pause(0.1)
        assert isinstance(app.screen, AskScreen)
        assert "type a value first" in str(app.screen.query_one("#hint").render())
        await pilot.press("escape")
        app.action_what_if("lr")  # the current learning rate, ready to edit
        await pilot.pause(0.1)
        assert app.screen.query_one("Input").value == "0.5"
        await pilot.press("backspace", "backspace", "backspace", "x", "enter")
        await pilot.pause(0.1)  # a typo keeps the prompt, with the reason and the text
        assert isinstance(app.screen, AskScreen) and app.screen.query_one("Input").value == "x"
        assert "'x' is not a number" in str(app.screen.query_one("#hint").render())
        await pilot.press("backspace", *"0.1", "enter")
        screen = await opened(pilot, app)
        assert screen.session.label == "lr 0.1" and screen.session.sim.optimizer.lr == 0.1


async def test_a_rerun_during_continue_cancels_the_old_run_cleanly():
    app = NnsimApp("vanishing_sigmoid", warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app)
        screen.session.sim.iterations = 100_000  # long enough to be under way
        await pilot.press("c")
        await pilot.pause(0.3)
        app.action_rerun()  # while the worker runs
        await pilot.pause(0.2)
        new = app.screen
        assert isinstance(new, MainScreen) and new is not screen
        assert new.session.sim.completed == 0 and new.session.previous is not None
        await pilot.press("n")
        await idle(pilot, new)
        assert len(new.session.sim.events) == 1
        for _ in range(100):  # the old worker stops between iterations, well before the end
            if not screen.worker.busy:
                break
            await pilot.pause(0.05)
        assert not screen.worker.busy and 0 < screen.session.sim.completed < 100_000


async def test_screenshots_go_to_their_folder_even_from_a_prompt(short, tmp_path):
    folder = tmp_path / "shots"
    app = NnsimApp(short, warm=False, screenshots=folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await opened(pilot, app)
        app.action_what_if("lr")
        await pilot.pause(0.1)
        await pilot.press("ctrl+s")
        await pilot.pause(0.5)
        shots = list(folder.glob("*.svg"))
        assert len(shots) == 1 and "<svg" in shots[0].read_text()


async def test_ctrl_l_returns_to_the_lesson_picker(short):
    app = NnsimApp(short, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("c")
        await pilot.press("ctrl+l")
        await opened(pilot, app, PickerScreen)
        assert screen.worker.should_stop()  # the run's worker was cancelled with its screen


async def test_a_race_steps_and_plays_in_the_worker():
    app = NnsimApp("optimizers_2d", warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app, SurfaceScreen)
        await pilot.press("n")
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.run.completed == 1:
                break
        assert screen.run.completed == 1
        await pilot.press("c")
        for _ in range(400):
            await pilot.pause(0.05)
            if screen.run.completed == screen.run.iterations and not screen.worker.busy:
                break
        assert screen.run.completed == screen.run.iterations
        await pilot.press("r")
        await pilot.pause(0.1)
        assert app.screen.run.completed == 0


async def test_a_fault_inside_the_palette_keeps_the_session(short):
    from textual.command import CommandList, CommandPalette

    app = NnsimApp(short, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await pilot.press(*"qqqzz")  # matches nothing: a 'no matches' timer starts
        await palette.query_one(CommandList).remove()  # as when the palette closes at once
        await pilot.pause(1.0)  # the timer fires into a palette without its list
        assert app.is_running and app.screen is screen
        await pilot.press("n")
        await idle(pilot, screen)
        assert len(screen.session.sim.events) == 1


def test_one_table_makes_the_keys_the_palette_and_the_help():
    keys = [c.keys for c in DEBUGGER]
    assert len(keys) == len(set(keys))  # no key does two things
    help_page = help_markdown()
    for command in (*DEBUGGER, *GAME, *APP):
        assert f"`{command.shown}` | {command.title} |" in help_page
    assert MainScreen.BINDINGS[0].key == "n" and MainScreen.BINDINGS[0].action == "command('step')"


async def test_the_footer_shows_the_worker_idle_once_its_thread_has_stopped(short):
    from nnsim.tui.messages import WorkerIdle

    app = NnsimApp(short, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("n")
        await idle(pilot, screen)
        screen._refresh_bindings(True)  # as a 'running' timer firing late would leave it
        screen.post_message(WorkerIdle())  # what the worker's thread says as it stops
        await pilot.pause(0.1)
        assert screen._footer_busy is False and screen.check_action("pause", ()) is None
        assert screen.check_action("toggle_breakpoint", ()) is True
