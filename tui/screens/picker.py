"""The lesson picker: `nnsim` with no arguments starts here."""

from __future__ import annotations

from rich.padding import Padding
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from nnsim.i18n import _
from nnsim.scenario import lesson_listing


def lesson_titles() -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(name, title)]) in curriculum order, as `nnsim lessons` lists them."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for lesson in lesson_listing():
        if not sections or sections[-1][0] != lesson.section:
            sections.append((lesson.section, []))
        sections[-1][1].append((lesson.name, lesson.title))
    return sections


def entry(name: str, title: str) -> Padding:
    """A lesson's line: its title, then its name (what `nnsim tui NAME` takes), indented as a
    whole so that a title wrapped in a narrow terminal never reads as a section."""
    return Padding(Text.assemble(title, ("  " + name, "dim")), (0, 0, 0, 2))


class PickerScreen(Screen[str]):
    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen #heading { width: 80; height: 3; content-align: center middle; text-style: bold; }
    PickerScreen OptionList { width: 80; height: 1fr; max-height: 30; }
    """

    def compose(self) -> ComposeResult:
        heading = _("nnsim: pick a lesson (enter to open, ctrl+q to quit)")
        yield Static(heading, id="heading")
        sections = lesson_titles()
        options = []
        for section, entries in sections:
            options.append(Option(Text(section, style="bold"), disabled=True))
            options += [Option(entry(name, title), id=name) for name, title in entries]
        listing = OptionList(*options)
        if not sections:
            listing.add_option(Option(_("no lessons found in samples/"), disabled=True))
        yield listing
        yield Footer()

    @on(OptionList.OptionSelected)
    def _chosen(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(message.option.id)
