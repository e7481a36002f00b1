"""Typed access to raw scenario data (YAML), raising :class:`ScenarioError` with the field path;
applying ``a.b=value`` overrides to a scenario's raw data.

The one place a scenario's numbers are checked (:meth:`Reader.check_number`): every number is
finite (NaN passes every ``x < lo`` test, so it is refused first), within a stated upper bound
(:class:`Bounds`; each caller names one and the error says it), and booleans are not numbers.
Files themselves (size, encoding, YAML shape) are checked by :mod:`.files`. The table of bounds
is in ``docs/input_validation.md``.
"""

from __future__ import annotations

import builtins
import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ScenarioError
from ..workload import parse_duration
from .files import HugeInt, load_yaml_text


class Bounds:
    """The sane upper bounds of scenario numbers (each error message states its bound)."""

    RATE = 1e6  # arrivals per step
    COUNT = 1_000_000  # capacity, queue_limit, per_label
    STEPS = 10_000_000  # steps, extra_steps, schedule steps, dataset limit
    SERVICE = 1e6  # service time (steps)
    EPOCHS = 10_000
    LENGTH = 1e6  # space width/height, zone radius
    TRAINING = 1e6  # learning_rate, l2
    SEED = 2**63 - 1
    POLICY = 1e7  # any number in a capability's policy (seconds = steps in the arena)
    ATTEMPTS = 100  # policy.retry attempts


def show(v: Any) -> str:
    """A short rendering of a value for an error message (a huge integer by its size only)."""
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 100:
        return (
            f"an integer of {len(str(abs(v))) if v.bit_length() < 13000 else 'thousands of'} digits"
        )
    return f"{v!r:.40}"


