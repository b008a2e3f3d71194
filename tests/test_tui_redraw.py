"""Redrawing a Static only as far as needed: a new text that wraps to as many lines as the old
one repaints the widget without laying the screen out again, and a text that needs another
line still gets its room."""

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from nnsim.tui.widgets import redraw


class OneStatic(App):
    CSS = "Static { width: 20; height: auto; }"

    def compose(self) -> ComposeResult:
        yield Static(id="stats")


def recorded_layouts(static: Static) -> list[bool]:
    layouts: list[bool] = []
    update = static.update

    def spy(content="", *, layout: bool = True) -> None:
        layouts.append(layout)
        update(content, layout=layout)

    static.update = spy
    return layouts


async def test_a_wrapped_line_of_the_same_height_is_redrawn_without_a_layout():
    app = OneStatic()
    async with app.run_test(size=(40, 10)) as pilot:
        static = app.query_one("#stats", Static)
        layouts = recorded_layouts(static)
        redraw.show(static, Text("mean 0.12  std 0.5  min -1  max 2"))  # 33 cells: 2 lines
        await pilot.pause()
        assert static.size.height == 2
        redraw.show(static, Text("mean 0.34  std 0.6  min -2  max 3"))  # other values, 2 lines
        await pilot.pause()
        assert layouts == [True, False]
        assert "0.34" in "".join(static.render_line(y).text for y in range(2))
        redraw.show(static, Text("mean 0.34  std 0.6  min -2  max 3  saturated 90%"))  # 3 lines
        await pilot.pause()
        assert layouts == [True, False, True]
        assert static.size.height == 3
        redraw.show(static, Text("mean 0.34  std 0.6  min -2  max 3  saturated 90%"))
        assert layouts == [True, False, True]  # the same text: nothing redrawn


def test_lines_that_fit_are_counted_without_wrapping():
    assert redraw.exact_lines(Text("ab\ncd"), 5) == 2
    assert redraw.exact_lines("a long line", 5) is None
