"""Keeping the interface's Chinese catalogue in step with the code (a developers' tool: it
needs Babel, a test dependency; nnsim itself reads the compiled catalogue with the standard
library's gettext).

    python -m nnsim.i18n.catalogue          # extract, merge into nnsim.po, compile nnsim.mo
    python -m nnsim.i18n.catalogue --check  # exit 1 if a string is new, gone or untranslated

Strings are marked ``_("...")`` (or ``ngettext``) in nnsim/ and tui/. A new string lands in
nnsim.po with an empty translation; the test suite fails until it is translated and compiled.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (ROOT / "nnsim", ROOT / "tui")
FOLDER = Path(__file__).resolve().parent / "locale" / "zh" / "LC_MESSAGES"
PO, MO = FOLDER / "nnsim.po", FOLDER / "nnsim.mo"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extracted() -> Catalog:
    """Every marked string of the sources, with where it is used."""
    catalog = Catalog(project="nnsim", charset="utf-8")
    for folder in SOURCES:
        for filename, line, message, comments, context in extract_from_dir(
            folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            where = (str((folder / filename).relative_to(ROOT)), line)
            catalog.add(message, None, [where], auto_comments=comments, context=context)
    return catalog


def current() -> Catalog:
    with PO.open("rb") as handle:
        return read_po(handle, locale="zh_CN", domain="nnsim")


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def problems() -> list[str]:
    """What is out of step: strings marked but not in the catalogue, catalogued but no longer
    marked, untranslated, and a compiled catalogue older than its source."""
    marked, catalog = extracted(), current()
    ids = {m.id for m in marked if m.id}
    known = {m.id for m in catalog if m.id}
    found = [f"new, not in nnsim.po: {m!r}" for m in sorted(ids - known, key=str)]
    found += [f"no longer used: {m!r}" for m in sorted(known - ids, key=str)]
    found += [
        f"untranslated: {m.id!r}"
        for m in catalog
        if m.id and m.id in ids and not (all(m.string) if isinstance(m.id, tuple) else m.string)
    ]
    if not MO.exists() or MO.read_bytes() != compiled(catalog):
        found.append("nnsim.mo is not compiled from nnsim.po: run python -m nnsim.i18n.catalogue")
    return found


def update() -> None:
    """Merge the sources' strings into nnsim.po (keeping translations) and compile nnsim.mo."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    catalog = current() if PO.exists() else Catalog(locale="zh_CN", domain="nnsim")
    catalog.update(extracted(), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.project, catalog.version, catalog.fuzzy = "nnsim", "", False
    catalog.copyright_holder = "the nnsim authors"
    catalog.msgid_bugs_address = ""
    with PO.open("wb") as handle:  # no line numbers: moving code must not change the file
        write_po(handle, catalog, width=100, sort_by_file=True, include_lineno=False)
    MO.write_bytes(compiled(current()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    if not args.check:
        update()
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
