"""Branch conditions: a small, checked expression language over the workflow's data (or a callable)."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capabilities.errors import (
    PacketFlowError,
    RegistrationError,
)

if TYPE_CHECKING:
    pass


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


_FUNCTIONS: dict[str, Callable[..., Any]] = {"len": len, "any": any, "all": all, "abs": abs}


_CONSTANTS = {"True": True, "False": False, "None": None}


@dataclass(frozen=True, slots=True)
class Condition:
    """A branch predicate. ``names`` are the data fields it reads (``None``: unknown, a callable)."""

    text: str
    names: frozenset[str] | None
    _fn: Callable[[Mapping[str, Any]], Any] = field(repr=False, compare=False)

    @classmethod
    def of(cls, when: str | Callable[[Mapping[str, Any]], Any] | Condition) -> Condition:
        if isinstance(when, Condition):
            return when
        if isinstance(when, str):
            return cls.parse(when)
        if callable(when):
            return cls(getattr(when, "__name__", repr(when)), None, when)
        raise RegistrationError(
            f"branch condition must be an expression string or a callable, got {when!r}"
        )

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Compile ``text`` into a predicate; only names, constants, comparisons, ``and`` /
        ``or`` / ``not``, arithmetic, ``x[...]`` and ``len/any/all/abs`` are allowed."""
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise RegistrationError(
                f"condition {text!r} is not an expression ({exc.msg})"
            ) from None
        names: set[str] = set()
        _check_expression(tree, text, names)
        return cls(text, frozenset(names), lambda data: _evaluate(tree, data))

    def __call__(self, data: Mapping[str, Any]) -> bool:
        return bool(self._fn(data))


def _check_expression(node: ast.AST, text: str, names: set[str]) -> None:
    """Reject anything outside the whitelist; collect the data names the expression reads."""
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            names.add(node.id)
        return
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS) or node.keywords:
            raise RegistrationError(
                f"condition {text!r}: only {sorted(_FUNCTIONS)} may be called, "
                f"not {ast.unparse(node.func)!r}"
            )
        for arg in node.args:
            _check_expression(arg, text, names)
        return
    allowed = (
        ast.Constant,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.Compare,
        ast.BinOp,
        ast.Subscript,
        ast.List,
        ast.Tuple,
        ast.Set,
        ast.Load,
        *_COMPARE,
        *_BINOPS,
    )
    if not isinstance(node, allowed):
        raise RegistrationError(
            f"condition {text!r}: {type(node).__name__} ({ast.unparse(node)!r}) is not allowed; "
            "use names, constants, comparisons, and/or/not, arithmetic and x['key']"
        )
    for child in ast.iter_child_nodes(node):
        _check_expression(child, text, names)


def _evaluate(node: ast.AST, data: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        return data[node.id]
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            value: Any = True
            for v in node.values:
                value = _evaluate(v, data)
                if not value:
                    return value
            return value
        value = False
        for v in node.values:
            value = _evaluate(v, data)
            if value:
                return value
        return value
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, data)
        return (not operand) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, data)
        for op, comparator in zip(node.ops, node.comparators):
            right = _evaluate(comparator, data)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_evaluate(node.left, data), _evaluate(node.right, data))
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, data)[_evaluate(node.slice, data)]
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(e, data) for e in node.elts]
    if isinstance(node, ast.Set):
        return {_evaluate(e, data) for e in node.elts}
    if isinstance(node, ast.Call):
        return _FUNCTIONS[node.func.id](*(_evaluate(a, data) for a in node.args))  # type: ignore[attr-defined]
    raise PacketFlowError(f"cannot evaluate {ast.unparse(node)!r}")  # unreachable: checked
