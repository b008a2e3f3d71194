"""The debugger screen at the sizes people have: what is VISIBLE at 80x24, 120x40, 200x60 and
60x20, read from the screen as drawn (export_screenshot), not from the widgets' contents."""

import re
import textwrap

import numpy as np
import pytest
from rich.console import Console
from tui_driving import screen_lines, settle

from nnsim.tui.app import NnsimApp
from nnsim.tui.widgets.heatmap import Heatmap
from nnsim.tui.widgets.lesson import narrow_tables
from nnsim.tui.widgets.walk import render_cell

TABS = ("1 weights", "2 activations", "3 gradients", "4 time", "5 visual")
DENSE = [f"dense{i}" for i in range(1, 14)]  # vanishing_sigmoid's layers with weights

SHORT_LSTM = """
[lesson]
title = "LSTM steps"
text = "Step into the LSTM."
[data]
source = "adding_problem"
n = 24
steps = 5
[model]
layers = [ { type = "lstm", hidden = 4, return_sequences = false }, { type = "dense", units = 1 } ]
loss = "mse"
[train]
batch_size = 8
iterations = 3
"""

TINY_CNN = """
[lesson]
title = "A tiny CNN"
text = "Look at what it sees."
[data]
source = "digits"
limit = 64
validation = 0.1
[model]
layers = [
  { type = "conv", filters = 2, kernel = 3, padding = 1, name = "conv1" },
  { type = "relu" },
  { type = "flatten" },
  { type = "dense", units = 10 },
]
loss = "cross_entropy"
[train]
batch_size = 16
iterations = 2
"""


def app_for(scenario="vanishing_sigmoid"):
    return NnsimApp(scenario, warm=False)


async def press(pilot, app, *keys):
    for key in keys:
        await pilot.press(key)
        await settle(pilot, app)


def shown(widget) -> bool:
    """Drawn on the screen: displayed, with a region of its own inside the screen."""
    region = widget.region
    return widget.display and region.area > 0 and widget.screen.region.contains_region(region)


def text_in(lines: list[str], region) -> str:
    return "\n".join(line[region.x : region.right] for line in lines[region.y : region.bottom])


# ---------------------------------------------------------------- 80 x 24


async def test_at_80x24_the_lesson_comes_first_and_l_shows_the_debugger():
    app = app_for()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        lesson, inspector = screen.query_one("#lesson"), screen.query_one("#inspector")
        assert shown(lesson) and not shown(inspector) and not shown(screen.query_one("#tree"))
        lines = screen_lines(app)
        assert "Vanishing gradients in a deep sigmoid" in text_in(lines, lesson.region)
        assert any("l lesson" in line and "g flow" in line for line in lines)  # the keys
        await press(pilot, app, "l")
        assert shown(inspector) and shown(screen.query_one("#tree")) and not shown(lesson)
        tabs = text_in(screen_lines(app), inspector.region)
        assert all(label in tabs for label in TABS)  # on two lines, none cut
        await press(pilot, app, "l")
        assert shown(lesson) and not shown(inspector)


async def test_at_80x24_g_shows_every_layer_of_the_gradient_flow_and_the_curves():
    app = app_for()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "c", "g")
        flow = app.screen.query_one("#gradflow")
        assert shown(flow) and shown(app.screen.query_one("#curves"))
        lines = screen_lines(app)
        drawn = text_in(lines, flow.region)
        assert all(re.search(rf"\b{name} █", drawn) for name in DENSE)
        assert "loss" in text_in(lines, app.screen.query_one("#curves").region)
        await press(pilot, app, "g")
        assert not shown(flow) and shown(app.screen.query_one("#inspector"))


# ---------------------------------------------------------------- 120 x 40


async def test_at_120x40_every_tab_label_the_whole_status_help_and_every_layer_show():
    app = app_for()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "c")
        screen = app.screen
        lines = screen_lines(app)
        inspector = text_in(lines, screen.query_one("#inspector").region)
        assert all(label in inspector for label in TABS)
        status = " ".join(lines[:2])
        view = screen.session.view()
        for part in (
            "Vanishing gradients in a deep sigmoid network",
            f"iteration {view.total_iterations}/{view.total_iterations}, complete",
            f"loss {view.loss:.4g}",
            "inspecting dense1 [activations]",
        ):
            assert part in status, part
        assert any("? help" in line and "^q quit" in line for line in lines[:4])
        flow = text_in(lines, screen.query_one("#gradflow").region)
        assert all(re.search(rf"\b{name} █", flow) for name in DENSE)
        assert "▁" in flow  # the history sparklines are drawn too
        await press(pilot, app, "l")  # the lesson takes the inspector's column
        assert shown(screen.query_one("#lesson")) and not shown(screen.query_one("#inspector"))


# ---------------------------------------------------------------- 200 x 60 and 60 x 20


