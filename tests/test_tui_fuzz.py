"""Thousands of random keys, as a learner mashing the keyboard would press them: debugger
keys, the palette with random text, prompts, escapes, help, resizes. The interface must stay
alive and the session consistent (a seeded run, so a failure can be replayed)."""

import os
import random
import traceback

import pytest
from training import XOR_DATA_AND_MODEL

from nnsim.tui.app import NnsimApp
from nnsim.tui.screens.main import MainScreen

SCENARIO = (
    """
[lesson]
title = "random keys"
text = "Press anything."
"""
    + XOR_DATA_AND_MODEL
    + """[train]
lr = 0.5
batch_size = 4
iterations = 5
[[variants]]
name = "slow"
train = { lr = 0.01 }
[[breakpoints]]
when = "iteration == 3"
"""
)

DEBUGGER_KEYS = list("nsofcpbBud12345,.-=?") + [
    "left_square_bracket",
    "right_square_bracket",
    "R",
    "escape",
    "enter",
    "up",
    "down",
    "tab",
]
TEXT = list("abcdefghijklmnopqrstuvwxyz 0123456789.") + ["backspace"]
SIZES = [(80, 24), (120, 40), (60, 20), (160, 50), (100, 30)]
KEYS = int(os.environ.get("NNSIM_FUZZ_KEYS", "2000"))


def consistent(screen: MainScreen) -> None:
    sim = screen.session.sim
    assert 0 <= sim.completed <= sim.iterations
    indices = [event.index for event in sim.events]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    view = screen.session.view()
    assert view.completed == sim.completed and len(view.layers) == len(screen.session.summary_rows)


@pytest.mark.slow
async def test_random_keys_never_kill_the_interface(tmp_path):
    path = tmp_path / "keys.toml"
    path.write_text(SCENARIO)
    app = NnsimApp(str(path), warm=False, screenshots=tmp_path / "shots")
    quits = []
    app.action_quit = lambda: quits.append(1)  # the palette's Quit ends a session by design
    rng = random.Random(20261206)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen):
                break
        sessions = set()
        for i in range(KEYS):
            roll = rng.random()
            if roll < 0.04:
                await pilot.press("ctrl+p")
                await pilot.press(*rng.choices(TEXT, k=rng.randint(0, 6)))
                await pilot.press(rng.choice(["enter", "escape", "down", "enter", "escape"]))
            elif roll < 0.05:
                await pilot.resize_terminal(*rng.choice(SIZES))
            elif roll < 0.07:
                await pilot.press(*rng.choices(TEXT, k=rng.randint(1, 5)), "enter")
            elif roll < 0.075:
                await pilot.press("ctrl+s")
            else:
                await pilot.press(rng.choice(DEBUGGER_KEYS))
            if i % 50 == 0:
                await pilot.pause(0.02)
            if not app.is_running:
                error = app._exception
                trace = "".join(traceback.format_exception(error)) if error else "no exception"
                raise AssertionError(f"the app stopped after {i + 1} keys:\n{trace}")
            if isinstance(app.screen, MainScreen):
                sessions.add(id(app.screen.session))
        await pilot.pause(0.5)
        assert app.is_running and app._exception is None
        for _ in range(10):  # leave any prompt or modal
            if isinstance(app.screen, MainScreen):
                break
            await pilot.press("escape")
            await pilot.pause(0.1)
        if isinstance(app.screen, MainScreen):
            screen = app.screen
            screen.worker.pause()
            for _ in range(200):
                if not screen.worker.busy:
                    break
                await pilot.pause(0.05)
            consistent(screen)
        assert sessions  # the debugger was reached
