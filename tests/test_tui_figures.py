"""The drawn views on screen at 80x24 and 120x40: the decision map on 6, an activation's f and
f' on its weights tab (1), and the activation std line in the left column (under the gradient
flow; at 80 columns, where the flow pane has no row to spare, under the model tree)."""

import pytest
from training import XOR_WITH_ADAM
from tui_driving import screen_lines, settle

from nnsim.tui.app import NnsimApp

XOR = (
    """
[lesson]
title = "xor"
text = "Press 6 for the decision map."
"""
    + XOR_WITH_ADAM
)

SIZES = [(80, 24), (120, 40)]


def region_text(app, selector: str) -> str:
    region = app.screen.query_one(selector).region
    lines = screen_lines(app)[region.y : region.bottom]
    return "\n".join(line[region.x : region.right] for line in lines)


async def press(pilot, app, *keys):
    for key in keys:
        await pilot.press(key)
        await settle(pilot, app)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_6_draws_the_decision_map_and_1_on_an_activation_its_f_and_f_prime(size, tmp_path):
    path = tmp_path / "xor.toml"
    path.write_text(XOR)
    app = NnsimApp(str(path), warm=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        if size == (80, 24):
            await press(pilot, app, "l")  # the lesson comes first there
        await press(pilot, app, "c", "6")
        drawn = region_text(app, "#inspector")
        assert "map: class regions" in drawn and "6 map" in drawn
        assert "o" in drawn and "x" in drawn and "class 1" in drawn  # points and legend
        assert any(glyph in drawn for glyph in "─│╱╲")  # dense1's unit lines
        await press(pilot, app, "d", "1")  # tanh1's weights tab
        drawn = region_text(app, "#inspector")
        assert "tanh1: tanh, f(z) and f'(z)" in drawn
        assert "max f' = 1 at z = 0" in drawn and "batch" in drawn
        assert any("\u2800" < char <= "\u28ff" for char in drawn)  # the braille curves
        drawn = region_text(app, "#actstd")
        assert "activation std by depth" in drawn and "tanh1 0." in drawn


async def test_the_map_tab_says_why_it_is_empty_for_a_one_feature_input():
    app = NnsimApp("activations", warm=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await press(pilot, app, "6")
        drawn = " ".join(region_text(app, "#inspector").split())
        assert "needs inputs of 2 features" in drawn