async def test_at_200x60_every_pane_shows_at_once_side_by_side():
    app = app_for()
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot, app)
        panes = [app.screen.query_one(f"#{n}") for n in ("tree", "gradflow", "inspector", "lesson")]
        assert all(shown(pane) for pane in panes)
        lines = screen_lines(app)
        assert all(label in text_in(lines, panes[2].region) for label in TABS)
        assert any("^q quit" in line for line in lines)


PANES = ("status", "panes", "tree", "gradflow", "inspector", "curves", "lesson", "log")


@pytest.mark.parametrize("size", [(60, 20), (100, 20), (200, 20)])
async def test_at_20_rows_no_two_panes_overlap_whichever_is_shown(size):
    app = app_for()
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        for key in ("", "l", "g"):
            if key:
                await press(pilot, app, key)
            drawn = [app.screen.query_one(f"#{n}") for n in PANES]
            drawn = [w for w in drawn if w.display and w.region.area > 0]
            assert len(drawn) >= 4
            assert all(app.screen.region.contains_region(w.region) for w in drawn)
            for i, a in enumerate(drawn):
                for b in drawn[i + 1 :]:
                    assert not a.region.overlaps(b.region), (key, a.id, b.id)


async def test_below_60x20_a_message_asks_for_a_larger_terminal():
    app = app_for()
    async with app.run_test(size=(50, 15)) as pilot:
        await settle(pilot, app)
        lines = screen_lines(app)
        assert any("Enlarge the terminal to at least 60 x 20" in line for line in lines)
        assert not shown(app.screen.query_one("#body"))
        await pilot.resize_terminal(80, 24)
        await settle(pilot, app)
        assert shown(app.screen.query_one("#lesson"))


# ---------------------------------------------------------------- the panes' contents


def test_a_table_wider_than_the_pane_becomes_a_list_naming_each_cell():
    table = "Intro\n\n| f | range | cost |\n|---|---|---|\n| tanh | (−1, 1) | an exp |\n\nEnd"
    assert narrow_tables(table, 100) == table
    narrow = narrow_tables(table, 20)
    assert "- **tanh** — range: (−1, 1); cost: an exp" in narrow
    assert "|" not in narrow and narrow.startswith("Intro") and narrow.endswith("End")


async def test_a_narrow_lesson_pane_shows_the_activations_table_as_a_list():
    app = app_for("activations")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        for _ in range(100):  # a long lesson's markdown is laid out after the first frames
            lesson = text_in(screen_lines(app), app.screen.query_one("#lesson").region)
            if "range:" in lesson:
                break
            await pilot.pause(0.05)
        assert "range: (0, 1)" in lesson and "┃" not in lesson and "│ f" not in lesson


async def test_a_code_block_in_a_narrow_lesson_pane_wraps_and_is_not_cut(tmp_path):
    path = tmp_path / "code.toml"
    code = "loss = cross_entropy(softmax(dense13(sigmoid12(dense12(x)))), labels) # END"
    path.write_text(
        textwrap.dedent(SHORT_LSTM).replace("Step into the LSTM.", "```\\n" + code + "\\n```")
    )
    app = app_for(path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot, app)
        lesson = text_in(screen_lines(app), app.screen.query_one("#lesson").region)
        assert "# END" in lesson and "cross_entropy(" in lesson


async def test_expectation_marks_sit_on_the_line_of_their_condition():
    app = app_for()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        lesson = app.screen.query_one("#lesson")
        lesson.scroll_end(animate=False)
        await pilot.pause(0.2)
        drawn = text_in(screen_lines(app), lesson.region).splitlines()
        marked = [line for line in drawn if line.strip().startswith("· later")]
        says = [e.says for e in app.screen.session.scenario.expectations]
        assert len(marked) == 2 and all(
            line.split("later", 1)[1].split()[:3] == sentence.split()[:3]
            for line, sentence in zip(marked, says, strict=True)
        )  # each mark on the first line of its sentence
        assert not any("grad_norm(dense1)" in line for line in drawn)  # checks on demand
        app.action_toggle_checks()
        await pilot.pause(0.2)
        lesson.scroll_end(animate=False)
        await pilot.pause(0.2)
        drawn = text_in(screen_lines(app), lesson.region)
        assert "grad_norm(dense1)" in drawn


async def test_a_kernel_worked_by_hand_keeps_each_row_on_one_line():
    app = app_for("conv_by_hand")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "n", "s", "n", "n")  # batch, into conv1, kernel, position 1
        cell = app.screen.session.view().walk
        kernel = dict(cell.operands)["kernel"]
        rows = [" ".join(f"{v + 0.0:.3g}" for v in row) for row in kernel.reshape(-1, 3)]
        for width in (120, 46, 30):
            console = Console(width=width, record=True, file=None, force_terminal=False)
            with console.capture() as capture:
                console.print(render_cell(cell, width))
            drawn = [re.sub(" +", " ", line) for line in capture.get().splitlines()]
            assert all(any(row in line for line in drawn) for row in rows), width
        numbers = app.screen.query_one("#numbers")
        lines = screen_lines(app)
        assert all(row in re.sub(" +", " ", text_in(lines, numbers.region)) for row in rows)