class Reader:
    """Typed access to raw YAML data that raises ScenarioError with the field path."""

    def __init__(self, file: str | None):
        self.file = file

    def fail(self, path: str, problem: str) -> ScenarioError:
        return ScenarioError(self.file, path, problem)

    def mapping(self, value: Any, path: str, keys: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping, got {kind_of(value)}")
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise self.fail(
                f"{path}.{unknown[0]}" if path else str(unknown[0]),
                f"unknown key; expected one of: {', '.join(keys)}",
            )
        return value

    def str(
        self,
        m: Mapping[str, Any],
        key: str,
        path: str,
        default: Any = ...,
        *,
        empty_ok: bool = False,
    ) -> Any:
        v = self.get(m, key, path, default)
        if v is default and default is not ...:
            return v
        if not isinstance(v, str) or (not empty_ok and not v.strip()):
            raise self.fail(join_path(path, key), f"expected a non-empty string, got {kind_of(v)}")
        return v

    def number(
        self,
        m: Mapping[builtins.str, Any],
        key: builtins.str,
        path: builtins.str,
        default: Any = ...,
        *,
        maximum: float,
        minimum: float | None = None,
        integer: bool = False,
        exclusive_min: bool = False,
    ) -> Any:
        v = self.get(m, key, path, default)
        if v is default and default is not ...:
            return v
        return self.check_number(
            v,
            join_path(path, key),
            minimum=minimum,
            maximum=maximum,
            integer=integer,
            exclusive_min=exclusive_min,
        )

    def check_number(
        self,
        v: Any,
        where: builtins.str,
        *,
        maximum: float,
        minimum: float | None = None,
        integer: bool = False,
        exclusive_min: bool = False,
    ) -> Any:
        """``v`` if it is a finite number (an int if ``integer``) in range; booleans are not
        numbers. Every caller states ``maximum``, so no number reaches the model unbounded."""
        if isinstance(v, HugeInt):
            raise self.fail(where, f"must be <= {maximum:g}, got {v!r}")
        ok = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok:
            raise self.fail(
                where, f"expected {'an integer' if integer else 'a number'}, got {kind_of(v)}"
            )
        if isinstance(v, float) and not math.isfinite(v):
            raise self.fail(where, f"expected a finite number, got {v}")
        if minimum is not None and (v <= minimum if exclusive_min else v < minimum):
            rel = ">" if exclusive_min else ">="
            raise self.fail(where, f"must be {rel} {minimum:g}, got {show(v)}")
        if v > maximum:
            raise self.fail(where, f"must be <= {maximum:g}, got {show(v)}")
        return v

    def bool(
        self, m: Mapping[builtins.str, Any], key: builtins.str, path: builtins.str, default: bool
    ) -> bool:
        v = m.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(join_path(path, key), f"expected true or false, got {kind_of(v)}")
        return v

    def str_list(
        self, m: Mapping[builtins.str, Any], key: builtins.str, path: builtins.str
    ) -> tuple[builtins.str, ...]:
        v = m.get(key, ())
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
            raise self.fail(join_path(path, key), f"expected a list of strings, got {kind_of(v)}")
        return tuple(v)

    def get(
        self, m: Mapping[builtins.str, Any], key: builtins.str, path: builtins.str, default: Any
    ) -> Any:
        if key in m:
            return m[key]
        if default is ...:
            raise self.fail(join_path(path, key), "required field is missing")
        return default


def duration_field(
    r: Reader,
    m: Mapping[str, Any],
    key: str,
    path: str,
    default: float,
    *,
    positive: bool = False,
) -> float:
    """A duration field of ``m`` (``"250ms"``, ``"1.5s"``; a bare number is seconds), checked
    by :func:`arena.workload.parse_duration`: ``default`` when absent."""
    if key not in m:
        return default
    return parse_duration(m[key], file=r.file, field=join_path(path, key), allow_zero=not positive)


def check_run_options(
    file: str | None,
    *,
    duration: Any = None,
    seed: Any = None,
    rate_scale: Any = None,
) -> None:
    """The numbers a run takes besides its scenario (``--duration``, ``--seed``,
    ``--rate-scale``), held to the same bounds as the scenario's own fields."""
    r = Reader(file)
    if duration is not None:
        parse_duration(duration, file=file, field="duration", allow_zero=False)
    if seed is not None:
        r.check_number(seed, "seed", minimum=0, maximum=Bounds.SEED, integer=True)
    if rate_scale is not None:
        r.check_number(rate_scale, "rate_scale", minimum=0, exclusive_min=True, maximum=Bounds.RATE)


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def kind_of(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    return f"{type(v).__name__} {show(v)}"


def parse_override_value(text: str, file: str | None, key: str) -> Any:
    """The YAML value of one ``--set key=value`` (the scenario file's loader, so the same
    rules hold: ``1e300`` is a number, ``.nan`` is refused later as not finite)."""
    try:
        return load_yaml_text(text, file)
    except ScenarioError as exc:
        raise ScenarioError(file, key, f"override value {text!r:.60}: {exc.problem}") from None


def parse_overrides(
    overrides: Mapping[str, Any] | Sequence[str], file: str | None = None
) -> list[tuple[str, Any]]:
    """``["physics.temperature=0.05"]`` (YAML values) or a mapping, as ``(path, value)`` pairs."""
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    items: list[tuple[str, Any]] = []
    for text in overrides:
        key, sep, value = str(text).partition("=")
        if not sep or not key.strip():
            raise ScenarioError(
                file, None, f"override {text!r} must look like 'physics.temperature=0.05'"
            )
        items.append((key.strip(), parse_override_value(value, file, key.strip())))
    return items


def apply_raw_overrides(raw: Any, overrides: Mapping[str, Any] | Sequence[str], file: str) -> Any:
    items = parse_overrides(overrides, file)
    if not items:
        return raw
    raw = copy.deepcopy(raw)
    for key, value in items:
        node = raw
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list) and (at := named_index(node, part)) is not None:
                node = node[at]
            elif isinstance(node, dict):
                node = node.setdefault(part, {})
            else:
                raise ScenarioError(
                    file, ".".join(parts[: i + 1]), f"override {key!r} does not match the file"
                )
        last = parts[-1]
        if isinstance(node, list) and (at := named_index(node, last)) is not None:
            node[at] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ScenarioError(file, key, f"override {key!r} does not match the file")
    return raw


def is_named_list(v: Any) -> bool:
    """Whether ``v`` is a non-empty list of mappings that each have a ``name`` (zones,
    capabilities): the lists an overlay or an override may address by item name."""
    return (
        isinstance(v, list)
        and bool(v)
        and all(isinstance(item, Mapping) and "name" in item for item in v)
    )


def named_index(items: list, key: Any) -> int | None:
    """The position in ``items`` that ``key`` addresses: the item called ``key`` (in a list of
    named items), else ``key`` as a position (an int, or digits); ``None`` if neither."""
    if is_named_list(items):
        for i, item in enumerate(items):
            if str(item["name"]) == str(key):
                return i
    if isinstance(key, bool):
        return None
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        return int(key) if 0 <= int(key) < len(items) else None
    return None
