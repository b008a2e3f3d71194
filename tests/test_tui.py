"""The terminal interface, driven with Textual's Pilot as a person would drive it."""

import io
import textwrap

import numpy as np
import pytest
from rich.console import Console
from tui_driving import settle

from nnsim.tui.app import NnsimApp
from nnsim.tui.screens.breakpoints import BreakpointScreen
from nnsim.tui.screens.help import HelpScreen
from nnsim.tui.screens.main import MainScreen
from nnsim.tui.screens.picker import PickerScreen

LSTM_SCENARIO = """
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


def app_for(scenario="vanishing_sigmoid"):
    return NnsimApp(scenario, warm=False)


async def press(pilot, app, *keys):
    for key in keys:
        await pilot.press(key)
        await settle(pilot, app)


@pytest.fixture
def lstm_path(tmp_path):
    path = tmp_path / "lstm.toml"
    path.write_text(textwrap.dedent(LSTM_SCENARIO))
    return path


async def test_n_steps_through_a_whole_iteration_of_the_vanishing_lesson():
    app = app_for()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        sim = app.screen.session.sim
        micro_ops = 2 * len(sim.model.layers) + 4
        await press(pilot, app, *["n"] * (micro_ops - 1))
        assert sim.next_op == ("update", None) and sim.completed == 0
        await press(pilot, app, "n")
        assert sim.completed == 1 and sim.events[-1].phase == "update"
        status = str(app.screen.query_one("#status").render())
        assert "iteration 1/30" in status and "next: • batch" in status
        assert sim.latest["dense1"]["verdict"] == "vanishing"


async def test_s_steps_into_the_time_steps_of_an_lstm(lstm_path):
    app = app_for(lstm_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        sim = app.screen.session.sim
        await press(pilot, app, "n", "s", "n", "n", "n")  # batch, enter, projection, t=1, t=2
        event = sim.events[-1]
        assert (event.layer, event.t, event.depth) == ("lstm1", 2, 1)
        session = app.screen.session
        session.select("lstm1")
        await press(pilot, app, "4")
        view = session.view()
        assert view.tensor.array.shape == (5, 4)  # (time, unit) of example 0
        await press(pilot, app, "o")  # step out finishes the layer
        assert sim.next_op == ("forward", "dense1") and sim.depth == 0


async def test_a_breakpoint_added_in_the_editor_fires_during_continue():
    app = app_for()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("B")
        await pilot.pause()
        assert isinstance(app.screen, BreakpointScreen)
        await pilot.press(*"loss >")
        await pilot.press("enter")
        await pilot.pause()
        assert "ends too early" in str(app.screen.query_one("#error").render())
        await pilot.press(*" 0 and iteration == 3", "enter", "escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await press(pilot, app, "c")
        sim = app.screen.session.sim
        assert sim.stopped.condition == "loss > 0 and iteration == 3"
        assert (sim.stopped.iteration, sim.stopped.phase) == (3, "loss")


async def test_b_sets_a_breakpoint_on_the_highlighted_layer():
    app = app_for()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "d", "d")  # dense1 -> sigmoid1 -> dense2
        assert app.screen.session.selected == "dense2"
        await press(pilot, app, "b", "c")
        sim = app.screen.session.sim
        assert sim.stopped.condition == "at dense2" and sim.next_op == ("forward", "dense2")


async def test_p_pauses_a_running_continue(tmp_path):
    path = tmp_path / "long.toml"
    from nnsim.scenario import SAMPLES

    text = (SAMPLES / "vanishing_sigmoid.toml").read_text()
    path.write_text(text.replace("iterations = 30", "iterations = 100000"))
    app = app_for(path)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("c")
        await pilot.pause(0.5)
        assert app.screen.running == "continue"
        await pilot.press("p")
        await settle(pilot, app)
        sim = app.screen.session.sim
        assert 0 < sim.completed < 100000 and app.screen.running is None


async def test_back_and_forward_through_history():
    app = app_for()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "n", "n", "n")
        sim = app.screen.session.sim
        index = sim.events[-1].index
        await press(pilot, app, "left_square_bracket")
        assert sim.events[-1].index == index - 1 and sim.next_op == ("forward", "sigmoid1")
        await press(pilot, app, "right_square_bracket")
        assert sim.events[-1].index == index and sim.events[-1].layer == "sigmoid1"


async def test_help_palette_and_a_small_terminal():
    app = app_for()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Step into")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert app.screen.session.sim.events[-1].phase == "batch"  # the palette ran "step into"
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert app.screen.has_class("compact")
        await press(pilot, app, "n", "n")
        assert app.screen.session.sim.events[-1].layer == "sigmoid1"


async def test_nnsim_without_a_scenario_opens_the_lesson_picker():
    app = NnsimApp(None, warm=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        from nnsim.scenario import shipped_lessons

        assert app.screen.session.scenario.name == shipped_lessons()[0].stem  # curriculum order


async def test_the_first_lesson_warms_only_its_own_kernels(monkeypatch):
    # compiling every kernel in both float32 and float64 took about a minute on a first start
    import nnsim.tui.app as app_module
    import nnsim.tui.screens.loading as loading

    warmed = []

    def fake_warm_up(dtypes, progress, only=None):
        warmed.append((tuple(dtypes), tuple(only or ())))
        return 0

    monkeypatch.setattr(loading, "warm_up", fake_warm_up)
    # as on a first start, whatever an earlier start recorded beside Numba's cache (which would
    # load the kernels behind the opening screen and show no loading screen)
    monkeypatch.setattr(app_module, "load_cached", lambda plan: False)
    app = NnsimApp("vanishing_sigmoid", warm=True)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(400):  # up to 20 s: a loaded machine opens late
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen):
                break
        assert isinstance(app.screen, MainScreen), f"the screen is {app.screen}"
        [(dtypes, kernels)] = warmed
        assert dtypes == ("float64",) and {"linear", "sigmoid", "cross_entropy"} <= set(kernels)
        assert "conv2d" not in kernels
        assert "linear (float64)" in app.warmed


def test_main_screen_snapshot(snap_compare):
    async def step(pilot):
        await pilot.pause()
        for _ in range(8):
            await pilot.press("n")
            await settle(pilot, pilot.app)
        screen = pilot.app.screen
        for _ in range(100):  # the footer redraws its keys for the idle worker a moment later
            await pilot.pause(0.05)
            if not screen.worker.busy and not screen._footer_busy:
                break
        await pilot.pause(0.2)
        await pilot.pause()

    assert snap_compare(app_for(), terminal_size=(140, 40), run_before=step)


def test_help_snapshot(snap_compare):
    assert snap_compare(app_for(), terminal_size=(100, 30), press=["question_mark"])


async def test_what_if_sigmoid_becomes_relu_and_the_old_run_stays_as_overlay():
    app = app_for()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "c")
        before = app.screen.session.sim.latest["dense1"]["grad_norm"]
        app.action_what_if("activation")
        await pilot.pause()
        await pilot.press(*"sigmoid relu", "enter")
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.session.previous["label"] == "the scenario's settings"
        assert type(screen.session.sim.model.layers[1]).__name__ == "ReLU"
        assert screen.session.sim.completed == 0
        await press(pilot, app, "c")
        after = screen.session.sim.latest["dense1"]["grad_norm"]
        assert after > 1e4 * before  # ReLU keeps the first layer's gradient alive
        assert "was" in str(screen.query_one("#curves").render())
        assert "what if: sigmoid -> relu" in str(screen.query_one("#status").render())


async def test_ctrl_s_saves_an_svg_screenshot_in_the_screenshots_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # never into the current folder (a checkout, say)
    monkeypatch.setenv("NNSIM_SCREENSHOTS", str(tmp_path / "shots"))
    app = app_for()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause(0.5)
    assert not list(tmp_path.glob("*.svg"))
    shots = list((tmp_path / "shots").glob("*.svg"))
    assert len(shots) == 1 and "<svg" in shots[0].read_text()[:500]


async def test_the_palette_compares_a_lessons_variants():
    app = app_for("dead_relu")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "c")
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Variant: the lesson itself", "Variant: leaky"} <= set(commands)
        assert "LeakyReLU" in commands["Variant: leaky"].help
        commands["Variant: leaky"].callback()
        await pilot.pause(0.3)
        screen = app.screen
        assert screen.session.previous is not None and "LeakyReLU" in [
            type(layer).__name__ for layer in screen.session.sim.model.leaves()
        ]
        assert "what if: variant leaky" in str(screen.query_one("#status").render())
        await press(pilot, app, "c")
        assert screen.session.sim.layer_metric("dead_fraction", "leaky_relu2") < 0.05


CHAR_SCENARIO = """
[lesson]
title = "A tiny character model"
text = "Watch it write."
[data]
source = "corpus"
steps = 8
stride = 50
[model]
layers = [
  { type = "embedding", num = 40, dim = 4 },
  { type = "gru", hidden = 8 },
  { type = "dense", units = 40 },
]
loss = "cross_entropy"
[train]
batch_size = 8
iterations = 3
"""


async def test_the_lesson_pane_shows_text_sampled_from_a_character_model(tmp_path):
    path = tmp_path / "char.toml"
    path.write_text(textwrap.dedent(CHAR_SCENARIO))
    app = app_for(path)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        box = app.screen.query_one("#sample")
        assert not box.display  # nothing generated before the first iteration
        await press(pilot, app, "c")
        await pilot.pause(0.2)
        shown = str(box.render())
        session = app.screen.session
        assert box.display and "Generated after iteration 3" in shown
        # the text shown is what the model writes from the corpus's opening, not a copy
        with session.lock:
            assert session.sim.sample_text().replace("\n", "") in shown.replace("\n", "")


CNN_SCENARIO = """
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


