"""Chinese text wraps between any two characters, as Chinese does: Rich's and Textual's word
wrap cut lines only at spaces, so a paragraph of Chinese (which has none) after one English
word or number jumped whole to the next line, leaving ragged half-empty lines in the lesson
pane, and a run longer than the line was cut anywhere, even inside an English word.

``install()`` gives both wrappers (Rich's, which Textual's Markdown and Static use, and
Textual's own, for its text areas) one word per Chinese character, a Latin word staying one
word; it changes nothing for text without wide characters."""

from __future__ import annotations

import re

WIDE = "\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
# no line starts with closing punctuation nor ends with opening punctuation (kinsoku)
CLOSING = "，。、；：？！）」』》】〉…—"
OPENING = "（「『《【〈"
CHARACTER = f"[{OPENING}]*[{WIDE}][{CLOSING}]*"
LATIN = f"[^\\s{WIDE}]+[{CLOSING}]*"  # a word, with the Chinese punctuation after it
CHUNK = re.compile(rf"{CHARACTER}\s*|{LATIN}\s*|\s+")  # textual._wrap.re_chunk's form
WORD = re.compile(rf"\s*(?:{CHARACTER}|{LATIN})\s*")  # rich._wrap.re_word's form


def install() -> bool:
    """Whether both wrappers now break between wide characters (False where a new Rich or
    Textual moved them: lines then break at spaces only, as before)."""
    installed = True
    for module, name, pattern in (
        ("rich._wrap", "re_word", WORD),
        ("textual._wrap", "re_chunk", CHUNK),
    ):
        try:
            wrapper = __import__(module, fromlist=[name])
        except ImportError:
            installed = False
            continue
        if isinstance(getattr(wrapper, name, None), re.Pattern):
            setattr(wrapper, name, pattern)
        else:
            installed = False
    return installed
