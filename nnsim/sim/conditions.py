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
ConditionError with the column of the problem. Arithmetic follows IEEE rules (x / 0 is inf, a
NaN makes every comparison false), so a breakpoint never crashes a run.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

#: Metrics of one layer, with what refreshes them (see Condition.dependencies).
LAYER_METRICS = {
    "grad_norm": "gradient",  # L2 norm of the parameter gradients (or of dL/dinput)
    "weight_norm": "weight",  # L2 norm of the parameters
    "update_ratio": "weight",  # ||update|| / ||weights|| of the last optimiser step
    "act_mean": "activation",  # mean of the layer's output over the batch
    "act_std": "activation",
    "saturation": "activation",  # fraction of outputs in a flat region of the activation
    "dead_fraction": "activation",  # fraction of units that are 0 for every example
    "dh_ratio": "gradient",  # recurrent: ||dL/dh_1|| / ||dL/dh_T||
    "forget_gate": "activation",  # LSTM: mean forget-gate value over batch, steps and units
    "cell_carry": "activation",  # LSTM: mean of f_2 f_3 ... f_T, what the cell path carries
    "dc_ratio": "gradient",  # LSTM: ||dL/dc_1|| / ||dL/dc_T||, the gradient along the cell
    "weight_change": "weight",  # largest |w - w at iteration 0| of the layer's parameters
    "small_weights": "weight",  # fraction of weights below 1 % of the largest (L1 sparsity)
    "sign_agreement": "gradient",  # fraction of units whose weight gradients share a sign
    "unit_spread": "weight",  # largest difference between two units' weights (0: symmetric)
    "filter_smoothness": "weight",  # neighbouring kernel weights' correlation (0: noise)
    "peak_derivative": "activation",  # max f'(z) of an activation over the inputs it saw
    "params": "batch",  # the layer's (or block's) parameter count
    "walk_error": "activation",  # conv/pool: max |by-hand window sums - the kernel's output|
    "grad_walk_error": "gradient",  # the same for dW, dX (conv) or the routed gradient (pool)
    "positions": "batch",  # conv/pool: output values per example (the steps of a walk)
    "anti_diagonal": "activation",  # attention: mean weight on output t -> input T - 1 - t
    "diagonal": "activation",  # attention: mean weight on output t -> input t
    "grad_reach": "gradient",  # fraction of the layer's input cells that get a gradient
    # optimisers on a 2-D surface (nnsim.sim.surface), whose "layers" are the optimisers
    "distance": "weight",  # from the optimiser's point to the nearest minimum
    "height": "weight",  # the surface's value at the point
    "step_size": "weight",  # the length of the last step
    "first_step": "weight",  # the length of the first step
    "lr_monotone": "weight",  # fraction of steps whose effective learning rate did not grow
    "rf": "batch",  # receptive field (height) of the layer's outputs, from the summary
    "flops": "batch",  # FLOPs of one forward pass of the layer for one example
}
#: Metrics of the whole model, written with empty parentheses.
MODEL_METRICS = {
    "nonfinite": "any",
    # GANs (nnsim.sim.gan)
    "w_distance": "weight",  # 1-D Wasserstein distance between generated and target samples
    "d_accuracy": "weight",  # the discriminator's accuracy on real and generated samples
    "gen_mean": "weight",  # mean of the generated samples
    "gen_std": "weight",
    "global_grad_norm": "gradient",
    "gradcheck": "loss",  # worst relative error of backprop against finite differences
    "collapse_error": "weight",  # distance of a layers-without-activations net from one matrix
    "params": "batch",  # the model's parameter count
    "published_params": "batch",  # a classic architecture's count at its published size
    "occlusion_focus": "weight",  # CNNs: correlation of occlusion maps with the digits' ink
    "class_excitation": "weight",  # CNNs: min over classes of p(class) of a maximised input
    "recall_accuracy": "weight",  # per-step labels: accuracy where the label is not 0 (blank)
    "known_words": "weight",  # character models: fraction of sampled words found in the corpus
}
#: Plain variables.
VARIABLES = {
    "d_loss": "loss",  # GANs: the discriminator's loss in its last step
    "g_loss": "loss",  # the generator's loss in its last step
    "loss": "loss",
    "accuracy": "loss",
    "iteration": "batch",
    "epoch": "batch",
    "val_loss": "validation",
    "val_accuracy": "validation",
    "loss_roughness": "loss",  # mean |step-to-step change| / mean of the loss curve
    "first_loss": "loss",  # the loss of iteration 1, to say "the loss fell to a tenth"
    "lr": "batch",  # the learning rate of the current iteration (step decay changes it)
    "minority_recall": "weight",  # recall of the rarest class (on validation data if any)
    "input_covariance_error": "batch",  # max |Cov(training inputs) - I|: 0 when whitened
    "stopped_early": "validation",  # 1 once early stopping ended the run, else 0
    "best_val_loss": "validation",  # the lowest validation loss so far (early stopping)
    "best_iteration": "validation",  # the iteration that reached it
}
BOOLEAN_METRICS = {"nonfinite"}

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