async def test_the_palette_shows_an_occlusion_map_and_a_maximised_class(tmp_path):
    from nnsim import visualize

    path = tmp_path / "cnn.toml"
    path.write_text(textwrap.dedent(CNN_SCENARIO))
    app = app_for(path)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "c")
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["Occlusion map"].callback()
        await pilot.pause(0.2)
        session = app.screen.session
        view = session.view()
        assert session.tab == "visual" and "the fall of p" in view.tensor.title
        x, y = session.sim.validation
        expected = visualize.occlusion_map(session.sim.model, x[0], int(y[0]))  # (8, 8)
        np.testing.assert_array_equal(view.tensor.array[:, 9:], expected)
        await press(pilot, app, "full_stop")  # the next example
        assert session.view().tensor.title.startswith("example 2/")
        app.action_what_if("maximise")
        await pilot.pause(0.1)
        await pilot.press("3", "enter")
        await pilot.pause(0.2)
        view = session.view()
        found = visualize.maximize_class(session.sim.model, 3)
        assert "maximising class 3" in view.tensor.title
        np.testing.assert_array_equal(view.tensor.array, found.image[0])


async def test_a_surface_lesson_opens_the_race_screen_and_steps_every_optimiser():
    from nnsim.tui.screens.surface import SurfaceScreen

    app = app_for("optimizers_2d")
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, SurfaceScreen) and screen.run.completed == 0
        await pilot.press("n", "n")
        assert screen.run.completed == 2
        assert all(len(screen.run.path(name)) == 3 for name in screen.run.names)
        shown = str(app.screen.query_one("#surface").render())
        assert "S sgd" in shown and "D adam" in shown
        await pilot.press("c")
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.run.completed == screen.run.iterations:
                break
        assert screen.run.completed == 60
        lesson = str(screen.query_one("#race-lesson #expectations").render())
        assert "✓ met" in lesson and "Plain SGD is still at the saddle" in lesson
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["Variant: valley"].callback()
        await pilot.pause(0.2)
        assert app.screen.run.surface.name == "quadratic" and app.screen.run.completed == 0


