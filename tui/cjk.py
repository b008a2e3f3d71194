"""Chinese text wraps between any two characters, as Chinese does: Textual's word wrap cuts
lines only at spaces, so a paragraph of Chinese (which has none) after one English word or
number jumped whole to the next line, leaving ragged half-empty lines in the lesson pane.

``install()`` gives Textual's wrapper one chunk per Chinese character (a Latin word stays one
chunk); it changes nothing for text without wide characters."""

from __future__ import annotations

import re

WIDE = "\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
CHUNK = re.compile(rf"[{WIDE}]\s*|[^\s{WIDE}]+\s*|\s+")


def install() -> bool:
    """Whether Textual's wrapper now breaks between wide characters (False on a Textual
    whose wrapper has moved: lines then break at spaces only, as before)."""
    try:
        from textual import _wrap
    except ImportError:
        return False
    if not isinstance(getattr(_wrap, "re_chunk", None), re.Pattern):
        return False
    _wrap.re_chunk = CHUNK
    return True