class _Parser:
    def __init__(
        self, text: str, layers: Iterable[str], variants: dict[str, list[str]] | None = None
    ) -> None:
        self.text = text
        self.layers = list(layers)
        self.variants = variants
        self.variant: str | None = None  # inside "name." while parsing its atom
        self.tokens = _tokens(text)
        self.i = 0

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
            return Unary(op.column, "not", self.negation())
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
            return Unary(op.column, "-", self.unary())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Number(token.column, float(token.text))
        if token.text == "(":
            node = self.disjunction()
            self.expect(")")
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
            if token.text in VARIABLES:
                return Variable(token.column, token.text, self.variant)
            if token.text in LAYER_METRICS or token.text in MODEL_METRICS:
                raise self.error(token, f"{token.text} is a metric: write {token.text}(...)")
            raise self.error(token, _unknown("name", token.text, VARIABLES))
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
        if name.text in MODEL_METRICS and (arg is None or name.text not in LAYER_METRICS):
            if arg is not None:
                raise self.error(arg, f"{name.text}() takes no layer; write {name.text}()")
            return Metric(name.column, name.text, None, self.variant)
        if name.text in LAYER_METRICS:
            if arg is None:
                raise self.error(close, f"{name.text} needs a layer name, e.g. {name.text}(dense1)")
            if arg.text not in self.layers:
                raise self.error(arg, _unknown("layer", arg.text, self.layers))
            return Metric(name.column, name.text, arg.text, self.variant)
        raise self.error(name, _unknown("metric", name.text, [*LAYER_METRICS, *MODEL_METRICS]))


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
    return f"unknown {what} {name!r}{hint}"


# ---------------------------------------------------------------- types and evaluation


def _type(node: Node, text: str) -> str:
    """'number' or 'bool', or ConditionError where the operands do not fit."""
    if isinstance(node, Number | Variable):
        return "number"
    if isinstance(node, Boolean):
        return "bool"
    if isinstance(node, Metric):
        return "bool" if node.name in BOOLEAN_METRICS else "number"
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


def _dependencies(node: Node) -> set[tuple[str, str | None]]:
    if isinstance(node, Variable):
        return {(VARIABLES[node.name], None)}
    if isinstance(node, Metric):
        if node.layer is None:
            return {(MODEL_METRICS[node.name], None)}
        return {(LAYER_METRICS[node.name], node.layer)}
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


def parse(
    text: str, layers: Iterable[str] = (), variants: dict[str, list[str]] | None = None
) -> Condition:
    """Parse ``text`` and check it against the model's layer names; ``variants`` (name to
    layer names) allows ``name.value`` references to a lesson's variant runs."""
    if not isinstance(text, str):
        raise TypeError(f"a condition is a string, got {type(text).__name__}")
    tree = _Parser(text, layers, variants).parse()
    if _type(tree, text) != "bool":
        raise ConditionError(
            text, 1, "a condition must be true or false: compare the value, e.g. loss > 10"
        )
    return Condition(text, tree, frozenset(_dependencies(tree)))


def parse_expression(text: str, layers: Iterable[str] = ()) -> Condition:
    """Parse a watch: any expression of the language, a number or a condition."""
    if not isinstance(text, str):
        raise TypeError(f"an expression is a string, got {type(text).__name__}")
    tree = _Parser(text, layers).parse()
    _type(tree, text)
    return Condition(text, tree, frozenset(_dependencies(tree)))


class Checks:
    """``check`` and ``value`` for a Context whose conditions name ``self.names`` (layers,
    or the optimisers of a race)."""

    names: list[str]

    def check(self, condition: str | Condition) -> bool:
        """Evaluate a condition now (expectations and watches)."""
        cond = parse(condition, self.names) if isinstance(condition, str) else condition
        return cond.evaluate(self)

    def value(self, condition: str | Condition) -> float | bool:
        """The value a report shows for a condition (its left-hand side)."""
        cond = parse(condition, self.names) if isinstance(condition, str) else condition
        return cond.value(self)
