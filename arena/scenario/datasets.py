"""Labelled text datasets (JSON splits or CSV columns) as sources of intents and examples.

A scenario names a file and how to read it; this module turns that into two parallel lists,
texts and labels. Paths are resolved relative to the scenario file, so a scenario and its data
can move together.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ScenarioError
from .files import MAX_DATA_BYTES, read_text


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
    if spec.format == "json":
        result = _load_json(spec.file, spec.split, scenario_file, field)
    elif spec.format == "csv":
        result = _load_csv(spec.file, spec.text_column, spec.label_column, scenario_file, field)
    else:
        raise ScenarioError(
            scenario_file, f"{field}.format", f"expected 'json' or 'csv', got {spec.format!r}"
        )
    if spec.limit is not None:
        result = LabelledTexts(result.texts[: spec.limit], result.labels[: spec.limit])
    if not result.texts:
        raise ScenarioError(scenario_file, field, f"{spec.file} holds no rows for this source")
    return result


def _text(path: Path, scenario_file: str | None, field: str) -> str:
    """The file's text: a regular file, at most MAX_DATA_BYTES, UTF-8 (else one line)."""
    return read_text(
        path, MAX_DATA_BYTES, lambda problem: ScenarioError(scenario_file, f"{field}.file", problem)
    )


@lru_cache(maxsize=8)
def _read_json(path: Path, mtime: float) -> object:
    """Parsed once per file version (examples and arrivals often share one file)."""
    text = _text(path, None, "")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"{path} is not valid JSON: {exc}"
    except RecursionError:
        problem = f"{path} is not valid JSON: nested too deeply"
    raise ScenarioError(None, None, problem)


def _load_json(
    path: Path, splits: Sequence[str], scenario_file: str | None, field: str
) -> LabelledTexts:
    try:
        data = _read_json(path, path.stat().st_mtime if path.exists() else 0.0)
    except ScenarioError as exc:  # name the scenario and its field
        raise ScenarioError(scenario_file, f"{field}.file", exc.problem) from None
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
        if not isinstance(rows, list):
            where = f"split {split!r}" if split else "the file"
            raise ScenarioError(
                scenario_file,
                f"{field}.split" if split else f"{field}.file",
                f"{path}: {where} must be a list of [text, label] rows, got {type(rows).__name__}",
            )
        for i, row in enumerate(rows):
            if isinstance(row, str):
                texts.append(row)
                labels.append(None)
            elif (
                isinstance(row, list | tuple)
                and len(row) == 2
                and isinstance(row[0], str)
                and (row[1] is None or isinstance(row[1], str | int))
                and not isinstance(row[1], bool)
            ):
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
    """Columns of a CSV file. ``strict`` parsing makes an unterminated quote an error (the
    default csv module silently swallows every row after it into one field), and a row with
    more or fewer fields than the header is refused, naming its line."""

    def fail(where: str, problem: str) -> ScenarioError:
        return ScenarioError(scenario_file, f"{field}.{where}", problem)

    reader = csv.DictReader(io.StringIO(_text(path, scenario_file, field), newline=""), strict=True)
    texts, labels = [], []
    try:
        cols = reader.fieldnames or []
        if text_col not in cols:
            raise fail("text_column", f"{path} has no column {text_col!r}; it has {cols}")
        if label_col is not None and label_col not in cols:
            raise fail("label_column", f"{path} has no column {label_col!r}; it has {cols}")
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise fail(
                    "file",
                    f"{path} line {line}: the row's fields do not match the header's {len(cols)}",
                )
            text = row[text_col]
            if not text.strip():
                raise fail("file", f"{path} line {line}: column {text_col!r} is empty")
            texts.append(text)
            lab = row[label_col] if label_col is not None else None
            labels.append(lab if lab not in (None, "") else None)
    except csv.Error as exc:
        raise fail("file", f"{path} line {reader.line_num}: not valid CSV: {exc}") from None
    return LabelledTexts(tuple(texts), tuple(labels))
