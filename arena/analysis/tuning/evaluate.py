"""Scoring a population of physics settings in one batch on a sweep backend.

Every point runs on the same seeds (common random numbers: two settings are compared on the same
arrivals and service draws, so the search sees their difference, not the seeds'). A point's
metrics are the means over its seeds; the objective is computed on those means. Points already
scored are not run again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...scenario import Scenario
from ..sweep import RunSpec
from ..sweep.specs import EmbedderSource
from .objective import Objective, derived_metrics, figure_names
from .space import SearchSpace

Runner = Callable[[list[RunSpec]], Iterator[dict[str, Any]]]


@dataclass
class Evaluator:
    """Runs batches of points (field values) and keeps every point's metrics and score.

    ``source`` is the scenario (an absolute file path or a :class:`Scenario`), ``fixed`` the
    overrides applied to every run (the user's ``--set``), ``on_batch`` is told after each batch.
    """

    space: SearchSpace
    objective: Objective
    source: str | Scenario
    seeds: tuple[int, ...]
    run: Runner
    fixed: tuple[tuple[str, Any], ...] = ()
    overlays: tuple[str, ...] = ()
    rate_scale: float = 1.0
    duration: float | None = None
    embedder: EmbedderSource = None
    on_batch: Callable[[Evaluator], None] | None = None
    points: list[dict[str, Any]] = field(default_factory=list)  # one row per evaluated point
    runs: list[dict[str, Any]] = field(default_factory=list)  # one row per run
    batches: int = 0
    _index: dict[tuple, int] = field(default_factory=dict)

    def spec(self, values: dict[str, float | int], seed: int) -> RunSpec:
        overrides = (*self.fixed, *((f"physics.{k}", v) for k, v in values.items()))
        return RunSpec(
            self.source,
            overrides,
            seed,
            self.duration,
            self.embedder,
            self.overlays,
            self.rate_scale,
        )

    def scores(
        self, values: np.ndarray, *, baseline: dict[str, float | int] | None = None
    ) -> np.ndarray:
        """The scores of a batch of points (one row of field values each), run as one batch.
        ``baseline``, if given, is one more point run in the same batch and marked as such."""
        batch = [self.space.physics_values(row) for row in np.atleast_2d(values)]
        if baseline is not None:
            batch.append(baseline)
        new = [p for p in dict.fromkeys(_key(p) for p in batch) if p not in self._index]
        specs = [self.spec(dict(p), s) for p in new for s in self.seeds]
        rows = {(_key_of_spec(r, self.space.names), r["seed"]): r for r in self.run(specs)}
        for p in new:
            per_seed = [rows[(p, s)] for s in self.seeds]
            self._record(
                dict(p), per_seed, is_baseline=baseline is not None and p == _key(baseline)
            )
        self.batches += 1
        if self.on_batch is not None:
            self.on_batch(self)
        return np.array([self.points[self._index[_key(p)]]["score"] for p in batch[: len(values)]])

    def _record(
        self, values: dict[str, Any], per_seed: list[dict[str, Any]], *, is_baseline: bool
    ) -> None:
        for r in per_seed:
            self.runs.append({"point": len(self.points), **r})
        metrics = derived_metrics(
            {k: [r.get(k, math.nan) for r in per_seed] for k in figure_names()}
        )
        means = {k: float(np.mean(v)) for k, v in metrics.items()}
        arrays = {k: np.asarray(v) for k, v in means.items()}
        self._index[_key(values)] = len(self.points)
        self.points.append(
            {
                "point": len(self.points),
                "batch": self.batches,
                "baseline": is_baseline,
                **values,
                "objective": float(self.objective.value(arrays)),
                "score": float(self.objective.score(arrays)),
                **means,
                "runs": len(per_seed),
            }
        )

    def best(self) -> dict[str, Any]:
        """The evaluated point with the highest score (the earliest of equals)."""
        return max(self.points, key=lambda p: (p["score"], -p["point"]))

    def baseline(self) -> dict[str, Any] | None:
        return next((p for p in self.points if p["baseline"]), None)


def _key(values: dict[str, Any]) -> tuple:
    return tuple(sorted(values.items()))


def _key_of_spec(row: dict[str, Any], names: Sequence[str]) -> tuple:
    """A run's point, read from its row (a swept parameter keeps its value in the row)."""
    return _key({n: row[f"physics.{n}"] for n in names})
