"""Driving the interface in tests: read the terminal as drawn, wait for the worker."""

import html
import re

from nnsim.tui.screens.loading import LoadingScreen
from nnsim.tui.screens.main import MainScreen
from nnsim.tui.screens.opening import OpeningScreen


def screen_lines(app) -> list[str]:
    """The terminal as drawn: one string per row, each character in its column."""
    svg = app.export_screenshot()
    width, height = app.size
    cell = None
    rows = [[" "] * width for _ in range(height)]
    pattern = r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
    pattern += r'clip-path="url\(#[^)]*-line-(\d+)\)">([^<]*)</text>'
    for x, length, line, content in re.findall(pattern, svg):
        text = html.unescape(content).replace("\xa0", " ")
        if cell is None and text:
            cell = float(length) / len(text)
        column = round(float(x) / cell) if cell else 0
        for i, char in enumerate(text):
            if column + i < width:
                rows[int(line)][column + i] = char
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
