"""Scenario overlays: a partial scenario document merged over a scenario before validation.

An overlay is plain YAML in the scenario's own shape (``physics: {temperature: 0.08}``), written
by ``packetflow-arena tune`` and by capacity planning, or by hand. Mappings merge key by key,
recursively; a mapping over a list of named items (``zones``, ``capabilities``) addresses
those items by name — ``zones: {support: {capacity: 30}}`` changes only the zone called
``support`` — so an overlay stays valid when zones are added or reordered (a capacity plan's
overlay is written so); anything else (a number, a string, a list) replaces what was there, so
``zones: [...]`` in an overlay is the whole zone list. Relative paths inside an overlay are
read relative to the scenario file, as if the overlay's lines were written there.

A mistake that comes from an overlay is reported against the overlay's file:
``best.yaml: physics.temperature: must be >= 0.0001, got -1``.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError
from .files import read_yaml
from .reader import is_named_list, kind_of, named_index


def read_overlay(path: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """The mapping of an overlay file (a non-empty YAML mapping); a mapping is checked the same."""
    raw = path if isinstance(path, Mapping) else read_yaml(path, "overlay file")
    if not isinstance(raw, Mapping) or not raw:
        raise ScenarioError(
            str(path),
            None,
            "an overlay must be a non-empty mapping, like 'physics: {temperature: 0.1}'",
        )
    return dict(raw)


def merge_overlay(base: Any, overlay: Mapping[str, Any], where: str = "") -> Any:
    """``overlay`` deep-merged over ``base`` (a new object; neither input changes). A name the
    overlay gives a list of named items that none of them has is a :class:`ScenarioError`
    (without a file: :func:`apply_overlays` names the overlay's)."""
    if not isinstance(base, Mapping):
        return copy.deepcopy(dict(overlay))
    out = dict(copy.deepcopy(base))
    for key, value in overlay.items():
        at = f"{where}{key}"
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_overlay(out[key], value, f"{at}.")
        elif isinstance(value, Mapping) and value and is_named_list(out.get(key)):
            out[key] = _merge_named(out[key], value, at)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_named(items: list, overlay: Mapping[Any, Any], where: str) -> list:
    """``overlay`` (item name -> partial item) merged over the list's items of those names."""
    out = list(items)
    for name, value in overlay.items():
        i = named_index(out, name)
        if i is None:
            names = [str(item["name"]) for item in out]
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (names: {', '.join(names)})"
            raise ScenarioError(None, f"{where}.{name}", f"no item is called {name!r}{hint}")
        if not isinstance(value, Mapping):
            raise ScenarioError(
                None, f"{where}.{name}", f"expected a mapping of fields, got {kind_of(value)}"
            )
        out[i] = merge_overlay(out[i], value, f"{where}.{name}.")
    return out


def apply_overlays(raw: Any, overlays: tuple[tuple[str, Mapping[str, Any]], ...]) -> Any:
    """``raw`` with each ``(file, mapping)`` overlay merged in turn (later ones win)."""
    for file, data in overlays:
        try:
            raw = merge_overlay(raw, data)
        except ScenarioError as exc:
            raise ScenarioError(file, exc.field, exc.problem) from None
    return raw


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def owner_of(
    error: ScenarioError, overlays: tuple[tuple[str, Mapping[str, Any]], ...]
) -> str | None:
    """The overlay file that set the field an error names (the last one that set it), if any."""
    if not error.field:
        return None
    parts: list[str | int] = [
        int(index) if index else key for key, index in _PART.findall(error.field)
    ]
    for file, data in reversed(overlays):
        node: Any = data
        for part in parts:
            found = (isinstance(node, list) and isinstance(part, int) and part < len(node)) or (
                isinstance(node, Mapping) and isinstance(part, str) and part in node
            )
            if not found:
                break
            node = node[part]
        else:
            return file
    return None


def write_overlay(path: str | Path, overlay: Mapping[str, Any], comment: str = "") -> Path:
    """Write ``overlay`` as a YAML overlay file, atomically (a temporary file, then a rename),
    with ``comment`` lines as a header. Floats keep their full precision, so the file reproduces
    exactly the values it was written from."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    header = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    text = header + yaml.safe_dump(_plain(overlay), sort_keys=False, default_flow_style=False)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)  # a crash mid-write never leaves a half-written overlay
    return p


def _plain(value: Any) -> Any:
    """Plain YAML data: NumPy scalars as Python numbers, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value
