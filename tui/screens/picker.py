"""The lesson picker: `nnsim` with no arguments starts here."""

from __future__ import annotations

import tomllib

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from nnsim.scenario import shipped_lessons


def lesson_titles() -> list[tuple[str, str]]:
    entries = []
    for path in shipped_lessons():
        try:
            with path.open("rb") as handle:
                title = tomllib.load(handle).get("lesson", {}).get("title", path.stem)
        except (OSError, tomllib.TOMLDecodeError):
            title = f"{path.stem} (cannot be read)"
        entries.append((path.stem, title))
    return entries


class PickerScreen(Screen[str]):
    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen #heading { width: 80; height: 3; content-align: center middle; text-style: bold; }
    PickerScreen OptionList { width: 80; height: 1fr; max-height: 30; }
    """

    def compose(self) -> ComposeResult:
        yield Static("nnsim: pick a lesson (enter to open, ctrl+q to quit)", id="heading")
        lessons = lesson_titles()
        listing = OptionList(*[Option(f"{title}   ({name})", id=name) for name, title in lessons])
        if not lessons:
            listing.add_option(Option("no lessons found in samples/", disabled=True))
        yield listing
        yield Footer()

    @on(OptionList.OptionSelected)
    def _chosen(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(message.option.id)
