"""The learner's language: English (the default) or Chinese, for lessons, the interface, the
reports and the messages learners meet.

The language is chosen once per process (``--lang``, else ``NNSIM_LANG``, else the locale:
``LC_ALL``, ``LC_MESSAGES``, ``LANG``; ``zh_*`` gives Chinese) and can be switched at run time
(the interface's palette). Two kinds of text follow it:

- the program's own strings, marked ``_("...")`` and translated through a gettext catalogue
  (``nnsim/i18n/locale/zh/LC_MESSAGES/nnsim.po``, compiled with Babel into ``nnsim.mo``);
- a lesson's strings, written in both languages in the lesson file itself and held as
  :class:`Localized` values, each Chinese beside a fingerprint of the English it was made from,
  so a changed English shows its translation as stale (``nnsim translations``).
"""

from __future__ import annotations

import gettext
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

LANGUAGES = ("en", "zh")
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
_state = {"language": None}


class LanguageError(ValueError):
    """A language nnsim does not have."""


def choose_language(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """``explicit`` (from ``--lang``), else ``NNSIM_LANG``, else the locale, else English."""
    for source, value in (("--lang", explicit), ("NNSIM_LANG", environ.get("NNSIM_LANG"))):
        if value:
            if value not in LANGUAGES:
                raise LanguageError(
                    f"{source} {value!r}: nnsim speaks {' and '.join(LANGUAGES)} "
                    "(en: English, zh: Chinese)"
                )
            return value
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable, "")
        if value:  # the first one set decides, as the C library does
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def set_language(language: str) -> None:
    if language not in LANGUAGES:
        raise LanguageError(f"unknown language {language!r}; nnsim has {', '.join(LANGUAGES)}")
    _state["language"] = language


def language() -> str:
    """The language now: chosen from the environment on first use unless set."""
    if _state["language"] is None:
        try:
            _state["language"] = choose_language()
        except LanguageError:
            _state["language"] = "en"  # a bad NNSIM_LANG is reported by the CLI, not here
    return _state["language"]


@cache
def _catalogue(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    folder = resources.files(__package__) / "locale"
    with resources.as_file(folder) as path:
        return gettext.translation(
            "nnsim", localedir=str(path), languages=[language], fallback=True
        )


def _(message: str) -> str:
    """``message`` in the current language (the English itself where no translation exists)."""
    return _catalogue(language()).gettext(message)


def N_(message: str) -> str:
    """Marks a string for the catalogue without translating it: a table or constant made at
    import, translated with ``_()`` where it is shown (so a switch of language shows)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalogue(language()).ngettext(singular, plural, n)


def fingerprint(english: str) -> str:
    """The fingerprint of an English text a translation was made from: whitespace-blind, so
    re-flowing a paragraph does not make its translation stale."""
    return hashlib.sha256(" ".join(english.split()).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Localized:
    """A lesson's string in English and, where translated, Chinese. A plain string in a lesson
    file (one language) is ``Localized(text)`` and reads the same in both languages.
    ``str()`` gives it in the current language."""

    en: str
    zh: str | None = None
    zh_from: str | None = None  # the fingerprint of the English the Chinese was made from

    @classmethod
    def of(cls, value, default: str = "") -> Localized:
        """A string or an {en, zh, zh_from} table as read from TOML, unchecked (listings that
        must not fail on one bad file; lessons are read through the checked schema)."""
        if isinstance(value, dict):
            english = value.get("en")
            return cls(
                english if isinstance(english, str) else default,
                value.get("zh") if isinstance(value.get("zh"), str) else None,
                value.get("zh_from") if isinstance(value.get("zh_from"), str) else None,
            )
        return cls(value if isinstance(value, str) else default)

    def get(self, language_code: str) -> str:
        if language_code == "zh" and self.zh:
            return self.zh
        return self.en

    def __str__(self) -> str:
        return self.get(language())

    def map(self, change) -> Localized:
        """Each language's text changed by ``change`` (the fingerprint stays)."""
        return Localized(
            change(self.en), None if self.zh is None else change(self.zh), self.zh_from
        )

    def __bool__(self) -> bool:
        return bool(self.en or self.zh)

    @property
    def stale(self) -> bool:
        """Whether the Chinese was made from another English than today's."""
        return self.zh is not None and self.zh_from != fingerprint(self.en)


__all__ = [
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LanguageError",
    "Localized",
    "choose_language",
    "fingerprint",
    "language",
    "N_",
    "ngettext",
    "set_language",
    "_",
]
