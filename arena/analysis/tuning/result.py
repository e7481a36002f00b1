"""A tuning run's result and its files: the best settings as a scenario overlay (``best.yaml``),
every evaluated point (``evaluations.csv``), every run (``runs.csv``) and a summary
(``tune.json``), each written atomically (a temporary file, then a rename)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...scenario import write_overlay
from ..sweep import write_results

if TYPE_CHECKING:  # annotations only: pandas is imported on use
    import pandas as pd


@dataclass(frozen=True)
class TuneResult:
    """What a tuning run found. ``best`` and ``baseline`` are rows of ``evaluations`` (the
    parameters, ``objective`` as stated, the penalised ``score``, and every metric's mean over
    the seeds); ``baseline`` is the scenario's own settings, scored on the same seeds."""

    objective: str
    params: tuple[str, ...]
    seeds: tuple[int, ...]
    best: dict[str, Any]
    baseline: dict[str, Any]
    evaluations: pd.DataFrame
    runs: pd.DataFrame
    batches: int
    wall_s: float
    settings: dict[str, Any]

    @property
    def best_physics(self) -> dict[str, float | int]:
        return {k: self.best[k] for k in self.params}

    def overlay(self) -> dict[str, Any]:
        """The best settings as a scenario overlay (``run --overlay``)."""
        return {"physics": self.best_physics}

    def summary(self) -> dict[str, Any]:
        def brief(row: dict[str, Any]) -> dict[str, Any]:
            keep = [*self.params, "objective", "score", "routing_accuracy", "drop_rate", "wait_p95"]
            return {k: _plain(row[k]) for k in keep if k in row}

        return {
            "objective": self.objective,
            "params": list(self.params),
            "seeds": list(self.seeds),
            "best": brief(self.best),
            "baseline": brief(self.baseline),
            "points": len(self.evaluations),
            "runs": len(self.runs),
            "batches": self.batches,
            "wall_s": round(self.wall_s, 3),
            **self.settings,
        }

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``best.yaml``, ``evaluations.csv``, ``runs.csv`` and ``tune.json`` into ``out``."""
        d = Path(out)
        d.mkdir(parents=True, exist_ok=True)
        b, base = self.best, self.baseline
        comment = (
            f"packetflow-arena tune: best of {len(self.evaluations)} points "
            f"({len(self.runs)} runs, seeds {list(self.seeds)})\n"
            f"objective: {self.objective}\n"
            f"value {b['objective']:.6g} (score {b['score']:.6g}); the scenario's own settings: "
            f"{base['objective']:.6g} (score {base['score']:.6g})\n"
            f"use: packetflow-arena run SCENARIO --overlay {d / 'best.yaml'}"
        )
        paths = {
            "best.yaml": write_overlay(d / "best.yaml", self.overlay(), comment),
            "evaluations.csv": d / "evaluations.csv",
            "runs.csv": d / "runs.csv",
            "tune.json": d / "tune.json",
        }
        write_results(paths["evaluations.csv"], self.evaluations)
        write_results(paths["runs.csv"], self.runs)
        tmp = paths["tune.json"].with_name("tune.json.tmp")
        tmp.write_text(json.dumps(self.summary(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, paths["tune.json"])
        return paths


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):  # JSON has no NaN or infinity
        return None
    return v
