"""The tuning objective: a tiny expression grammar over metric names, parsed without eval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arena.analysis.tuning import Constraint, Expression, Objective, metric_names
from arena.analysis.tuning.objective import MAX_DEPTH, MAX_LENGTH, derived_metrics
from arena.errors import ScenarioError

ROW = {
    "routing_accuracy": 0.9,
    "dropped": 10.0,
    "arrived": 200.0,
    "completed": 190.0,
    "overflowed": 4.0,
    "wait_p95": 3.0,
}


def metrics(**changes):
    return derived_metrics({**ROW, **changes})


def test_weighted_objective_evaluates_like_arithmetic():
    e = Expression.parse("accuracy - 2*drop_rate - 0.01*wait_p95")
    assert float(e(metrics())) == pytest.approx(0.9 - 2 * 10 / 200 - 0.01 * 3)
    assert e.names == {"accuracy", "drop_rate", "wait_p95"}
    # precedence, parentheses, unary minus, exponents in numbers
    assert float(Expression.parse("1 + 2 * 3")({})) == 7
    assert float(Expression.parse("(1 + 2) * 3")({})) == 9
    assert float(Expression.parse("-(1 - 4) * -2")({})) == -6
    assert float(Expression.parse("2.5e-1 - .5")({})) == -0.25


def test_derived_metrics_are_shares_of_arrivals():
    m = metrics()
    assert float(m["drop_rate"]) == 10 / 200
    assert float(m["completion_rate"]) == 190 / 200
    assert float(m["overflow_rate"]) == 4 / 200
    assert float(m["accuracy"]) == 0.9
    assert set(metric_names()) >= {"wait_p95", "routing_accuracy", "drop_rate", "dropped"}


def test_expressions_score_a_whole_population_at_once():
    m = derived_metrics({**ROW, "routing_accuracy": [0.5, 0.9], "wait_p95": [1.0, 30.0]})
    got = Expression.parse("accuracy - 0.01*wait_p95")(m)
    np.testing.assert_allclose(got, [0.49, 0.6])


def test_constraints_penalise_by_the_size_of_the_violation():
    c = Constraint.parse("drop_rate<=0.01")
    assert float(c.violation(metrics())) == pytest.approx(0.05 - 0.01)
    assert float(c.violation(metrics(dropped=1.0))) == 0.0
    assert float(Constraint.parse("accuracy >= 0.95").violation(metrics())) == pytest.approx(0.05)
    o = Objective.parse("accuracy", constraints=["drop_rate<=0.01"], penalty=100)
    assert float(o.value(metrics())) == 0.9  # what the user stated, unpenalised
    assert float(o.score(metrics())) == pytest.approx(0.9 - 100 * 0.04)
    assert float(o.score(metrics(dropped=0.0))) == pytest.approx(0.9)
    low = Objective.parse(minimize="wait_p95")
    assert float(low.score(metrics())) == -3.0  # scores are maximised: minimising negates
    assert "subject to drop_rate<=0.01" in o.text


def test_an_undefined_metric_scores_minus_infinity():
    o = Objective.parse("accuracy - drop_rate")
    assert float(o.score(metrics(routing_accuracy=math.nan))) == -math.inf


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "non-empty expression"),
        ("accuracy - 2*drp_rate", "unknown metric 'drp_rate'"),
        ("accuracy / 2", "unexpected '/' at column 10"),
        ("accuracy -", "ends too early"),
        ("(accuracy", "ends too early"),
        ("accuracy)", "unexpected ')' at column 9, after the end"),
        ("(1 2)", "unexpected 2.0 at column 4, where ')' should be"),
        ("accuracy wait_p95", "unexpected 'wait_p95' at column 10, after the end"),
        ("1e999 * accuracy", "not finite"),
        ("__import__('os').system('x')", 'unexpected "\'" at column 12'),
        ("__import__ - 1", "unknown metric '__import__'"),
        ("accuracy <= 1", "unexpected '<=' at column 10"),
        ("a" * (MAX_LENGTH + 1), "longer than"),
        ("(" * (MAX_DEPTH + 2) + "1" + ")" * (MAX_DEPTH + 2), "nested deeper"),
        ("-" * 1000 + "1", "longer than"),
        ("-" * (MAX_DEPTH + 2) + "1", "nested deeper"),
        ("accuracy\n- 1\x00", "unexpected '\\x00'"),
    ],
)
def test_bad_expressions_get_one_line_errors(text, problem):
    with pytest.raises(ScenarioError, match="objective") as info:
        Expression.parse(text)
    assert problem in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("drop_rate", "one '<=' or '>='"),
        ("drop_rate < 0.01", "one '<=' or '>='"),
        ("0 <= drop_rate <= 0.01", "one '<=' or '>='"),
        ("drop_rate == 0", "one '<=' or '>='"),
        ("drop_rate <= ", "non-empty expression"),
        ("drop <= 1", "unknown metric 'drop'"),
    ],
)
def test_bad_constraints_get_one_line_errors(text, problem):
    with pytest.raises(ScenarioError, match="constraint") as info:
        Constraint.parse(text)
    assert problem in str(info.value)


def test_an_objective_needs_exactly_one_goal_and_a_positive_penalty():
    with pytest.raises(ScenarioError, match="exactly one of maximize or minimize"):
        Objective.parse("accuracy", minimize="wait_p95")
    with pytest.raises(ScenarioError, match="exactly one"):
        Objective.parse()
    for bad in (0, -1, math.nan, math.inf, True):
        with pytest.raises(ScenarioError, match="penalty"):
            Objective.parse("accuracy", penalty=bad)


@given(st.text(max_size=200))
def test_any_string_parses_or_fails_with_one_scenario_error_line(text):
    for parse in (Expression.parse, Constraint.parse):
        try:
            parsed = parse(text)
        except ScenarioError as exc:
            assert "\n" not in str(exc) and "\r" not in str(exc)
        else:  # whatever parsed evaluates to finite numbers on finite metrics
            values = (
                parsed(metrics()) if isinstance(parsed, Expression) else parsed.violation(metrics())
            )
            assert np.all(np.isfinite(values)) or np.all(np.isinf(values))


NAMES = ["accuracy", "drop_rate", "wait_p95"]
leaves = st.one_of(
    st.sampled_from(NAMES),
    st.floats(0, 1000, allow_nan=False).map(lambda x: f"{x!r}"),
)


def _tree(children):
    return st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*"]), children, children).map(
            lambda t: f"({t[1]} {t[0]} {t[2]})"
        ),
        children.map(lambda c: f"-{c}" if not c.startswith("-") else f"-({c})"),
    )


@given(st.recursive(leaves, _tree, max_leaves=12))
def test_parsed_expressions_agree_with_python_arithmetic(text):
    values = {k: float(metrics()[k]) for k in NAMES}
    expected = eval(text, {"__builtins__": {}}, values)  # the reference: trusted generated text
    got = float(Expression.parse(text)(metrics()))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9) or (
        math.isinf(expected) and got == expected
    )
