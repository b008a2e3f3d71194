"""The optimiser race and the GAN as a learner sees them at the sizes terminals have (80x24,
120x40): every cell of the race's table whole, the run's state at the start of the status
line, the GAN's curves one line each, and the lesson a key away (l), read from the screen as
drawn."""

import pytest
from tui_driving import screen_lines

from nnsim.tui.app import NnsimApp
from nnsim.tui.screens.gan import GanScreen
from nnsim.tui.screens.surface import SurfaceScreen, race_columns

SIZES = [(80, 24), (120, 40)]


def text_in(lines: list[str], region) -> str:
    return "\n".join(line[region.x : region.right] for line in lines[region.y : region.bottom])


def shown(widget) -> bool:
    region = widget.region
    return widget.display and region.area > 0 and widget.screen.region.contains_region(region)


async def opened(pilot, app, kind):
    for _ in range(400):
        await pilot.pause(0.05)
        if isinstance(app.screen, kind):
            await pilot.pause(0.05)
            return app.screen
    raise AssertionError(f"{kind.__name__} never opened; the screen is {app.screen}")


async def idle(pilot, screen):
    for _ in range(400):
        await pilot.pause(0.05)
        if not screen.worker.busy:
            await pilot.pause(0.1)  # the last message drawn
            return
    raise AssertionError("the worker never finished")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_cell_of_the_race_table_is_whole_and_every_optimiser_has_its_row(size):
    app = NnsimApp("optimizers_2d", warm=False)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, app, SurfaceScreen)
        for keys in ("", "n", "c"):  # before any step, after one, at the end
            for key in keys:
                await pilot.press(key)
            await idle(pilot, screen)
            lines = screen_lines(app)
            table = text_in(lines, screen.query_one("#table").region)
            assert "…" not in table
            columns = race_columns(screen.run)
            for row, name in enumerate(screen.run.names):
                line = next(line for line in table.splitlines() if f" {name} " in f" {line} ")
                for header, cells in columns.items():
                    if header in table:  # a column left out is named under the table
                        assert cells[row] in line, (header, line)
            assert "nan" not in table  # a value with no step behind it yet is "–"
        assert screen.run.completed == screen.run.iterations
        # the state and what l does first, never cut; the surface's name after them
        assert lines[0].startswith(" step 60/60, complete (r restarts) · l: ")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_race_keeps_its_widest_columns_where_there_is_room(size):
    app = NnsimApp("optimizers_2d", warm=False)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, app, SurfaceScreen)
        table = text_in(screen_lines(app), screen.query_one("#table").region)
        for header in ("optimiser", "point", "f", "distance", "last step", "lr never grew"):
            assert header in table  # 80 columns hold all six when the run has the board


@pytest.mark.parametrize("kind", ["optimizers_2d", "gan_1d"])
async def test_at_80x24_the_run_comes_first_and_l_shows_the_lesson_then_the_run(kind):
    app = NnsimApp(kind, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot, app, (SurfaceScreen, GanScreen))
        board, lesson = screen.query_one(".board"), screen.query_one(".game-lesson")
        assert shown(board) and not shown(lesson)
        assert "l: the lesson" in screen_lines(app)[0]
        await pilot.press("l")
        await pilot.pause(0.1)
        assert shown(lesson) and not shown(board)
        assert lesson.region.width >= 76  # the whole width to read it
        lines = screen_lines(app)
        assert screen.scenario.title.split()[0] in text_in(lines, lesson.region)
        assert "l: back to the" in lines[0]
        await pilot.press("n")  # the run steps while the lesson is read
        await idle(pilot, screen)
        await pilot.press("l")
        await pilot.pause(0.1)
        assert shown(board) and not shown(lesson)
        assert screen.run.completed or screen.run.history
        drawn = text_in(screen_lines(app), board.region)
        assert "widen the terminal" not in drawn  # drawn again at the board's full width
        assert "█ generated" in drawn or "lr never grew" in drawn


@pytest.mark.parametrize("kind", ["optimizers_2d", "gan_1d"])
async def test_at_120x40_the_lesson_is_beside_the_run_and_l_hides_it_to_widen_the_run(kind):
    app = NnsimApp(kind, warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, app, (SurfaceScreen, GanScreen))
        board, lesson = screen.query_one(".board"), screen.query_one(".game-lesson")
        assert shown(board) and shown(lesson) and lesson.region.width >= 30
        narrow = board.region.width
        await pilot.press("l")
        await pilot.pause(0.1)
        assert not shown(lesson) and board.region.width == 120 > narrow
        drawn = str(screen.query_one("#surface, #histogram").render()).splitlines()
        assert len(drawn[0]) > narrow  # drawn again at the board's new width
        assert "l: show the lesson" in screen_lines(app)[0]
        await pilot.press("l")
        await pilot.pause(0.1)
        assert shown(lesson)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_gan_status_and_curves_are_whole(size):
    app = NnsimApp("gan_1d", warm=False)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, app, GanScreen)
        curves = screen.query_one("#gan-curves")
        assert "from the first steps (n)" in text_in(screen_lines(app), curves.region)
        for _ in range(6):
            await pilot.press("n")
        await idle(pilot, screen)
        lines = screen_lines(app)
        assert lines[0].startswith(" iteration 3/3000 · next: D step · l: ")
        assert "the generator moved" in lines[0] or "…" in lines[0]  # after, or cut with …
        drawn = text_in(lines, curves.region).splitlines()[1:-1]  # inside the box
        labels = [line.strip("│ ")[:10] for line in drawn]
        assert labels == ["D accuracy", "D loss    ", "G loss    "]  # one line each
        histogram = text_in(lines, screen.query_one("#histogram").region)
        assert "░ target" in histogram and "…" not in histogram


