"""The condition language: what it accepts, what it rejects (and where), how it evaluates."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnsim.sim.conditions import ConditionError, parse, parse_expression

LAYERS = ["conv1", "relu2", "dense1", "dense9"]


class Values:
    """A context with fixed values, standing in for the simulator."""

    def __init__(self, **values):
        self.values = values

    def layer_metric(self, metric, layer):
        return self.values[f"{metric}({layer})"]

    def model_metric(self, metric):
        return self.values[f"{metric}()"]

    def variable(self, name):
        return self.values[name]


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("grad_norm(conv1) < 1e-6", {"grad_norm(conv1)": 5e-7}, True),
        ("grad_norm(conv1) < 1e-6", {"grad_norm(conv1)": 2e-6}, False),
        ("dead_fraction(relu2) > 0.4", {"dead_fraction(relu2)": 0.5}, True),
        ("loss > 10", {"loss": 3.0}, False),
        ("nonfinite()", {"nonfinite()": True}, True),
        ("accuracy >= 0.99", {"accuracy": 0.99}, True),
        ("iteration == 50", {"iteration": 50.0}, True),
        (
            "grad_norm(dense1) / grad_norm(dense9) < 1e-4",
            {"grad_norm(dense1)": 1e-9, "grad_norm(dense9)": 1e-3},
            True,
        ),
        ("not (loss > 1 or loss < 0.5) and iteration >= 2", {"loss": 0.7, "iteration": 3.0}, True),
        ("loss > 1 or loss < 0.5 and iteration >= 2", {"loss": 0.1, "iteration": 1.0}, False),
        ("-loss * 2 + 1 == -3", {"loss": 2.0}, True),
        ("loss - 1 - 1 == 0", {"loss": 2.0}, True),  # left-associative
        ("loss / 2 / 2 == 1", {"loss": 4.0}, True),
    ],
)
def test_conditions_evaluate_like_arithmetic(text, values, expected):
    assert parse(text, LAYERS).evaluate(Values(**values)) is expected


def test_nan_makes_every_comparison_false_and_division_by_zero_is_infinite():
    nan = Values(loss=math.nan)
    assert not parse("loss > 1", LAYERS).evaluate(nan)
    assert not parse("loss <= 1", LAYERS).evaluate(nan)
    assert parse("loss != 1", LAYERS).evaluate(nan)
    zero = {"grad_norm(dense1)": 1.0, "grad_norm(dense9)": 0.0}
    assert parse("grad_norm(dense1) / grad_norm(dense9) > 1e300", LAYERS).evaluate(Values(**zero))


def test_dependencies_say_what_refreshes_a_condition():
    cond = parse("grad_norm(dense1) / grad_norm(dense9) < 1e-4 and loss > 0", LAYERS)
    assert cond.dependencies == {
        ("gradient", "dense1"),
        ("gradient", "dense9"),
        ("loss", None),
    }


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("grad_norm(conv9) < 1", 11, "unknown layer 'conv9'; did you mean 'conv1'?"),
        ("grad_nrom(conv1) < 1", 1, "unknown metric 'grad_nrom'; did you mean 'grad_norm'?"),
        ("los > 1", 1, "unknown name 'los'; did you mean 'loss'?"),
        ("loss >", 7, "ends too early"),
        ("loss > > 1", 8, "unexpected '>'"),
        ("(loss > 1", 10, "expected ')' but found the end"),
        ("loss > 1)", 9, "unexpected ')'"),
        ("loss > 1 $", 10, "unexpected character '$'"),
        ("loss", 1, "must be true or false"),
        ("loss and iteration > 1", 6, "'and' joins conditions"),
        ("grad_norm() > 1", 11, "needs a layer name"),
        ("nonfinite(conv1)", 11, "takes no layer"),
        ("grad_norm > 1", 1, "is a metric: write grad_norm(...)"),
        ("1 < loss < 2", 10, "chained comparisons"),
        ("", 1, "the condition is empty"),
        ("not loss", 1, "'not' needs a condition"),
        ("__import__(os)", 1, "unknown metric '__import__'"),
        ("exec('x') or loss > 1", 6, 'unexpected character "\'"'),
    ],
)
def test_bad_conditions_are_rejected_with_the_column(text, column, message):
    with pytest.raises(ConditionError) as info:
        parse(text, LAYERS)
    assert info.value.column == column
    assert message in info.value.message
    assert f"\n  {text}\n  {' ' * (column - 1)}^" in str(info.value)


_pieces = st.sampled_from(
    [
        "loss",
        "grad_norm(conv1)",
        "(",
        ")",
        "<",
        ">=",
        "and",
        "or",
        "not",
        "1e-3",
        "-",
        "/",
        "nonfinite()",
        "iteration",
        "*",
        "==",
        "2",
        ",",
        "conv1",
        "grad_norm(",
        "'x'",
        "\\",
        ".",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=8).map(" ".join))
def test_parser_never_crashes_on_malformed_input(text):
    """Any input either parses into a condition that evaluates, or raises ConditionError."""
    try:
        cond = parse(text, LAYERS)
    except ConditionError as err:
        assert 1 <= err.column <= len(text) + 1
        return
    values = Values(loss=0.5, iteration=3.0, **{"grad_norm(conv1)": 1e-4, "nonfinite()": False})
    assert cond.evaluate(values) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_parser_rejects_arbitrary_text_cleanly(text):
    try:
        parse(text, LAYERS)
    except ConditionError:
        pass


def test_a_condition_is_checked_against_its_scenario_kind_even_in_a_variant():
    variants = {"fast": ["sgd"]}
    assert parse("fast.distance(sgd) < distance(sgd)", ["sgd"], variants, kind="surface")
    with pytest.raises(ConditionError) as info:
        parse("distance(sgd) < fast.w_distance()", ["sgd"], variants, kind="surface")
    assert info.value.column == 22  # at the metric, after the variant's prefix
    assert info.value.message.startswith("w_distance() is measured in GAN scenarios ([gan])")
    with pytest.raises(ValueError, match="kind must be one of"):
        parse("loss > 1", kind="rnn")


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("(" * 65 + "loss > 1" + ")" * 65, 65, "nested deeper than 64 levels"),
        ("not " * 1000 + "loss > 1", 257, "nested deeper than 64 levels"),
        ("- " * 1500 + "loss > 1", 129, "nested deeper than 64 levels"),
        (" and ".join(["loss > 1"] * 1000), 128 * 13 + 1, "more than 256 terms"),
        (" + ".join(["loss"] * 2000) + " > 1", 256 * 7 + 1, "more than 256 terms"),
    ],
    ids=["parentheses", "nots", "minuses", "clauses", "sum"],
)
def test_deep_or_long_conditions_are_refused_at_the_column_of_the_limit(text, column, message):
    for parser in (parse, parse_expression):  # breakpoints and checks; --watch
        with pytest.raises(ConditionError) as err:
            parser(text, LAYERS)
        assert err.value.column == column and message in err.value.message


def test_the_deepest_and_longest_conditions_allowed_evaluate_from_a_deep_stack():
    deepest = parse("(" * 64 + "loss > 1" + ")" * 64)
    longest = parse(" + ".join(["loss"] * 255) + " > 254")  # 256 terms
    negated = parse("not " * 63 + "(loss > 1)")

    def from_depth(n):  # a caller that is itself deep in the stack (a TUI, a test runner)
        if n:
            return from_depth(n - 1)
        values = Values(loss=2.0)
        return deepest.evaluate(values), longest.evaluate(values), negated.evaluate(values)

    assert from_depth(400) == (True, True, False)


_SLOW = {"gradcheck", "occlusion_focus", "class_excitation"}  # whole-model probes, tested apart


@pytest.mark.parametrize(
    "lesson", ["residual", "lstm_gates", "seq2seq_attention", "batchnorm", "pooling", "dropout"]
)
def test_every_condition_the_registry_allows_evaluates_on_every_layer_kind(lesson):
    """Whatever a condition names that parses against a lesson's layers evaluates, before
    and after stepping, to a number (NaN where a layer has no such value) or a bool, never an
    error: a metric on a layer kind without it, a val_ variable without validation."""
    from nnsim.scenario import load
    from nnsim.sim import registry

    scenario = load(lesson)
    for steps in (0, 2):
        sim = scenario.simulator(iterations=2, breakpoints=False)
        sim.run(steps)
        texts = [
            f"{entry.name}({layer}) > 0"
            for entry in registry.entries("layer", "network")
            for layer in scenario.model.layer_names
        ]
        texts += [
            f"{e.name}()" if e.boolean else f"{e.name}() != 0"
            for e in registry.entries("model", "network")
        ]
        texts += [f"{e.name} > 0" for e in registry.entries("variable", "network")]
        for text in texts:
            if text.split("(")[0] in _SLOW:
                continue
            condition = parse(text, scenario.model.layer_names)
            value = condition.value(sim)
            assert isinstance(value, float | bool), (text, value)
            assert isinstance(condition.evaluate(sim), bool)


_numbers = st.one_of(
    st.sampled_from(["loss", "grad_norm(conv1)", "dead_fraction(relu2)", "iteration"]),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: repr(abs(v))),
)
_expressions = st.recursive(
    _numbers,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from("+-*/"), inner).map(" ".join),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"- {e}"),
    ),
    max_leaves=300,
)
_conditions = st.recursive(
    st.tuples(_expressions, st.sampled_from(["<", ">=", "==", "!="]), _expressions).map(" ".join),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
        inner.map(lambda c: f"not ({c})"),
        st.tuples(st.integers(1, 150), inner).map(lambda p: "(" * p[0] + p[1] + ")" * p[0]),
    ),
    max_leaves=60,
)


@settings(max_examples=150, deadline=None)
@given(_conditions)
def test_random_deep_and_long_conditions_parse_and_evaluate_or_are_refused_with_a_column(text):
    try:
        condition = parse(text, LAYERS)
    except ConditionError as err:
        assert 1 <= err.column <= len(text) + 1
        return
    values = Values(**{"loss": 0.5, "grad_norm(conv1)": 2.0, "dead_fraction(relu2)": 0.0})
    values.values["iteration"] = 3.0
    assert isinstance(condition.evaluate(values), bool)
