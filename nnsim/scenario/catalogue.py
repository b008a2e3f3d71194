"""The shipped lessons: where they live, their curriculum order, and finding one by name.

The lessons are kept in the repository's top-level ``samples/`` folder. A wheel installs that
folder as the package data ``nnsim/lessons/`` (see pyproject.toml); an editable install or a
checkout reads ``samples/`` itself, so a teacher's edit there shows at once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..i18n import Localized
from .errors import ScenarioError, did_you_mean

__all__ = ["SAMPLES", "LessonEntry", "find", "lesson_listing", "lesson_sections", "shipped_lessons"]


def _lessons_folder() -> Path:
    installed = resources.files("nnsim") / "lessons"
    if installed.is_dir():
        # an installed package is a folder on disk, and scenarios name files beside them
        # (init_from = "pretrained/..."), so the lessons are handed out as real paths
        return Path(str(installed))
    return Path(__file__).resolve().parents[2] / "samples"


#: The folder of the shipped lessons (index.toml, README.md, pretrained/ and the lessons).
SAMPLES = _lessons_folder()


def lesson_sections() -> list[tuple[str, list[Path]]]:
    """The shipped lessons in curriculum order, by section (index.toml); lessons not in the
    index come last under "Other scenarios"."""
    if not SAMPLES.is_dir():
        return []
    files = {p.stem: p for p in SAMPLES.glob("*.toml") if p.name != "index.toml"}
    sections, listed = [], set()
    index = SAMPLES / "index.toml"
    if index.exists():
        for section in tomllib.loads(index.read_text(encoding="utf-8")).get("section", []):
            present = [files[name] for name in section.get("lessons", []) if name in files]
            listed.update(p.stem for p in present)
            if present:
                sections.append((str(Localized.of(section.get("title"))), present))
    others = sorted(p for name, p in files.items() if name not in listed)
    if others:
        sections.append(("Other scenarios", others))
    return sections


@dataclass(frozen=True)
class LessonEntry:
    """A shipped lesson as listed (`nnsim lessons`, the picker): in the current language."""

    name: str
    title: str
    path: Path
    section: str
    pytorch: str


def lesson_listing() -> list[LessonEntry]:
    """Every shipped lesson in curriculum order, its title read without building it (a file
    that cannot be read is listed as such, not fatal: the picker must still open)."""
    entries = []
    for section, paths in lesson_sections():
        for path in paths:
            try:
                lesson = tomllib.loads(path.read_text(encoding="utf-8")).get("lesson", {})
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                lesson = {"title": f"{path.stem} (cannot be read)"}
            lesson = lesson if isinstance(lesson, dict) else {}
            title = str(Localized.of(lesson.get("title"), path.stem))
            pytorch = lesson.get("pytorch", "")
            pytorch = pytorch.strip("\n") if isinstance(pytorch, str) else ""
            entries.append(LessonEntry(path.stem, title, path, section, pytorch))
    return entries


def shipped_lessons() -> list[Path]:
    """The shipped lesson files, in curriculum order."""
    return [path for _, paths in lesson_sections() for path in paths]


def find(name: str | Path) -> Path:
    """A scenario file's path, or the file of the shipped lesson called ``name``."""
    path = Path(name)
    if path.exists() or path.suffix == ".toml" or len(path.parts) > 1:
        return path
    for lesson in shipped_lessons():
        if lesson.stem == str(name):
            return lesson
    names = [p.stem for p in shipped_lessons()]
    raise ScenarioError(
        path,
        None,
        [],
        f"neither a scenario file nor a shipped lesson{did_you_mean(str(name), names)}",
    )
