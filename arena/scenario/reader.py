"""Typed access to raw scenario data (YAML), raising :class:`ScenarioError` with the field path;
reading a scenario file and applying ``a.b=value`` overrides to its raw data."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError


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
        m: Mapping[str, Any],
        key: str,
        path: str,
        default: Any = ...,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
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
        where: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        integer: bool = False,
        exclusive_min: bool = False,
    ) -> Any:
        ok = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok:
            raise self.fail(
                where, f"expected {'an integer' if integer else 'a number'}, got {kind_of(v)}"
            )
        if minimum is not None and (v <= minimum if exclusive_min else v < minimum):
            rel = ">" if exclusive_min else ">="
            raise self.fail(where, f"must be {rel} {minimum}, got {v}")
        if maximum is not None and v > maximum:
            raise self.fail(where, f"must be <= {maximum}, got {v}")
        return v

    def bool(self, m: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        v = m.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(join_path(path, key), f"expected true or false, got {kind_of(v)}")
        return v

    def str_list(self, m: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        v = m.get(key, ())
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
            raise self.fail(join_path(path, key), f"expected a list of strings, got {kind_of(v)}")
        return tuple(v)

    def get(self, m: Mapping[str, Any], key: str, path: str, default: Any) -> Any:
        if key in m:
            return m[key]
        if default is ...:
            raise self.fail(join_path(path, key), "required field is missing")
        return default


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def kind_of(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    return f"{type(v).__name__} {v!r:.40}"


def read_yaml(path: str | Path, what: str = "scenario file") -> Any:
    """The raw data of a scenario (or overlay) file (never None)."""
    file = str(path)
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(file, None, f"{what} not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problem = " ".join(str(exc).split())  # one line
        raise ScenarioError(file, None, f"not valid YAML: {problem}") from None
    if raw is None:
        raise ScenarioError(file, None, "the file is empty")
    return raw


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
        try:
            items.append((key.strip(), yaml.safe_load(value)))
        except yaml.YAMLError:
            raise ScenarioError(
                file, key.strip(), f"override value {value!r} is not valid YAML"
            ) from None
    return items


def apply_raw_overrides(raw: Any, overrides: Mapping[str, Any] | Sequence[str], file: str) -> Any:
    items = parse_overrides(overrides, file)
    if not items:
        return raw
    raw = json.loads(json.dumps(raw))  # a deep copy of plain data
    for key, value in items:
        node = raw
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict):
                node = node.setdefault(part, {})
            else:
                raise ScenarioError(
                    file, ".".join(parts[: i + 1]), f"override {key!r} does not match the file"
                )
        last = parts[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ScenarioError(file, key, f"override {key!r} does not match the file")
    return raw
