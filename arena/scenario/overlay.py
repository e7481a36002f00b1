"""Scenario overlays: a partial scenario document merged over a scenario before validation.

An overlay is plain YAML in the scenario's own shape (``physics: {temperature: 0.08}``), written
by ``packetflow-arena tune`` and by capacity planning, or by hand. Mappings merge key by key,
recursively; anything else (a number, a string, a list) replaces what was there, so
``zones: [...]`` in an overlay is the whole zone list. Relative paths inside an overlay are
read relative to the scenario file, as if the overlay's lines were written there.

A mistake that comes from an overlay is reported against the overlay's file:
``best.yaml: physics.temperature: must be >= 0.0001, got -1``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError
from .files import read_yaml


def read_overlay(path: str | Path) -> dict[str, Any]:
    """The mapping of an overlay file (a non-empty YAML mapping)."""
    raw = read_yaml(path, "overlay file")
    if not isinstance(raw, Mapping) or not raw:
        raise ScenarioError(
            str(path),
            None,
            "an overlay must be a non-empty mapping, like 'physics: {temperature: 0.1}'",
        )
    return dict(raw)


def merge_overlay(base: Any, overlay: Mapping[str, Any]) -> Any:
    """``overlay`` deep-merged over ``base`` (a new object; neither input changes)."""
    if not isinstance(base, Mapping):
        return copy.deepcopy(dict(overlay))
    out = dict(copy.deepcopy(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_overlay(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overlays(raw: Any, overlays: tuple[tuple[str, Mapping[str, Any]], ...]) -> Any:
    """``raw`` with each ``(file, mapping)`` overlay merged in turn (later ones win)."""
    for _, data in overlays:
        raw = merge_overlay(raw, data)
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
