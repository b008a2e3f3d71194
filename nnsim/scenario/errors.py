"""ScenarioError, and finding the line of a key path in the TOML text for the message."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

KeyPath = Sequence[str | int]


class ScenarioError(ValueError):
    """A scenario that cannot be read or built: names the file, the line and the key path."""

    def __init__(self, path: Path | str, line: int | None, keys: KeyPath, message: str) -> None:
        self.path, self.line, self.keys, self.message = str(path), line, list(keys), message
        where = f"{self.path}:{line}" if line else self.path
        key_text = format_keys(keys)
        super().__init__(f"{where}: {key_text + ': ' if key_text else ''}{message}")


def format_keys(keys: KeyPath) -> str:
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def did_you_mean(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; expected one of: {', '.join(known)}"


def locate(text: str, keys: KeyPath) -> int | None:
    """The 1-based line where ``keys`` is written, as far as a light scan can tell.

    Follows ``[table]`` headers, ``key =`` lines and, for list indices, the items of arrays of
    inline tables (one ``{`` per item at the array's own nesting level). None when lost.
    """
    lines = text.splitlines()
    if not keys:
        return None
    offsets = _line_offsets(text)
    pos = _find_table(text, keys[0])
    if pos is None:
        return None
    rest = list(keys[1:])
    if not rest and keys[0]:
        return _line_at(offsets, pos)
    # inside the table (or its [[array]] element): walk the remaining keys
    index = 0
    if rest and isinstance(rest[0], int):  # [[expect]] / [[breakpoints]] element
        pos = _nth_header(text, keys[0], rest[0])
        if pos is None:
            return None
        rest = rest[1:]
    for key in rest:
        if isinstance(key, int):
            found = _nth_item(text, pos, key)
        else:
            found = _find_key(text, pos, key)
        if found is None:
            return _line_at(offsets, pos) if index else None
        pos = found
        index += 1
    line = _line_at(offsets, pos)
    return line if line <= len(lines) else None


def _line_offsets(text: str) -> list[int]:
    return [m.start() for m in re.finditer(r"^", text, re.M)]


def _line_at(offsets: list[int], pos: int) -> int:
    lo, hi = 0, len(offsets)
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if offsets[mid] <= pos:
            lo = mid
        else:
            hi = mid
    return lo + 1


def _find_table(text: str, name) -> int | None:
    match = re.search(rf"^[ \t]*\[\[?[ \t]*{re.escape(str(name))}[ \t]*\]\]?", text, re.M)
    return match.start() if match else None


def _nth_header(text: str, name, n: int) -> int | None:
    pattern = rf"^[ \t]*\[\[[ \t]*{re.escape(str(name))}[ \t]*\]\]"
    matches = list(re.finditer(pattern, text, re.M))
    return matches[n].start() if n < len(matches) else None


def _find_key(text: str, start: int, key: str) -> int | None:
    """The next ``key =`` after ``start`` but before the next [table] header."""
    header = re.compile(r"^[ \t]*\[", re.M).search(text, text.find("\n", start) + 1)
    end = header.start() if header else len(text)
    match = re.compile(rf"(?<![\w.]){re.escape(key)}\s*=").search(text, start, end)
    return match.start() if match else None


def _nth_item(text: str, start: int, n: int) -> int | None:
    """Position of the n-th item of the array that starts after ``start``."""
    i = text.find("[", start)
    if i < 0:
        return None
    depth, count, in_string = 0, -1, None
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == in_string:
                in_string = None
        elif ch in "\"'":
            in_string = ch
        elif ch in "[{":
            depth += 1
            if depth == 2:
                count += 1
                if count == n:
                    return i
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return None
        i += 1
    return None
