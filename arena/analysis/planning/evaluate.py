"""Running candidate capacities on the sweep backend: every candidate of a round, times every
seed, in one :func:`arena.analysis.sweep.sweep` call, with results cached by capacity vector."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...scenario import Scenario
from ..sweep import sweep
from ..sweep.specs import EmbedderSource
from .figures import Interval, ZoneFigures, objective_intervals, value_intervals
from .slo import Objective

if TYPE_CHECKING:  # annotations only: pandas is imported on use
    import pandas as pd

Capacities = tuple[int, ...]


@dataclass(frozen=True)
class Evaluation:
    """One candidate's runs over a set of seeds, and whether it meets every objective: the
    upper end of the confidence interval of each objective's budget statistic (``intervals``,
    see :func:`.figures.budget_statistic`) at or under its share; ``values`` are the metrics as
    ``run`` reports them."""

    capacities: Capacities
    rows: Any  # pandas.DataFrame: one row per seed
    intervals: dict[str, Interval]
    values: dict[str, Interval]
    feasible: bool

    @property
    def total(self) -> int:
        return sum(self.capacities)


@dataclass
class Evaluator:
    """Evaluates capacity vectors of ``scenario`` (at the planned load) on a sweep backend."""

    scenario: Scenario
    objectives: tuple[Objective, ...]
    confidence: float = 0.95
    backend: str = "processes"
    workers: int | None = None
    address: str | None = None
    progress: bool = True
    embedder: EmbedderSource = None
    runs: int = 0
    sweeps: int = 0
    _cache: dict[tuple[Capacities, tuple[int, ...]], Evaluation] = field(default_factory=dict)

    def zones_for(self, capacities: Capacities) -> tuple:
        return tuple(
            dataclasses.replace(z, capacity=int(c))
            for z, c in zip(self.scenario.zones, capacities, strict=True)
        )

    def evaluate(
        self, candidates: Sequence[Capacities], seeds: Sequence[int], label: str = "sweep"
    ) -> list[Evaluation]:
        """Each candidate over ``seeds`` (new ones in one sweep), in the order given."""
        key_seeds = tuple(seeds)
        todo = list(dict.fromkeys(c for c in candidates if (c, key_seeds) not in self._cache))
        if todo:
            frame = self._sweep(todo, key_seeds, label)
            per = len(key_seeds)
            for i, caps in enumerate(todo):
                rows = frame.iloc[i * per : (i + 1) * per].reset_index(drop=True)
                self._cache[(caps, key_seeds)] = self.judge(caps, rows)
        return [self._cache[(c, key_seeds)] for c in candidates]

    def evaluated(self) -> list[Evaluation]:
        """Every evaluation so far (any seeds)."""
        return list(self._cache.values())

    def _sweep(self, todo: list[Capacities], seeds: tuple[int, ...], label: str) -> pd.DataFrame:
        # the whole zone tuple is the swept value: arbitrary capacity vectors, not a product grid
        grid = {"zones": [self.zones_for(c) for c in todo]}
        if self.progress:
            from tqdm.auto import tqdm

            tqdm.write(f"{label}: {len(todo)} candidates x {len(seeds)} seeds")
        frame = sweep(
            self.scenario,
            grid,
            list(seeds),
            backend=self.backend,
            workers=self.workers,
            address=self.address,
            embedder=self.embedder,
            collect=ZoneFigures(self.objectives, _wait_quantile(self.objectives)),
            progress=self.progress,
        )
        self.runs += len(frame)
        self.sweeps += 1
        return frame.drop(columns=["zones"])

    def judge(
        self, caps: Capacities, rows: pd.DataFrame, confidence: float | None = None
    ) -> Evaluation:
        """A candidate's rows judged at ``confidence`` (default: the evaluator's)."""
        level = self.confidence if confidence is None else confidence
        intervals = objective_intervals(rows, self.objectives, level)
        values = value_intervals(rows, self.objectives, level)
        feasible = all(intervals[o.metric].high <= o.share for o in self.objectives)
        return Evaluation(caps, rows, intervals, values, feasible)


def _wait_quantile(objectives: Sequence[Objective]) -> float:
    return next((o.quantile for o in objectives if o.quantile is not None), 0.95)
