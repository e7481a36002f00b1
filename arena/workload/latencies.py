"""Read a column of measured latencies from a CSV file, in seconds, with line-numbered errors.

Shared by the ``empirical`` service model (which resamples the column) and by ``fit`` (which
fits distributions to it): one reader, so both refuse the same rows the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ScenarioError
from .units import DURATION_UNITS

#: at most this many rows: a latency log larger than this is a sample away from useful
MAX_ROWS = 50_000_000


def read_latency_column(
    path: str | Path,
    column: str,
    unit: str = "s",
    *,
    file: str | None = None,
    field: str | None = None,
) -> np.ndarray:
    """The column ``column`` of the CSV ``path`` as float64 seconds (``unit`` is what the file
    holds: ``ms``, ``s``, ``us``...). Every value must be a finite number above zero; the first
    row that is not is named by its 1-based line in the file (the header is line 1).

    Errors name ``file`` (default: the path) and ``field`` (default: the column)."""
    file = str(path) if file is None else file
    field = column if field is None else field
    scale = DURATION_UNITS.get(str(unit).lower())
    if scale is None:
        raise ScenarioError(file, field, f"unknown unit {unit!r} (use ms, s or us)")
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, skip_blank_lines=False, nrows=MAX_ROWS + 1
        )
    except FileNotFoundError:
        raise ScenarioError(file, field, f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problem = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ScenarioError(file, field, f"cannot read it as CSV: {problem}") from None
    if column not in frame.columns:
        present = ", ".join(map(str, frame.columns[:20]))
        raise ScenarioError(file, field, f"no column {column!r} (the columns are: {present})")
    if len(frame) > MAX_ROWS:
        raise ScenarioError(file, field, f"more than {MAX_ROWS} rows; sample it first")
    text = frame[column].fillna("").astype(str)
    values = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        row = int(np.argmax(bad))
        raw = text.iloc[row]
        named = "" if field == column else f"{column}: "
        if not np.isnan(values[row]) or raw.strip().lower() in ("nan", "-nan", "+nan"):
            problem = f"{named}must be a finite latency above 0, got {raw.strip()!r:.40}"
        else:
            problem = f"{named}expected a number, got {raw!r:.40}"
        raise ScenarioError(file, field, f"line {row + 2}: {problem}")
    if values.size == 0:
        raise ScenarioError(file, field, f"no latencies in column {column!r}")
    return values * scale
