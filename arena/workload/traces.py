"""Read a request log into a :class:`~arena.workload.trace.Trace`: Azure LLM, Mooncake or CSV.

- ``azure_llm``: CSV ``TIMESTAMP,ContextTokens,GeneratedTokens`` (Azure's public LLM inference
  traces); timestamps like ``2023-11-16 18:15:46.6805900`` become seconds from the first.
- ``mooncake``: JSON lines ``{"timestamp": ms, "input_length", "output_length", "hash_ids"}``
  (the Mooncake FAST'25 traces).
- ``csv``: a column ``time`` (seconds, or ``time_unit``) and optional ``input_tokens`` and
  ``output_tokens``.

Reading is vectorised (pandas/numpy, no Python loop per request). Every refusal is one line
naming the file, the field and the 1-based line of the file (``line 812: TIMESTAMP goes
backwards``): a missing column, a bad number, negative tokens, an empty trace.
"""

from __future__ import annotations

import json
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ScenarioError
from .trace import Trace
from .units import DURATION_UNITS

TRACE_FORMATS = ("azure_llm", "mooncake", "csv")
#: at most this many requests in one trace file
MAX_REQUESTS = 50_000_000
#: no request has more tokens than this (a bigger count is a corrupt row)
MAX_TOKENS = 10**9


class _Where:
    def __init__(self, file: str | None, field: str):
        self.file, self.field = file, field

    def fail(self, problem: str, line: int | None = None) -> ScenarioError:
        prefix = f"line {line}: " if line is not None else ""
        return ScenarioError(self.file, self.field, prefix + problem)


