"""Sweep results files: CSV or parquet, read back for resuming and rewritten atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ScenarioError

if TYPE_CHECKING:  # annotations only: pandas is imported on use
    import pandas as pd


def read_results(path: str | Path) -> pd.DataFrame:
    """The rows of a results file (CSV, or parquet by extension); empty if it does not exist."""
    import pandas as pd

    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    except ImportError as exc:
        raise ScenarioError(
            str(p),
            None,
            f"cannot read parquet results ({exc}); install the extra: "
            "pip install 'packetflow-arena[parquet]'",
        ) from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise ScenarioError(str(p), None, f"not a readable sweep results file: {exc}") from None


def write_results(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    except ImportError as exc:
        raise ScenarioError(
            str(path),
            None,
            f"cannot write parquet results ({exc}); install the extra: "
            "pip install 'packetflow-arena[parquet]'",
        ) from None
    os.replace(tmp, path)  # a crash mid-write never leaves a half-written results file
