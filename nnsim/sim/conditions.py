"""The condition language of breakpoints, watches and expectations, parsed by our own code.

    grad_norm(conv1) < 1e-6
    dead_fraction(relu2) > 0.4 and iteration >= 10
    grad_norm(dense1) / grad_norm(dense9) < 1e-4
    nonfinite() or loss > 10
    relu.accuracy > sigmoid.accuracy + 0.2       (lessons with [[variants]] only)

Grammar (lowest precedence first)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | "true" | "false" | [VARIANT "."] value | "(" or ")"
    value      := VARIABLE | METRIC "(" [LAYER] ")"

Nothing is ever passed to ``eval``: the text becomes a small tree that ``evaluate`` walks. A
syntax error, an unknown name or layer, or a type error (``loss and 3``) raises
ConditionError with the column of the problem. So does a condition nested deeper than
``MAX_DEPTH`` levels (parentheses, ``not`` and ``-``) or of more than ``MAX_TERMS`` values: that
bounds the tree's depth, so parsing, type checking and evaluating it never recurse too deep.

Arithmetic follows IEEE rules (x / 0 is inf, a NaN makes every comparison false), so a
breakpoint never crashes a run. A name that parses is always answered: a metric a layer kind
has no value for (``dead_fraction`` of a dense layer, ``forget_gate`` of a GRU) and a value
not measured yet (``val_loss`` without validation) are NaN, never an error; a network
``[[expect]]`` naming val_loss or val_accuracy when nothing measures them is refused at load.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from . import registry
from .condition_tree import (
    _COMPARISONS,
    Binary,
    Boolean,
    Condition,
    ConditionError,
    Context,
    Metric,
    Node,
    Number,
    Unary,
    Variable,
    _dependencies,
    _Token,
    _tokens,
    _type,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_TERMS",
    "Binary",
    "Boolean",
    "Checks",
    "Condition",
    "ConditionError",
    "Context",
    "Metric",
    "Node",
    "Number",
    "Unary",
    "Variable",
    "parse",
    "parse_expression",
]


#: The deepest nesting of parentheses, ``not`` and unary ``-`` a condition may have.
MAX_DEPTH = 64
#: The most values (numbers, names, metrics) one condition may have.
MAX_TERMS = 256


class _Parser:
    def __init__(
        self,
        text: str,
        layers: Iterable[str],
        variants: dict[str, list[str]] | None = None,
        kind: str = "network",
    ) -> None:
        if kind not in registry.KINDS:
            raise ValueError(f"kind must be one of {registry.KINDS}, got {kind!r}")
        self.text = text
        self.layers = list(layers)
        self.variants = variants
        self.kind = kind
        self.variant: str | None = None  # inside "name." while parsing its atom
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0  # parentheses, "not" and "-" around the current token
        self.terms = 0

    def enter(self, token: _Token) -> None:
        """One level deeper (at ``token``); refused past MAX_DEPTH."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                token,
                f"nested deeper than {MAX_DEPTH} levels (parentheses, 'not' and '-' inside "
                "each other): simplify the condition",
            )

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, token: _Token, message: str) -> ConditionError:
        return ConditionError(self.text, token.column, message)

    def expect(self, text: str) -> _Token:
        token = self.take()
        if token.text != text:
            found = "the end" if token.kind == "end" else repr(token.text)
            raise self.error(token, f"expected {text!r} but found {found}")
        return token

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error(self.peek(), "the condition is empty")
        node = self.disjunction()
        token = self.peek()
        if token.kind != "end":
            raise self.error(token, f"unexpected {token.text!r}; expected 'and', 'or' or the end")
        return node

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.peek().text == "or":
            op = self.take()
            node = Binary(op.column, "or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.peek().text == "and":
            op = self.take()
            node = Binary(op.column, "and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.peek().text == "not":
            op = self.take()
            self.enter(op)
            node = Unary(op.column, "not", self.negation())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        node = self.sum()
        if self.peek().text in _COMPARISONS:
            op = self.take()
            node = Binary(op.column, op.text, node, self.sum())
            if self.peek().text in _COMPARISONS:
                raise self.error(self.peek(), "chained comparisons need 'and' between them")
        return node

    def sum(self) -> Node:
        node = self.product()
        while self.peek().text in ("+", "-"):
            op = self.take()
            node = Binary(op.column, op.text, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek().text in ("*", "/"):
            op = self.take()
            node = Binary(op.column, op.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek().text == "-":
            op = self.take()
            self.enter(op)
            node = Unary(op.column, "-", self.unary())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind in ("number", "name"):
            self.terms += 1
            if self.terms > MAX_TERMS:
                raise self.error(
                    token,
                    f"more than {MAX_TERMS} terms in one condition: split it into several checks",
                )
        if token.kind == "number":
            return Number(token.column, float(token.text))
        if token.text == "(":
            self.enter(token)
            node = self.disjunction()
            self.expect(")")
            self.depth -= 1
            return node
        if token.kind == "name":
            if token.text in ("true", "false"):
                return Boolean(token.column, token.text == "true")
            if token.text in ("and", "or", "not"):
                raise self.error(token, f"{token.text!r} needs a condition before it")
            if self.peek().text == ".":
                return self.in_variant(token)
            if self.peek().text == "(":
                return self.call(token)
            if registry.lookup("variable", token.text) is not None:
                self.answerable(token, "variable")
                return Variable(token.column, token.text, self.variant)
            if registry.lookup("layer", token.text) or registry.lookup("model", token.text):
                raise self.error(token, f"{token.text} is a metric: write {token.text}(...)")
            known = registry.answered("variable", self.kind)
            raise self.error(token, _unknown("name", token.text, known))
        if token.kind == "end":
            raise self.error(token, "the condition ends too early; expected a value")
        raise self.error(token, f"unexpected {token.text!r}; expected a value")

    def in_variant(self, name: _Token) -> Node:
        """``variant.value``: a value of another run of the same lesson."""
        if self.variants is None:
            raise self.error(name, "variant.value needs a scenario with [[variants]]")
        if self.variant is not None:
            raise self.error(name, "one variant prefix per value")
        if name.text not in self.variants:
            raise self.error(name, _unknown("variant", name.text, self.variants))
        self.take()  # the dot
        outer_layers, self.layers, self.variant = self.layers, self.variants[name.text], name.text
        try:
            node = self.atom()
        finally:
            self.layers, self.variant = outer_layers, None
        if not isinstance(node, Variable | Metric):
            raise self.error(name, f"{name.text}. must be followed by a metric or a variable")
        return node

    def call(self, name: _Token) -> Node:
        self.expect("(")
        arg = None
        if self.peek().kind == "name":
            arg = self.take()
        close = self.peek()
        if close.text == ",":
            raise self.error(close, f"{name.text} takes one layer name")
        self.expect(")")
        model = registry.lookup("model", name.text)
        layer = registry.lookup("layer", name.text)
        if model is layer is None:
            known = registry.answered("layer", self.kind)
            raise self.error(name, _unknown("metric", name.text, known))
        # "params" is both: params() of the model, params(dense1) of a layer
        if model is not None and (arg is None or layer is None):
            self.answerable(name, "model")
            if arg is not None:
                raise self.error(arg, f"{name.text}() takes no layer; write {name.text}()")
            return Metric(name.column, name.text, None, self.variant)
        self.answerable(name, "layer")
        if arg is None:
            raise self.error(close, f"{name.text} needs a layer name, e.g. {name.text}(dense1)")
        if arg.text not in self.layers:
            raise self.error(arg, _unknown("layer", arg.text, self.layers))
        return Metric(name.column, name.text, arg.text, self.variant)

    def answerable(self, name: _Token, scope: str) -> None:
        """Refuse a name that scenarios of this kind do not measure (``w_distance()`` in a
        network scenario), rather than let a run answer it with something else."""
        if self.kind not in registry.lookup(scope, name.text).answers:
            raise self.error(name, registry.refusal(scope, name.text, self.kind))


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
    return f"unknown {what} {name!r}{hint}"


def parse(
    text: str,
    layers: Iterable[str] = (),
    variants: dict[str, list[str]] | None = None,
    kind: str = "network",
) -> Condition:
    """Parse ``text`` and check it against the model's layer names; ``variants`` (name to
    layer names) allows ``name.value`` references to a lesson's variant runs. A metric or
    variable that scenarios of ``kind`` ("network", "surface", "gan") do not measure is a
    ConditionError at its column (see nnsim.sim.registry)."""
    if not isinstance(text, str):
        raise TypeError(f"a condition is a string, got {type(text).__name__}")
    tree = _Parser(text, layers, variants, kind).parse()
    if _type(tree, text) != "bool":
        raise ConditionError(
            text, 1, "a condition must be true or false: compare the value, e.g. loss > 10"
        )
    return Condition(text, tree, frozenset(_dependencies(tree)))


def parse_expression(text: str, layers: Iterable[str] = (), kind: str = "network") -> Condition:
    """Parse a watch: any expression of the language, a number or a condition."""
    if not isinstance(text, str):
        raise TypeError(f"an expression is a string, got {type(text).__name__}")
    tree = _Parser(text, layers, None, kind).parse()
    _type(tree, text)
    return Condition(text, tree, frozenset(_dependencies(tree)))


class Checks:
    """``check`` and ``value`` for a Context whose conditions name ``self.names`` (layers,
    or the optimisers of a race), and the Context protocol answered through the registry
    for runs of scenario ``kind``."""

    names: list[str]
    kind: str = "network"

    def check(self, condition: str | Condition) -> bool:
        """Evaluate a condition now (expectations and watches)."""
        return self._parsed(condition).evaluate(self)

    def value(self, condition: str | Condition) -> float | bool:
        """The value a report shows for a condition (its left-hand side)."""
        return self._parsed(condition).value(self)

    def _parsed(self, condition: str | Condition) -> Condition:
        if isinstance(condition, Condition):
            return condition
        return parse(condition, self.names, kind=self.kind)

    def layer_metric(self, metric: str, layer: str) -> float:
        return float(registry.answer(self, self.kind, "layer", metric, layer))

    def model_metric(self, metric: str) -> float | bool:
        return registry.answer(self, self.kind, "model", metric)

    def variable(self, name: str) -> float:
        return float(registry.answer(self, self.kind, "variable", name))


_LEGACY_VIEWS = {"LAYER_METRICS": "layer", "MODEL_METRICS": "model", "VARIABLES": "variable"}


def __getattr__(name: str):
    """LAYER_METRICS, MODEL_METRICS, VARIABLES ({name: refresh}) and BOOLEAN_METRICS, as
    they were before the registry: views of it, for code that imported them."""
    if name in _LEGACY_VIEWS:
        return registry.names(_LEGACY_VIEWS[name])
    if name == "BOOLEAN_METRICS":
        return {e.name for e in registry.entries("model") if e.boolean}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