def _read_csv(path: Path, where: _Where, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        # pandas parses clean number columns in C; a column with a bad cell stays text (no NA
        # guessing), so the checks below find it and name its line
        frame = pd.read_csv(path, keep_default_na=False, nrows=MAX_REQUESTS + 1)
    except FileNotFoundError:
        raise where.fail(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise where.fail(f"cannot read it as CSV: {' '.join(str(exc).split())[:160]}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        present = ", ".join(map(str, frame.columns[:20]))
        raise where.fail(f"missing column {missing[0]!r} (the columns are: {present})")
    return frame


def _numbers(text: pd.Series, name: str, where: _Where, lines: np.ndarray) -> np.ndarray:
    """A column as float64; the first entry that is no finite number is named by its line."""
    if text.dtype.kind in "iuf":  # parsed already
        values = text.to_numpy(np.float64)
    else:
        values = pd.to_numeric(text.astype(str).str.strip(), errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise where.fail(
            f"{name}: expected a finite number, got {text.iloc[row]!r:.40}", lines[row]
        )
    return values


def _tokens(text: pd.Series, name: str, where: _Where, lines: np.ndarray) -> np.ndarray:
    values = _numbers(text, name, where, lines)
    bad = (values < 0) | (values != np.floor(values)) | (values > MAX_TOKENS)
    if bad.any():
        row = int(np.argmax(bad))
        raise where.fail(
            f"{name}: expected a whole number of tokens from 0 to {MAX_TOKENS}, "
            f"got {text.iloc[row]!r:.40}",
            lines[row],
        )
    return values.astype(np.int64)


def _times(seconds: np.ndarray, name: str, where: _Where, lines: np.ndarray) -> np.ndarray:
    """Seconds re-based to the first arrival; refused if they go backwards or the trace is empty."""
    if seconds.size == 0:
        raise where.fail("the trace has no requests")
    if seconds.size > MAX_REQUESTS:
        raise where.fail(f"more than {MAX_REQUESTS} requests; cut a window of it first")
    back = np.diff(seconds) < 0
    if back.any():
        raise where.fail(f"{name} goes backwards", lines[int(np.argmax(back)) + 1])
    return seconds - seconds[0]


def _azure(path: Path, where: _Where) -> Trace:
    frame = _read_csv(path, where, ("TIMESTAMP", "ContextTokens", "GeneratedTokens"))
    lines = np.arange(len(frame), dtype=np.int64) + 2  # the header is line 1
    stamps = pd.to_datetime(
        frame["TIMESTAMP"].astype(str).str.strip(), format="ISO8601", errors="coerce"
    )
    bad = stamps.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise where.fail(
            f"TIMESTAMP: expected a time like 2023-11-16 18:15:46.6805900, "
            f"got {frame['TIMESTAMP'].iloc[row]!r:.40}",
            lines[row],
        )
    nanos = stamps.to_numpy().astype("datetime64[ns]").astype(np.int64)
    seconds = (nanos - (nanos[0] if nanos.size else 0)) / 1e9
    return Trace(
        _times(seconds, "TIMESTAMP", where, lines),
        _tokens(frame["ContextTokens"], "ContextTokens", where, lines),
        _tokens(frame["GeneratedTokens"], "GeneratedTokens", where, lines),
    )


def _csv(path: Path, where: _Where, time_unit: str) -> Trace:
    scale = DURATION_UNITS.get(time_unit.lower())
    if scale is None:
        raise where.fail(f"unknown time_unit {time_unit!r:.40} (use ms, s, m...)")
    frame = _read_csv(path, where, ("time",))
    lines = np.arange(len(frame), dtype=np.int64) + 2
    seconds = _numbers(frame["time"], "time", where, lines) * scale
    tokens = {
        name: _tokens(frame[name], name, where, lines) if name in frame.columns else None
        for name in ("input_tokens", "output_tokens")
    }
    return Trace(
        _times(seconds, "time", where, lines), tokens["input_tokens"], tokens["output_tokens"]
    )


MOONCAKE_KEYS = ("timestamp", "input_length", "output_length", "hash_ids")


def _mooncake(path: Path, where: _Where) -> Trace:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise where.fail(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise where.fail(f"cannot read it: {' '.join(str(exc).split())[:160]}") from None
    raw = text.split("\n")
    keep = [i for i, line in enumerate(raw) if line.strip()]
    lines = np.asarray(keep, dtype=np.int64) + 1
    body = "[" + ",".join(raw[i] for i in keep) + "]"
    try:
        rows = json.loads(body)
    except json.JSONDecodeError as exc:
        # the error's offset in the joined text -> the line it came from
        ends = np.cumsum([len(raw[i]) + 1 for i in keep])
        row = min(int(np.searchsorted(ends, exc.pos - 1, side="right")), len(keep) - 1)
        raise where.fail(f"not valid JSON: {exc.msg}", lines[row] if keep else 1) from None
    if not rows:
        raise where.fail("the trace has no requests")
    odd = [i for i, row in enumerate(rows) if type(row) is not dict]
    if odd:
        raise where.fail("expected one JSON object per line", lines[odd[0]])
    frame = pd.DataFrame.from_records(rows)
    missing = [k for k in MOONCAKE_KEYS[:3] if k not in frame.columns]
    if missing:
        raise where.fail(f"missing key {missing[0]!r} (each line needs {', '.join(MOONCAKE_KEYS)})")
    for key in MOONCAKE_KEYS[:3]:
        absent = frame[key].isna().to_numpy()
        if absent.any():
            raise where.fail(f"missing key {key!r}", lines[int(np.argmax(absent))])
    seconds = _numbers(frame["timestamp"], "timestamp", where, lines) / 1000.0
    hash_ids = offsets = None
    if "hash_ids" in frame.columns:
        hash_ids, offsets = _ragged(frame["hash_ids"], where, lines)
    return Trace(
        _times(seconds, "timestamp", where, lines),
        _tokens(frame["input_length"], "input_length", where, lines),
        _tokens(frame["output_length"], "output_length", where, lines),
        hash_ids,
        offsets,
    )


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _ragged(column: pd.Series, where: _Where, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lists of hash ids -> one flat int64 array and its offsets (a missing list is empty)."""
    raw = column.to_numpy(dtype=object)
    values = [v if isinstance(v, list) else [] for v in raw]
    odd = [i for i, v in enumerate(raw) if not isinstance(v, list) and not _is_missing(v)]
    if odd:
        got = column.iloc[odd[0]]
        raise where.fail(f"hash_ids: expected a list of integers, got {got!r:.40}", lines[odd[0]])
    lengths = np.fromiter(map(len, values), np.int64, len(values))
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    items = list(chain.from_iterable(values))
    try:
        flat = np.array(items) if items else np.empty(0, dtype=np.int64)
    except (ValueError, OverflowError):  # ragged nesting: a list inside the list
        flat = np.array([None])
    if flat.dtype.kind in "iu":
        ok = flat >= 0
    else:  # the slow path finds the first entry that is no non-negative integer
        ok = np.fromiter((type(h) is int and 0 <= h < 2**63 for h in items), bool, len(items))
        flat = np.array(items, dtype=object)
    if not ok.all():
        bad = int(np.argmax(~ok))
        row = int(np.searchsorted(offsets, bad, side="right")) - 1
        raise where.fail(
            f"hash_ids: expected non-negative integers, got {items[bad]!r:.40}", lines[row]
        )
    return flat.astype(np.int64), offsets


def read_trace(
    path: str | Path,
    format: str,
    *,
    file: str | None,
    field: str,
    time_unit: str = "s",
) -> Trace:
    """The trace at ``path`` in ``format`` (``azure_llm``, ``mooncake`` or ``csv``; ``time_unit``
    is the csv ``time`` column's unit). Errors name ``file: field`` and the line at fault."""
    where = _Where(file, field)
    path = Path(path)
    if format == "azure_llm":
        return _azure(path, where)
    if format == "mooncake":
        return _mooncake(path, where)
    if format == "csv":
        return _csv(path, where, time_unit)
    raise where.fail(
        f"unknown trace format {format!r:.40} (expected one of {', '.join(TRACE_FORMATS)})"
    )