@pytest.fixture
def lstm_path(tmp_path):
    path = tmp_path / "lstm.toml"
    path.write_text(textwrap.dedent(SHORT_LSTM))
    return path


async def test_time_steps_not_computed_yet_are_blank_not_zero(lstm_path):
    app = app_for(lstm_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "n", "s", "n", "n", "n")  # batch, into lstm1, project, t=1, t=2
        session = app.screen.session
        session.select("lstm1")
        await press(pilot, app, "4")
        tensor = session.view().tensor
        assert tensor.valid_rows == (0, 2) and "t = 1..2 of 5 computed" in tensor.title
        assert not tensor.array[2:].any()
        heatmap = app.screen.query_one("#heatmap", Heatmap)
        drawn = [heatmap.render_line(y).text for y in range(heatmap.size.height)]
        blank = [line for line in drawn if line.strip() == ""]
        coloured = [line for line in drawn if "▀" in line or "▄" in line]
        assert coloured and blank  # two steps drawn, three not: blank, not the colour of 0
        numbers = str(app.screen.query_one("#numbers").render())
        assert numbers.count("not computed yet") == 3


async def test_the_occlusion_map_has_its_own_colour_scale_and_legend(tmp_path):
    from nnsim import visualize

    path = tmp_path / "cnn.toml"
    path.write_text(textwrap.dedent(TINY_CNN))
    app = app_for(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "c")
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["Occlusion map"].callback()
        await settle(pilot, app)
        session = app.screen.session
        (_, digit), (_, occlusion) = session.view().tensor.panels
        x, y = session.sim.validation
        np.testing.assert_array_equal(
            occlusion, visualize.occlusion_map(session.sim.model, x[0], int(y[0]))
        )
        lines = screen_lines(app)
        for i, values in enumerate((digit, occlusion)):
            panel = app.screen.query_one(f"#panelmap{i}", Heatmap)
            assert shown(panel)
            legend = text_in(lines, panel.region).strip().splitlines()[-1]
            assert f"{np.abs(values).max():.2g}" in legend  # each its own scale


# ---------------------------------------------------------------- snapshots of each size


async def finish_the_backward_pass(pilot):
    await settle(pilot, pilot.app)
    await press(pilot, pilot.app, "f", "f", "f", "f")  # the batch, forward, loss and backward
    await quiet_footer(pilot)


async def quiet_footer(pilot):
    """Let the footer redraw its keys for an idle worker (it recomposes a moment later)."""
    screen = pilot.app.screen
    for _ in range(100):
        await pilot.pause(0.05)
        if not screen.worker.busy and not screen._footer_busy:
            break
    await pilot.pause(0.2)
    await pilot.pause()


def test_snapshot_80x24_opens_on_the_lesson(snap_compare):
    async def run(pilot):
        await settle(pilot, pilot.app)

    assert snap_compare(app_for(), terminal_size=(80, 24), run_before=run)


def test_snapshot_80x24_debugger_after_a_backward_pass(snap_compare):
    async def run(pilot):
        await settle(pilot, pilot.app)
        await press(pilot, pilot.app, "l", "f", "f", "f", "f")
        await quiet_footer(pilot)

    assert snap_compare(app_for(), terminal_size=(80, 24), run_before=run)


def test_snapshot_120x40_after_a_backward_pass(snap_compare):
    assert snap_compare(app_for(), terminal_size=(120, 40), run_before=finish_the_backward_pass)


def test_snapshot_200x60_after_a_backward_pass(snap_compare):
    assert snap_compare(app_for(), terminal_size=(200, 60), run_before=finish_the_backward_pass)


async def test_backward_through_time_shows_dl_dh_only_for_the_steps_already_run(lstm_path):
    app = app_for(lstm_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        # batch, lstm1, dense1, loss, dense1 backward; into lstm1's BPTT, start, t = 5
        await press(pilot, app, "n", "n", "n", "n", "n", "s", "n", "n")
        session = app.screen.session
        session.select("lstm1")
        await press(pilot, app, "4")
        for _ in range(8):  # h, the gates, c, then dL/dh
            if "dL/dh" in session.view().tensor.title:
                break
            await press(pilot, app, "full_stop")
        tensor = session.view().tensor
        assert tensor.valid_rows == (4, 5) and "t = 5..5 of 5 computed" in tensor.title
        assert not tensor.array[:4].any() and tensor.array[4].any()


def test_a_verdict_badge_comes_right_after_the_layer_name():
    # in a narrow tree pane the end of a row is cut: the verdict must not be what is lost
    from types import SimpleNamespace

    from nnsim.session import LayerRow
    from nnsim.tui.widgets.model_tree import ModelTree

    row = LayerRow("dense3", "Dense", 0, (32,), 1056, False, "vanishing", "", 1e-9, False)
    view = SimpleNamespace(next_layer=None, phase="batch")
    label = ModelTree._label(row, view).plain
    assert label.index("vanishing") < label.index("Dense 32") < label.index("1,056p")
