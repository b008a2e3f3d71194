"""How the thin Simulator keeps its public attributes while its parts own them."""

from __future__ import annotations

from typing import Any


class Part:
    """An attribute of the Simulator that one of its parts keeps (read and written there)."""

    def __init__(self, part: str, name: str | None = None) -> None:
        self.part, self.name = part, name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, sim: Any, owner: type | None = None) -> Any:
        if sim is None:
            return self
        return getattr(getattr(sim, self.part), self.name)

    def __set__(self, sim: Any, value: Any) -> None:
        setattr(getattr(sim, self.part), self.name, value)
