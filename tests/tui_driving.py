"""Driving the interface in tests: read the terminal as drawn, wait for the worker."""

import html
import re

from rich.cells import cell_len

from nnsim.tui.screens.loading import LoadingScreen
from nnsim.tui.screens.main import MainScreen
from nnsim.tui.screens.opening import OpeningScreen


def screen_lines(app) -> list[str]:
    """The terminal as drawn: one string per row, each character in its cell (a wide
    character, such as Chinese, fills two cells and appears once)."""
    svg = app.export_screenshot()
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    pattern = r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
    pattern += r'clip-path="url\(#[^)]*-line-(\d+)\)">([^<]*)</text>'
    texts = [
        (float(x), float(length), int(line), html.unescape(content).replace("\xa0", " "))
        for x, length, line, content in re.findall(pattern, svg)
    ]
    # the width of a cell, from text of one cell a character
    cell = next((length / len(text) for _, length, _, text in texts if text.isascii()), 1.0)
    for x, _, line, text in texts:
        column = round(x / cell)
        for char in text:
            size = cell_len(char)
            if size and column + size <= width:  # a zero-width joiner or selector: skipped
                rows[line][column] = char
                for extra in range(1, size):
                    rows[line][column + extra] = ""  # the wide character's second cell
            column += size
    return ["".join(row) for row in rows]


async def settle(pilot, app):
    """Wait until the lesson is open and the worker has finished the last command."""
    for _ in range(600):
        await pilot.pause(0.05)
        if isinstance(app.screen, (OpeningScreen, LoadingScreen)):
            continue  # still opening the lesson
        if not isinstance(app.screen, MainScreen) or app.screen.running is None:
            await pilot.pause(0.05)  # the last refresh after the worker's reply
            return
    raise AssertionError("the command did not finish")
