"""Reading one TOML table with type checks, defaults and unknown-key errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..i18n import Localized
from .errors import KeyPath, ScenarioError, did_you_mean, locate

_MISSING = object()
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
_TYPE_NAMES.update({list: "a list", dict: "a table"})


@dataclass
class Source:
    """The scenario file: its path and text, to point errors at lines."""

    path: Path
    text: str

    def error(self, keys: KeyPath, message: str) -> ScenarioError:
        return ScenarioError(self.path, locate(self.text, keys), keys, message)


class Table:
    """A TOML table being read: every key must be taken, or ``done`` reports it unknown."""

    def __init__(self, source: Source, keys: KeyPath, values: Any) -> None:
        if not isinstance(values, dict):
            raise source.error(keys, f"expected a table, got {_describe(values)}")
        self.source, self.keys, self.values = source, list(keys), values
        self.taken: set[str] = set()

    def error(self, key: str | None, message: str) -> ScenarioError:
        return self.source.error(self.keys + ([key] if key is not None else []), message)

    def has(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        """The value of ``key`` checked against ``kind``; ``default`` if absent (required when
        no default is given)."""
        self.taken.add(key)
        if key not in self.values:
            if default is _MISSING:
                raise self.error(key, "is required")
            return default
        value = self.values[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {_names(kinds)}, got {_describe(value)}")
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {_names(kinds)}, got {_describe(value)}")
        return value

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        minimum: float | None = None,
        above: float | None = None,
    ) -> float:
        value = self.get(key, float, default)
        if value is None or value is default:
            return value
        if value != value:
            raise self.error(key, "must be a number, got nan")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum:g}, got {value:g}")
        if above is not None and not value > above:
            raise self.error(key, f"must be greater than {above:g}, got {value:g}")
        return value

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = None) -> int:
        value = self.get(key, int, default)
        if value is not None and value is not default and minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def choice(self, key: str, options, default: Any = _MISSING) -> str:
        value = self.get(key, str, default)
        if value is not default and value not in options:
            raise self.error(key, f"unknown value {value!r}{did_you_mean(value, options)}")
        return value

    def localized(self, key: str, default: Any = _MISSING) -> Localized:
        """A learner-facing string: plain (one language, read the same in both) or a table
        { en = "...", zh = "...", zh_from = "<fingerprint of the English>" }."""
        value = self.get(key, (str, dict), default)
        if not isinstance(value, dict):
            return value if isinstance(value, Localized) else Localized(value)
        t = Table(self.source, self.keys + [key], value)
        texts = Localized(t.get("en", str), t.get("zh", str, None), t.get("zh_from", str, None))
        t.done(known=["en", "zh", "zh_from"])
        return texts

    def table(self, key: str, default: Any = _MISSING) -> Table | None:
        value = self.get(key, dict, default)
        return None if value is None else Table(self.source, self.keys + [key], value)

    def rest(self) -> dict[str, Any]:
        """Every key not taken yet (passed on to a generator that checks its own options)."""
        remaining = {k: v for k, v in self.values.items() if k not in self.taken}
        self.taken |= set(remaining)
        return remaining

    def done(self, known: list[str] | None = None) -> None:
        """Reject any key that was not read."""
        for key in self.values:
            if key not in self.taken:
                options = known if known is not None else sorted(self.taken)
                raise self.error(key, f"unknown key {key!r}{did_you_mean(key, options)}")


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return f"{value!r} ({name})" if kind in (int, float, str) else name
    return type(value).__name__