async def test_help_shows_every_key_of_the_race_and_scrolls_at_80x24():
    from nnsim.tui.screens.help import HelpScreen

    app = NnsimApp("optimizers_2d", warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, app, SurfaceScreen)
        await pilot.press("question_mark")
        help_screen = await opened(pilot, app, HelpScreen)
        shown = str(help_screen.query_one("#help-text").render())
        assert "Optimiser races and GANs" in shown and "Lesson pane" in shown
        assert "grad_norm" in shown  # the condition language, from the metric registry
        scroll = help_screen.query_one("VerticalScroll")
        assert scroll.max_scroll_y > 0  # longer than the screen: it scrolls
        lines = text_in(screen_lines(app), scroll.region).splitlines()
        assert any(" f    Finish the pass" in line for line in lines)
        # drawn at the width it is shown at: no cell's end rewrapped to the margin
        assert not any(line[1:3] in (" (", " ─") for line in lines)
        await pilot.press("escape")
        await opened(pilot, app, SurfaceScreen)


async def test_the_picker_at_80x24_indents_a_wrapped_title_under_its_lesson_not_as_a_section():
    from textual.widgets import OptionList

    from nnsim.tui.screens.picker import PickerScreen

    app = NnsimApp(None, warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot, app, PickerScreen)
        listing = screen.query_one(OptionList)
        region = listing.content_region
        lines = text_in(screen_lines(app), region).splitlines()
        assert any("backprop_by_hand" in line for line in lines)  # wrapped at 80 columns
        for line in lines:
            assert line[:1].isdigit() or line.startswith("  ") or not line.strip(), line


async def test_the_breakpoint_list_keys_work_in_the_list_and_the_hint_says_how_to_get_there():
    from nnsim.tui.screens.breakpoints import BreakpointScreen
    from nnsim.tui.screens.main import MainScreen

    app = NnsimApp("vanishing_sigmoid", warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await opened(pilot, app, MainScreen)
        await pilot.press("B")
        screen = await opened(pilot, app, BreakpointScreen)
        assert "tab or ↑ the list" in str(screen.query_one("#hint").render())
        await pilot.press(*"loss > 9", "enter")
        await pilot.pause(0.1)
        assert main.session.breakpoints()[0] == (("loss > 9", True, 0),)
        await pilot.press(*" x")  # typed into the line, as the learner expects
        assert screen.query_one("Input").value == " x"
        await pilot.press("up", "space")  # to the list; space disables
        await pilot.pause(0.1)
        assert main.session.breakpoints()[0] == (("loss > 9", False, 0),)
        assert "○ loss > 9" in str(screen.query_one("OptionList").get_option_at_index(0).prompt)
        await pilot.press("x")
        await pilot.pause(0.1)
        assert main.session.breakpoints()[0] == ()


async def test_the_gan_says_it_is_playing_and_p_pauses_it_and_says_so():
    app = NnsimApp("gan_1d", warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot, app, GanScreen)
        screen.run.iterations = 1_000_000  # long enough that p always comes before the end
        await pilot.press("p")  # nothing plays yet: the learner is told, nothing breaks
        await pilot.pause(0.1)
        assert any("nothing is playing" in str(n.message) for n in app._notifications)
        await pilot.press("c")
        for _ in range(100):
            await pilot.pause(0.05)
            if "playing: p pauses" in screen_lines(app)[0]:
                break
        else:
            raise AssertionError("the status never said the run plays")
        await pilot.press("p")
        await idle(pilot, screen)
        completed = screen.run.completed
        assert 0 < completed < screen.run.iterations
        told = [str(n.message) for n in app._notifications]
        assert any(f"paused after iteration {completed} of 1000000" in t for t in told)
        assert "playing" not in screen_lines(app)[0]


async def test_a_prefilled_what_if_prompt_still_shows_its_example():
    from nnsim.tui.screens.ask import AskScreen
    from nnsim.tui.screens.main import MainScreen

    app = NnsimApp("vanishing_sigmoid", warm=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, app, MainScreen)
        app.action_what_if("lr")
        screen = await opened(pilot, app, AskScreen)
        assert screen.query_one("Input").value == "0.1"  # the current rate, to edit
        hint = str(screen.query_one("#hint").render())
        assert "a number > 0, e.g. 0.01" in hint and "escape to cancel" in hint
