"""What a tuning run optimises, as the user states it: a tiny expression grammar over summary
metric names, parsed without ``eval``.

Grammar (whitespace ignored)::

    expr       := term (('+' | '-') term)*
    term       := factor ('*' factor)*
    factor     := NUMBER | NAME | '-' factor | '(' expr ')'
    constraint := expr ('<=' | '>=') expr

``NAME`` is a metric of a run's row (:data:`arena.analysis.sweep.FIGURES`, e.g. ``wait_p95``, times in ms)
or a derived one (:data:`DERIVED`: ``drop_rate``, ``accuracy``, ...). Expressions evaluate on
NumPy arrays, so a whole population is scored at once.

Two forms: a weighted score (``accuracy - 2*drop_rate - 0.00001*wait_p95``, maximised) or an
objective to maximise or minimise under constraints (``drop_rate<=0.01``), each violated
constraint subtracting ``penalty × violation`` from the score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ScenarioError
from ..sweep import FIGURES

MAX_LENGTH = 500  # characters in one expression
MAX_DEPTH = 20  # nested parentheses / unary minus signs


def _ratio(num: str, den: str) -> Any:
    def derive(m: Mapping[str, np.ndarray]) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(m[num], dtype=float) / np.asarray(m[den], dtype=float)

    return derive


# metrics computed from a row's figures (share of arrivals; ``accuracy`` is the zone accuracy)
DERIVED = {
    "accuracy": lambda m: np.asarray(m["routing_accuracy"], dtype=float),
    "drop_rate": _ratio("dropped", "arrived"),
    "completion_rate": _ratio("completed", "arrived"),
    "overflow_rate": _ratio("overflowed", "arrived"),
}
NON_NUMERIC = ("router",)


def figure_names() -> tuple[str, ...]:
    """The numeric figures of a run's row."""
    return tuple(f for f in FIGURES if f not in NON_NUMERIC)


def metric_names() -> tuple[str, ...]:
    """Every name an objective may use: the figures and the derived metrics."""
    return (*figure_names(), *DERIVED)


def derived_metrics(figures: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A row's (or a frame's columns') numeric figures plus the derived metrics, as arrays."""
    out = {k: np.asarray(figures[k], dtype=float) for k in figure_names() if k in figures}
    for name, derive in DERIVED.items():
        out[name] = derive(out)
    return out


_TOKEN = re.compile(
    r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)|(<=|>=|[-+*()]))",
    re.ASCII,
)


