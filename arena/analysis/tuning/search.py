"""Tuning the physics: differential evolution (``scipy.optimize``) over a search space, every
generation's whole population run as one batch on a sweep backend.

Why differential evolution: the objective is a noisy simulation with no gradient, integer fields
(``candidates``) sit beside continuous ones, and a population is a batch of independent runs —
exactly what a process pool or a Dask cluster runs in parallel. ``vectorized=True`` hands each
generation to :class:`Evaluator` at once. The scenario's own settings are a member of the first
population (or an extra point beside it when they lie outside the bounds), so the result is
never worse than them on the seeds searched, and the comparison is on the same seeds.

Tune on the arrivals you will not report as held out: the shipped scenarios draw arrivals from
the validation split; point them elsewhere with ``overrides`` (``arrivals.source.split=...``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from capabilities import import_dotted

from ...errors import ScenarioError
from ...scenario import Scenario, load_scenario, parse_overrides
from ..sweep import open_backend
from ..sweep.specs import EmbedderSource, apply_overrides
from .evaluate import Evaluator
from .objective import Objective
from .result import TuneResult
from .space import ParamRange, SearchSpace

WORST = 1e12  # the energy of a point whose score is not finite (scipy wants finite energies)


def tune(
    scenario: str | Path | Scenario,
    params: Sequence[str | ParamRange] | Mapping[str, Any],
    objective: str | Objective,
    *,
    constraints: Sequence[str] = (),
    penalty: float = 1000.0,
    seeds: Sequence[int] = (1, 2, 3),
    overrides: Mapping[str, Any] | Sequence[str] = (),
    overlays: Sequence[str | Path] = (),
    rate_scale: float = 1.0,
    duration: float | None = None,
    popsize: int = 5,
    maxiter: int = 10,
    budget: int | None = None,
    seed: int = 0,
    tol: float = 0.0,
    backend: str = "processes",
    workers: int | None = None,
    address: str | None = None,
    embedder: EmbedderSource = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> TuneResult:
    """Search ``params`` (physics fields, e.g. ``["temperature=0.005:0.5:log", "candidates"]``)
    for the best ``objective`` (an expression to maximise, e.g. ``"accuracy - 2*drop_rate"``, or
    an :class:`Objective`; ``constraints`` like ``"drop_rate<=0.01"`` are penalised).

    Every point runs once per seed in ``seeds``; its metrics are the means over them. The search
    runs at most ``maxiter`` generations of ``max(5, popsize × len(params))`` points (fewer if
    ``budget``, a number of runs, is reached first); ``seed`` makes it reproducible. ``tol`` is
    scipy's convergence test (stop when the spread of the population's scores is below ``tol``
    × their mean); the default 0 runs every generation, because a score like accuracy near 0.95
    passes scipy's default of 0.01 after one generation, on noise. ``overrides``
    (``--set``), ``overlays`` and ``rate_scale`` apply to every run, the scenario's own settings
    (the baseline) included. With ``out``, the result's files are written there
    (:meth:`TuneResult.write`).
    """
    from scipy.optimize import differential_evolution

    started = time.perf_counter()
    space = SearchSpace.of(params)
    goal = _objective(objective, constraints, penalty)
    seeds_t = _seeds(seeds)
    _check_settings(popsize, maxiter, budget, rate_scale, tol)
    source, fixed, base = _base_scenario(scenario, overrides, overlays, space)
    if isinstance(embedder, str):  # a typo fails here, not in every worker
        import_dotted(embedder, where="tune embedder")
    baseline = {p.name: getattr(base.physics, p.name) for p in space.params}
    members = max(5, popsize * len(space.params))  # scipy's population size
    generations = _generations(members, len(seeds_t), maxiter, budget)
    bar = _bar(progress, generations + 1)
    with open_backend(backend, workers, address) as run:
        evaluator = Evaluator(
            space,
            goal,
            source,
            seeds_t,
            run,
            fixed,
            tuple(str(Path(o).resolve()) for o in overlays),
            rate_scale,
            duration,
            embedder,
            on_batch=lambda ev: _tick(bar, ev),
        )
        first = [True]

        def energies(x: np.ndarray) -> np.ndarray:
            scores = evaluator.scores(space.values(x.T), baseline=baseline if first[0] else None)
            if first[0] and not np.isfinite(scores).any():
                raise _undefined(goal, evaluator)
            first[0] = False
            return np.where(np.isfinite(scores), -scores, WORST)

        try:
            differential_evolution(
                energies,
                space.bounds(),
                maxiter=generations,
                popsize=popsize,
                tol=tol,
                rng=seed,
                polish=False,
                x0=space.to_search(base.physics),
                integrality=space.integrality(),
                vectorized=True,
                updating="deferred",
            )
        finally:
            if bar is not None:
                bar.close()
    result = _result(evaluator, goal, space, seeds_t, time.perf_counter() - started)
    result.settings.update(
        scenario=str(scenario.file if isinstance(scenario, Scenario) else scenario),
        backend=backend,
        workers=workers,
        popsize=popsize,
        maxiter=maxiter,
        budget=budget,
        search_seed=seed,
        tol=tol,
        rate_scale=rate_scale,
        overrides=[f"{k}={v}" for k, v in fixed],
        overlays=[str(o) for o in overlays],
        duration=duration,
    )
    if out is not None:
        result.write(out)
    return result


def _objective(objective: str | Objective, constraints: Sequence[str], penalty: float) -> Objective:
    if isinstance(objective, Objective):
        if constraints:
            raise ScenarioError(None, "constraints", "give them to the Objective itself")
        return objective
    return Objective.parse(objective, constraints=constraints, penalty=penalty)


def _undefined(goal: Objective, ev: Evaluator) -> ScenarioError:
    """The objective is NaN everywhere: name the metrics that are undefined in the runs."""
    nan = sorted(n for n in goal.names if any(not math.isfinite(p[n]) for p in ev.points))
    why = f" ({', '.join(nan)} undefined in the runs" + (
        "; do the arrivals carry labels?)" if any("accuracy" in n for n in nan) else ")"
    )
    return ScenarioError(
        None,
        "objective",
        f"{goal.text!r} is not finite at any point of the first population{why if nan else ''}",
    )


def _seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    out = tuple(seeds)
    if not out:
        raise ScenarioError(None, "seeds", "tuning needs at least one seed")
    for s in out:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0:
            raise ScenarioError(None, "seeds", f"expected integers >= 0, got {s!r}")
    if len(set(out)) != len(out):
        raise ScenarioError(None, "seeds", f"seeds repeat: {list(out)}")
    return tuple(int(s) for s in out)


def _check_settings(
    popsize: int, maxiter: int, budget: int | None, rate_scale: float, tol: float
) -> None:
    for name, v, low in (("popsize", popsize, 1), ("maxiter", maxiter, 0), ("budget", budget, 1)):
        if v is None and name == "budget":
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ScenarioError(None, name, f"expected an integer >= {low}, got {v!r}")
    for name, v in (("rate_scale", rate_scale), ("tol", tol)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise ScenarioError(None, name, f"expected a finite number >= 0, got {v!r}")
    if rate_scale <= 0:
        raise ScenarioError(None, "rate_scale", f"must be > 0, got {rate_scale!r}")


def _base_scenario(
    scenario: str | Path | Scenario,
    overrides: Mapping[str, Any] | Sequence[str],
    overlays: Sequence[str | Path],
    space: SearchSpace,
) -> tuple[str | Scenario, tuple[tuple[str, Any], ...], Scenario]:
    """The run source, the fixed overrides and the scenario they make (checked here, once,
    before any worker starts)."""
    file = scenario.file if isinstance(scenario, Scenario) else str(scenario)
    fixed = tuple(parse_overrides(overrides, file))
    tuned = {p.path for p in space.params}
    clash = next((k for k, _ in fixed if k in tuned), None)
    if clash is not None:
        raise ScenarioError(file, clash, "is both overridden and tuned; drop one of them")
    if isinstance(scenario, Scenario):
        if overlays:
            raise ScenarioError(file, None, "overlays apply to a scenario file, not a Scenario")
        return scenario, fixed, apply_overrides(scenario, dict(fixed))
    path = str(Path(scenario).resolve())
    return path, fixed, load_scenario(scenario, overrides=dict(fixed), overlays=overlays)


def _generations(members: int, n_seeds: int, maxiter: int, budget: int | None) -> int:
    """Generations after the first population, within ``budget`` runs (the first population
    and the baseline point count against it)."""
    if budget is None:
        return maxiter
    first = (members + 1) * n_seeds
    if budget < first:
        raise ScenarioError(
            None,
            "budget",
            f"{budget} runs do not cover the first population "
            f"({members} points + the baseline, x {n_seeds} seeds = {first} runs)",
        )
    return min(maxiter, (budget - first) // (members * n_seeds))


def _bar(progress: bool, total: int) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="tune", unit="gen")


def _tick(bar: Any, ev: Evaluator) -> None:
    if bar is None:
        return
    best = ev.best()
    bar.set_postfix(best=f"{best['objective']:.5g}", points=len(ev.points), runs=len(ev.runs))
    bar.update(1)


def _result(
    ev: Evaluator, goal: Objective, space: SearchSpace, seeds: tuple[int, ...], wall: float
) -> TuneResult:
    import pandas as pd

    baseline = ev.baseline()
    assert baseline is not None  # the first batch always scores it
    return TuneResult(
        objective=goal.text,
        params=tuple(space.names),
        seeds=seeds,
        best=ev.best(),
        baseline=baseline,
        evaluations=pd.DataFrame(ev.points),
        runs=pd.DataFrame(ev.runs),
        batches=ev.batches,
        wall_s=wall,
        settings={},
    )
