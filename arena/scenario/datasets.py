"""Labelled text datasets (JSON splits or CSV columns) as sources of intents and examples.

A scenario names a file and how to read it; this module turns that into two parallel lists,
texts and labels. Paths are resolved relative to the scenario file, so a scenario and its data
can move together.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ScenarioError


@dataclass(frozen=True)
class DatasetSpec:
    """Where labelled texts come from.

    ``format`` is ``json`` (an object whose ``split`` key(s) hold rows ``[text, label]``) or
    ``csv`` (columns ``text_column`` and ``label_column``; no label column means unlabelled).
    ``limit`` keeps the first N rows of the file (before any shuffling by the model).
    """

    file: Path
    format: str = "json"
    split: tuple[str, ...] = ()
    text_column: str = "text"
    label_column: str | None = "label"
    limit: int | None = None


@dataclass(frozen=True)
class LabelledTexts:
    texts: tuple[str, ...]
    labels: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def by_label(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t, lab in zip(self.texts, self.labels):
            if lab is not None:
                out.setdefault(lab, []).append(t)
        return out


def load_dataset(
    spec: DatasetSpec, *, scenario_file: str | None = None, field: str = "source"
) -> LabelledTexts:
    """Read ``spec``; any problem is a :class:`ScenarioError` naming the scenario field."""
    if not spec.file.exists():
        raise ScenarioError(scenario_file, f"{field}.file", f"file not found: {spec.file}")
    try:
        if spec.format == "json":
            result = _load_json(spec.file, spec.split, scenario_file, field)
        elif spec.format == "csv":
            result = _load_csv(spec.file, spec.text_column, spec.label_column, scenario_file, field)
        else:
            raise ScenarioError(
                scenario_file, f"{field}.format", f"expected 'json' or 'csv', got {spec.format!r}"
            )
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            scenario_file, f"{field}.file", f"cannot read {spec.file}: {exc}"
        ) from None
    if spec.limit is not None:
        result = LabelledTexts(result.texts[: spec.limit], result.labels[: spec.limit])
    if not result.texts:
        raise ScenarioError(scenario_file, field, f"{spec.file} holds no rows for this source")
    return result


@lru_cache(maxsize=8)
def _read_json(path: Path, mtime: float) -> object:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _load_json(
    path: Path, splits: Sequence[str], scenario_file: str | None, field: str
) -> LabelledTexts:
    try:
        data = _read_json(path, path.stat().st_mtime)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            scenario_file, f"{field}.file", f"{path} is not valid JSON: {exc}"
        ) from None
    if isinstance(data, list):
        if splits:
            raise ScenarioError(
                scenario_file, f"{field}.split", f"{path} is a list; it has no splits"
            )
        parts = [("", data)]
    elif isinstance(data, dict):
        if not splits:
            raise ScenarioError(
                scenario_file,
                f"{field}.split",
                f"name the key(s) to read; {path} has {sorted(data)}",
            )
        parts = []
        for s in splits:
            if s not in data:
                raise ScenarioError(
                    scenario_file,
                    f"{field}.split",
                    f"{path} has no key {s!r}; it has {sorted(data)}",
                )
            parts.append((s, data[s]))
    else:
        raise ScenarioError(scenario_file, f"{field}.file", f"{path} must hold an object or a list")
    texts: list[str] = []
    labels: list[str | None] = []
    for split, rows in parts:
        for i, row in enumerate(rows):
            if isinstance(row, str):
                texts.append(row)
                labels.append(None)
            elif isinstance(row, list | tuple) and len(row) == 2 and isinstance(row[0], str):
                texts.append(row[0])
                labels.append(None if row[1] is None else str(row[1]))
            else:
                where = f"{split}[{i}]" if split else f"[{i}]"
                raise ScenarioError(
                    scenario_file,
                    f"{field}.file",
                    f"{path} row {where} must be [text, label] or a text, got {row!r:.80}",
                )
    return LabelledTexts(tuple(texts), tuple(labels))


def _load_csv(
    path: Path, text_col: str, label_col: str | None, scenario_file: str | None, field: str
) -> LabelledTexts:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        if text_col not in cols:
            raise ScenarioError(
                scenario_file,
                f"{field}.text_column",
                f"{path} has no column {text_col!r}; it has {cols}",
            )
        if label_col is not None and label_col not in cols:
            raise ScenarioError(
                scenario_file,
                f"{field}.label_column",
                f"{path} has no column {label_col!r}; it has {cols}",
            )
        texts, labels = [], []
        for line, row in enumerate(reader, start=2):
            text = row[text_col]
            if text is None or not text.strip():
                raise ScenarioError(
                    scenario_file,
                    f"{field}.file",
                    f"{path} line {line}: column {text_col!r} is empty",
                )
            texts.append(text)
            lab = row[label_col] if label_col is not None else None
            labels.append(lab if lab not in (None, "") else None)
    return LabelledTexts(tuple(texts), tuple(labels))