def _tokens(text: str, what: str) -> list[tuple[str, Any, int]]:
    if not isinstance(text, str) or not text.strip():
        raise ScenarioError(None, what, "expected a non-empty expression")
    if len(text) > MAX_LENGTH:
        raise ScenarioError(None, what, f"expression longer than {MAX_LENGTH} characters")
    out: list[tuple[str, Any, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            column = len(text) - len(text[pos:].lstrip())
            raise ScenarioError(None, what, f"unexpected {text[column]!r} at column {column + 1}")
        number, name, op = m.groups()
        column = m.start(m.lastindex or 0) + 1
        if number is not None:
            value = float(number)
            if not math.isfinite(value):
                raise ScenarioError(None, what, f"number {number!r:.40} is not finite")
            out.append(("num", value, column))
        elif name is not None:
            out.append(("name", name, column))
        else:
            out.append(("op", op, column))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent over the tokens; nodes are tuples ``(kind, ...)``."""

    def __init__(self, tokens: list[tuple[str, Any, int]], what: str):
        self.tokens, self.i, self.what = tokens, 0, what
        self.names = set(metric_names())

    def fail(self, problem: str) -> ScenarioError:
        return ScenarioError(None, self.what, problem)

    def peek(self) -> tuple[str, Any] | None:
        """The next token's kind and value (``None`` at the end)."""
        return self.tokens[self.i][:2] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise self.fail("the expression ends too early")
        self.i += 1
        return tok

    def unexpected(self, what: str = "") -> ScenarioError:
        """An error at the token just taken (or the next one), naming its column."""
        _, value, column = self.tokens[min(self.i, len(self.tokens) - 1)]
        return self.fail(f"unexpected {value!r:.40} at column {column}{what}")

    def expr(self, depth: int = 0) -> tuple:
        node = self.term(depth)
        while (tok := self.peek()) in (("op", "+"), ("op", "-")):
            self.i += 1
            node = (tok[1], node, self.term(depth))
        return node

    def term(self, depth: int) -> tuple:
        node = self.factor(depth)
        while self.peek() == ("op", "*"):
            self.i += 1
            node = ("*", node, self.factor(depth))
        return node

    def factor(self, depth: int) -> tuple:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels")
        kind, value = self.take()
        if kind == "num":
            return ("num", value)
        if kind == "name":
            if value not in self.names:
                raise self.fail(
                    f"unknown metric {value!r:.40}; expected one of: {', '.join(sorted(self.names))}"
                )
            return ("name", value)
        if value == "-":
            return ("neg", self.factor(depth + 1))
        if value == "(":
            node = self.expr(depth + 1)
            if self.take() != ("op", ")"):
                self.i -= 1
                raise self.unexpected(", where ')' should be")
            return node
        self.i -= 1
        raise self.unexpected()

    def done(self) -> None:
        if self.peek() is not None:
            raise self.unexpected(", after the end of the expression")


def _evaluate(node: tuple, metrics: Mapping[str, np.ndarray]) -> np.ndarray:
    kind = node[0]
    if kind == "num":
        return np.asarray(node[1], dtype=float)
    if kind == "name":
        return np.asarray(metrics[node[1]], dtype=float)
    if kind == "neg":
        return -_evaluate(node[1], metrics)
    a, b = _evaluate(node[1], metrics), _evaluate(node[2], metrics)
    with np.errstate(over="ignore", invalid="ignore"):
        return a + b if kind == "+" else a - b if kind == "-" else a * b


def _names(node: tuple) -> set[str]:
    if node[0] == "name":
        return {node[1]}
    return set().union(*(_names(n) for n in node[1:] if isinstance(n, tuple)))


@dataclass(frozen=True)
class Expression:
    """A parsed expression over metric names; ``text`` is what the user wrote."""

    text: str
    tree: tuple

    @classmethod
    def parse(cls, text: str, what: str = "objective") -> Expression:
        parser = _Parser(_tokens(text, what), what)
        tree = parser.expr()
        parser.done()
        return cls(text.strip(), tree)

    def __call__(self, metrics: Mapping[str, np.ndarray]) -> np.ndarray:
        return _evaluate(self.tree, metrics)

    @property
    def names(self) -> set[str]:
        return _names(self.tree)


@dataclass(frozen=True)
class Constraint:
    """``lhs <= rhs`` or ``lhs >= rhs``; ``violation`` is how far a point is outside (0 inside)."""

    text: str
    lhs: Expression
    op: str
    rhs: Expression

    @classmethod
    def parse(cls, text: str) -> Constraint:
        what = "constraint"
        if not isinstance(text, str):
            raise ScenarioError(None, what, "expected an expression like 'drop_rate<=0.01'")
        ops = re.findall(r"<=|>=|<|>|==|=", text)
        if ops != ["<="] and ops != [">="]:
            raise ScenarioError(
                None,
                what,
                f"{text.strip()!r:.80} must compare two expressions with one '<=' or '>='",
            )
        left, right = text.split(ops[0])
        return cls(
            text.strip(), Expression.parse(left, what), ops[0], Expression.parse(right, what)
        )

    def violation(self, metrics: Mapping[str, np.ndarray]) -> np.ndarray:
        gap = self.lhs(metrics) - self.rhs(metrics)
        return np.maximum(gap if self.op == "<=" else -gap, 0.0)


@dataclass(frozen=True)
class Objective:
    """A score to maximise: ``sign × expression − penalty × Σ constraint violations``.

    A point whose score is not finite (a metric undefined in its runs, such as accuracy when
    nothing was served) scores ``-inf``: it is never chosen, and never breaks the search.
    """

    expression: Expression
    sense: str = "maximize"
    constraints: tuple[Constraint, ...] = ()
    penalty: float = 1000.0

    @classmethod
    def parse(
        cls,
        maximize: str | None = None,
        *,
        minimize: str | None = None,
        constraints: Sequence[str] = (),
        penalty: float = 1000.0,
    ) -> Objective:
        """``maximize="accuracy - 2*drop_rate"`` or ``minimize="wait_p95"``, plus constraints."""
        if (maximize is None) == (minimize is None):
            raise ScenarioError(None, "objective", "give exactly one of maximize or minimize")
        if isinstance(penalty, bool) or not isinstance(penalty, int | float):
            raise ScenarioError(None, "penalty", f"expected a number, got {penalty!r}")
        if not math.isfinite(penalty) or penalty <= 0:
            raise ScenarioError(None, "penalty", f"must be a finite number > 0, got {penalty!r}")
        text = maximize if maximize is not None else minimize
        return cls(
            Expression.parse(text),  # type: ignore[arg-type]
            "maximize" if maximize is not None else "minimize",
            tuple(Constraint.parse(c) for c in constraints),
            float(penalty),
        )

    @property
    def text(self) -> str:
        parts = [f"{self.sense} {self.expression.text}"]
        parts += [f"subject to {c.text}" for c in self.constraints]
        return ", ".join(parts)

    @property
    def names(self) -> set[str]:
        used = set(self.expression.names)
        for c in self.constraints:
            used |= c.lhs.names | c.rhs.names
        return used

    def value(self, metrics: Mapping[str, np.ndarray]) -> np.ndarray:
        """The stated expression, before penalties (what the user reads)."""
        return np.asarray(self.expression(metrics), dtype=float)

    def score(self, metrics: Mapping[str, np.ndarray]) -> np.ndarray:
        """The penalised score to maximise (``-inf`` where it is not finite)."""
        value = self.value(metrics)
        score = value if self.sense == "maximize" else -value
        for c in self.constraints:
            score = score - self.penalty * c.violation(metrics)
        score = np.asarray(score, dtype=float)
        return np.where(np.isfinite(score), score, -np.inf)