async def test_stepping_into_a_conv_shows_each_position_worked_out_by_hand():
    app = app_for("conv_by_hand")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "n", "s", "n", "n")  # batch, into conv1, kernel, position 1
        session = app.screen.session
        cell = session.view().walk
        assert cell is not None and cell.target == "output[0, 0, 0, 0]"
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#numbers").content)
        shown = console.export_text()
        assert "input window" in shown and "kernel" in shown and "products" in shown
        assert "the kernel wrote output[0, 0, 0, 0] = 0" in shown and "✓ the same" in shown
        await press(pilot, app, "n")
        assert session.view().walk.target == "output[0, 0, 0, 1]"
        await press(pilot, app, "o")  # leave the layer: the inspector shows tensors again
        assert session.view().walk is None


async def test_a_gan_lesson_steps_the_discriminator_then_the_generator():
    from nnsim.tui.screens.gan import GanScreen

    app = app_for("gan_1d")
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, GanScreen)
        await pilot.press("n")
        status = str(screen.query_one("#status").render())
        assert "the discriminator moved" in status and "next: G step" in status
        await pilot.press("n")
        status = str(screen.query_one("#status").render())
        assert "the generator moved" in status and screen.run.completed == 1
        shown = str(screen.query_one("#histogram").render())
        assert "░ target" in shown and "█ generated" in shown


async def test_the_time_tab_of_an_attention_layer_shows_its_attention_matrix(tmp_path):
    path = tmp_path / "reverse.toml"
    path.write_text(
        textwrap.dedent("""
        [data]
        source = "reverse_sequences"
        n = 64
        length = 5
        [model]
        layers = [ { type = "embedding", num = 8, dim = 4 }, { type = "gru", hidden = 6 },
                   { type = "attention", steps = 5, name = "att" }, { type = "dense", units = 8 } ]
        loss = "cross_entropy"
        [train]
        batch_size = 16
        iterations = 2
        """)
    )
    app = app_for(path)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "c")
        session = app.screen.session
        session.select("att")
        await press(pilot, app, "4")
        tensor = session.view().tensor
        assert "att attention, example 0" in tensor.title and tensor.array.shape == (5, 5)
        np.testing.assert_allclose(tensor.array.sum(axis=1), 1.0)
        np.testing.assert_array_equal(tensor.array, session.sim.layer("att").attention[0])
