"""What a session says to the learner, in the learner's language: notes that keep their
English for ``--json``, the labels of runs, and the refusals of commands."""

from __future__ import annotations

from ..i18n import N_, _


class Note(str):
    """A note in English (as ``--json`` and logs give it) that reads in the learner's
    language when shown: :meth:`shown`, or formatted into a sentence (``"{}".format(note)``,
    an f-string), so it is translated where it is read, not where it is made."""

    message: str
    fields: dict

    def __new__(cls, message: str, **fields) -> Note:
        note = super().__new__(cls, message.format(**fields))
        note.message, note.fields = message, fields
        return note

    def shown(self) -> str:
        return _(self.message).format(**self.fields)

    def __format__(self, spec: str) -> str:
        return format(self.shown(), spec)


def shown_note(note: str) -> str:
    """A note in the learner's language (a plain string as it is)."""
    return note.shown() if isinstance(note, Note) else note


class CommandError(ValueError):
    """A command that cannot run now (the run is over, an unknown command): the message
    says why; nothing changed."""


def refused(message: str, **fields) -> CommandError:
    """A CommandError saying ``message`` (marked ``N_``) in the learner's language."""
    return CommandError(_(message).format(**fields))


def describe_change(key: str, value) -> str:
    """One what-if change as a run's label (option and variant names are not translated)."""
    if key == "activation":
        old, new = value
        return f"{old} -> {new}"
    if key == "optimizer":
        return Note(N_("optimiser {name}"), name=value)
    return f"{key} {value}"
