"""The tree of a parsed condition, its type rules and its evaluation (the parser is
nnsim.sim.conditions): IEEE arithmetic, so that x / 0 is inf and a NaN makes every
comparison false, and a breakpoint never crashes a run."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

from . import registry

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|!=|[<>()+\-*/,.])"
    r"|(?P<bad>\S))"
)


class ConditionError(ValueError):
    """A condition that cannot be parsed or does not fit the model; ``column`` is 1-based."""

    def __init__(self, text: str, column: int, message: str) -> None:
        self.text, self.column, self.message = text, column, message
        caret = " " * (column - 1) + "^"
        super().__init__(f"{message} (column {column})\n  {text}\n  {caret}")


class Context(Protocol):
    """What a condition reads: implemented by the simulator (and, with ``variant``, by the
    runs of a lesson and its variants; see nnsim.scenario.runs)."""

    def layer_metric(self, metric: str, layer: str) -> float: ...

    def model_metric(self, metric: str) -> float | bool: ...

    def variable(self, name: str) -> float: ...


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, op, end
    text: str
    column: int


def _tokens(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:  # only trailing spaces remain
            break
        kind = match.lastgroup
        column = match.start(kind) + 1
        if kind == "bad":
            raise ConditionError(text, column, f"unexpected character {match.group(kind)!r}")
        tokens.append(_Token(kind, match.group(kind), column))
        pos = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Node:
    column: int


@dataclass(frozen=True)
class Number(Node):
    value: float


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class Variable(Node):
    name: str
    variant: str | None = None  # "relu.loss": the run of variant relu


@dataclass(frozen=True)
class Metric(Node):
    name: str
    layer: str | None
    variant: str | None = None


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / < <= > >= == != and or
    left: Node
    right: Node


_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


# ---------------------------------------------------------------- types and evaluation


def _type(node: Node, text: str) -> str:
    """'number' or 'bool', or ConditionError where the operands do not fit."""
    if isinstance(node, Number | Variable):
        return "number"
    if isinstance(node, Boolean):
        return "bool"
    if isinstance(node, Metric):
        entry = registry.lookup("layer" if node.layer else "model", node.name)
        return "bool" if entry is not None and entry.boolean else "number"
    if isinstance(node, Unary):
        inner = _type(node.operand, text)
        wanted = "bool" if node.op == "not" else "number"
        if inner != wanted:
            raise ConditionError(text, node.column, f"{node.op!r} needs a {_noun(wanted)}")
        return wanted
    left, right = _type(node.left, text), _type(node.right, text)
    if node.op in ("and", "or"):
        if left != "bool" or right != "bool":
            raise ConditionError(
                text, node.column, f"{node.op!r} joins conditions: compare values first"
            )
        return "bool"
    if left != "number" or right != "number":
        raise ConditionError(text, node.column, f"{node.op!r} needs numbers on both sides")
    return "bool" if node.op in _COMPARISONS else "number"


def _noun(kind: str) -> str:
    return "condition" if kind == "bool" else "number"


def _divide(a: float, b: float) -> float:
    # IEEE division, which Python's float refuses for b == 0
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _evaluate(node: Node, ctx: Context) -> float | bool:
    if isinstance(node, Number | Boolean):
        return node.value
    if isinstance(node, Variable | Metric) and node.variant is not None:
        ctx = ctx.variant(node.variant)
    if isinstance(node, Variable):
        return float(ctx.variable(node.name))
    if isinstance(node, Metric):
        if node.layer is None:
            return ctx.model_metric(node.name)
        return float(ctx.layer_metric(node.name, node.layer))
    if isinstance(node, Unary):
        value = _evaluate(node.operand, ctx)
        return (not value) if node.op == "not" else -value
    if node.op == "and":
        return bool(_evaluate(node.left, ctx)) and bool(_evaluate(node.right, ctx))
    if node.op == "or":
        return bool(_evaluate(node.left, ctx)) or bool(_evaluate(node.right, ctx))
    a, b = _evaluate(node.left, ctx), _evaluate(node.right, ctx)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return a * b
    if node.op == "/":
        return _divide(a, b)
    return {
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
        "==": a == b,
        "!=": a != b,
    }[node.op]


def _uses_variants(node: Node) -> bool:
    if isinstance(node, Variable | Metric):
        return node.variant is not None
    if isinstance(node, Unary):
        return _uses_variants(node.operand)
    if isinstance(node, Binary):
        return _uses_variants(node.left) or _uses_variants(node.right)
    return False


def _refresh(scope: str, name: str) -> str:
    entry = registry.lookup(scope, name)
    return "any" if entry is None else entry.refresh


def _dependencies(node: Node) -> set[tuple[str, str | None]]:
    if isinstance(node, Variable):
        return {(_refresh("variable", node.name), None)}
    if isinstance(node, Metric):
        if node.layer is None:
            return {(_refresh("model", node.name), None)}
        return {(_refresh("layer", node.name), node.layer)}
    if isinstance(node, Unary):
        return _dependencies(node.operand)
    if isinstance(node, Binary):
        return _dependencies(node.left) | _dependencies(node.right)
    return set()


@dataclass(frozen=True)
class Condition:
    """A parsed, checked condition. ``dependencies`` are the (refresh kind, layer) pairs its
    value depends on, so the simulator re-evaluates it only after an operation that changed one
    of them: kinds "activation", "gradient", "weight" per layer; "loss", "batch",
    "validation", "gradient" and "any" for the model."""

    text: str
    tree: Node
    dependencies: frozenset[tuple[str, str | None]]

    def evaluate(self, ctx: Context) -> bool:
        return bool(_evaluate(self.tree, ctx))

    @property
    def uses_variants(self) -> bool:
        """Whether it reads another run (``name.value``): only a whole lesson's runs can answer."""
        return _uses_variants(self.tree)

    def result(self, ctx: Context) -> float | bool:
        """The whole expression's value: a number, or true/false for a condition."""
        return _evaluate(self.tree, ctx)

    def value(self, ctx: Context) -> float | bool:
        """The value of the left side of a top-level comparison (for reports), else the
        expression's own value."""
        node = self.tree
        if isinstance(node, Binary) and node.op in _COMPARISONS:
            return _evaluate(node.left, ctx)
        return _evaluate(node, ctx)
