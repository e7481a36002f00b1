"""One sweep run as a pure function of a small picklable :class:`RunSpec`: building the grid's
specs, running one, and flattening its summary into a row of :data:`FIGURES`."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capabilities import Embedder, import_dotted

from ...errors import ScenarioError
from ...model import ArenaModel
from ...scenario import Bounds, Reader, Scenario, load_scenario

EmbedderSource = str | Callable[[], Embedder] | None
Collect = Callable[[ArenaModel], Mapping[str, Any]] | None

# summary figures flattened into each row, in this order (after the parameters and the seed)


FIGURES = (
    "router",
    "simulated_s",
    "arrived",
    "completed",
    "dropped",
    "dropped_out_of_scope",
    "dropped_queue_full",
    "dropped_expired",
    "lost",
    "in_flight",
    "queued",
    "in_service",
    "overflowed",
    "routing_accuracy",
    "capability_accuracy",
    "scored_intents",
    "served_well",
    "latency_mean",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "wait_mean",
    "wait_p50",
    "wait_p95",
    "wait_p99",
    "ttft_mean",
    "ttft_p50",
    "ttft_p95",
    "ttft_p99",
    "cache_hit_rate",
    "utilisation_mean",
    "utilisation_max",
    "oos_precision",
    "oos_recall",
)


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs, picklable: where the scenario comes from, what to change, the seed.

    ``scenario`` is a file path (overrides go through :func:`load_scenario`, so they are
    validated like the file) or a :class:`Scenario` object (overrides replace its fields).
    ``embedder`` is a dotted path (``"package.module:Factory"``) or a picklable zero-argument
    callable returning an embedder; ``None`` means the default MiniLM embedder of the worker.
    ``overlays`` are overlay files merged over a scenario file before the overrides;
    ``rate_scale`` multiplies the arrival rate (as ``run --rate-scale`` does).
    ``collect`` is a picklable callable ``model -> {column: scalar}`` whose figures join the
    row (e.g. per-zone waits for a capacity plan); ``None`` adds nothing.
    """

    scenario: str | Scenario
    overrides: tuple[tuple[str, Any], ...]
    seed: int | None
    duration: float | None = None
    embedder: EmbedderSource = None
    overlays: tuple[str, ...] = ()
    rate_scale: float = 1.0
    collect: Collect = None

    def key(self) -> tuple[str, ...]:
        return run_key(dict(self.overrides), self.seed)


def run_key(params: Mapping[str, Any], seed: Any) -> tuple[str, ...]:
    """A canonical identity of a run, equal for a grid value and the same value read back from a
    CSV file (``10`` and ``10.0`` match, numpy scalars match Python ones)."""

    def canon(v: Any) -> str:
        if hasattr(v, "item"):  # numpy scalar
            v = v.item()
        if isinstance(v, bool) or v is None:
            return repr(v)
        if isinstance(v, int | float):
            return repr(float(v))
        return str(v)

    return (*(f"{k}={canon(params[k])}" for k in sorted(params)), f"seed={canon(seed)}")


def grid_specs(
    scenario: str | Path | Scenario,
    grid: Mapping[str, Sequence[Any]],
    seeds: Iterable[int | None],
    *,
    duration: float | None = None,
    embedder: EmbedderSource = None,
    overlays: Sequence[str | Path] = (),
    collect: Collect = None,
    rate_scale: float = 1.0,
) -> list[RunSpec]:
    """The runs of a sweep, in a fixed order: the grid's product (first key slowest), then seeds."""
    # an absolute path, so workers started elsewhere (a remote Dask worker) find the same file
    source: str | Scenario = (
        scenario if isinstance(scenario, Scenario) else str(Path(scenario).resolve())
    )
    file = scenario.file if isinstance(scenario, Scenario) else str(scenario)
    layers = tuple(str(Path(o).resolve()) for o in overlays)
    for key, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise ScenarioError(
                file, key, f"sweep grid values must be a non-empty list, got {values!r}"
            )
    seeds = list(seeds)
    if not seeds:
        raise ScenarioError(file, "seeds", "a sweep needs at least one seed")
    if None in seeds:  # the scenario's own seed, named, so a row always says which seed ran
        base = (
            scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overlays=layers)
        )
        seeds = [base.seed if s is None else s for s in seeds]
    keys = list(grid)
    scale = check_rate_scale(rate_scale, file)
    specs = [
        RunSpec(
            source,
            tuple(zip(keys, combo)),
            seed,
            duration,
            embedder,
            layers,
            rate_scale=scale,
            collect=collect,
        )
        for combo in itertools.product(*(grid[k] for k in keys))
        for seed in seeds
    ]
    seen: set[tuple[str, ...]] = set()
    for spec in specs:
        if spec.key() in seen:
            raise ScenarioError(file, None, f"sweep grid repeats the run {spec.key()}")
        seen.add(spec.key())
    return specs


def check_rate_scale(rate_scale: Any, file: str | None) -> float:
    """``rate_scale`` checked like ``--rate-scale`` (finite, > 0, within the rate bound)."""
    Reader(file).check_number(
        rate_scale, "rate_scale", minimum=0, exclusive_min=True, maximum=Bounds.RATE
    )
    return float(rate_scale)


def apply_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """A copy of an in-memory scenario with dotted fields replaced (``physics.temperature``,
    ``arrivals.rate``, ``zones.0.capacity``, ``router``); dataclass checks still apply."""
    for key, value in overrides.items():
        try:
            scenario = _replace_path(scenario, key.split("."), value)
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            raise ScenarioError(
                scenario.file, key, f"cannot override with {value!r}: {exc}"
            ) from None
    return scenario


def _replace_path(obj: Any, parts: list[str], value: Any) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(obj, tuple) and head.isdigit():
        i = int(head)
        items = list(obj)
        items[i] = _replace_path(items[i], rest, value) if rest else value
        return tuple(items)
    if (
        not dataclasses.is_dataclass(obj)
        or isinstance(obj, type)  # a dataclass itself, not an instance
        or head not in {f.name for f in dataclasses.fields(obj)}
    ):
        raise AttributeError(f"{type(obj).__name__} has no field {head!r}")
    new = _replace_path(getattr(obj, head), rest, value) if rest else value
    return dataclasses.replace(obj, **{head: new})


def build_scenario(spec: RunSpec) -> Scenario:
    if isinstance(spec.scenario, Scenario):
        if spec.overlays:
            raise ScenarioError(
                spec.scenario.file, None, "overlays apply to a scenario file, not a Scenario object"
            )
        return apply_overrides(spec.scenario, dict(spec.overrides))
    return load_scenario(spec.scenario, overrides=dict(spec.overrides), overlays=spec.overlays)


def resolve_embedder(source: EmbedderSource) -> Embedder | None:
    if source is None:
        return None
    factory = import_dotted(source, where="sweep embedder") if isinstance(source, str) else source
    return factory()


_EMBEDDERS: dict[Any, Embedder | None] = {}


def embedder_for(source: EmbedderSource) -> Embedder | None:
    """One embedder per source per process, so a worker's runs share its cache."""
    if source not in _EMBEDDERS:
        _EMBEDDERS[source] = resolve_embedder(source)
    return _EMBEDDERS[source]


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Run one sweep point and return its row: parameters, seed, flattened summary, duration."""
    started = time.perf_counter()
    try:
        sc = build_scenario(spec)
        model = ArenaModel(
            sc, seed=spec.seed, embedder=embedder_for(spec.embedder), rate_scale=spec.rate_scale
        )
        model.run(spec.duration)
    except Exception as exc:  # say which run failed, wherever it ran (the note is pickled too)
        exc.add_note(f"in sweep run {', '.join(spec.key())}")
        raise
    row: dict[str, Any] = dict(spec.overrides)
    row["seed"] = int(model.seed_value)
    row["rate_scale"] = spec.rate_scale
    for key, value in flatten_summary(model.summary().to_dict()).items():
        row.setdefault(key, value)  # a swept parameter keeps the value it was given
    if spec.collect is not None:
        row.update(spec.collect(model))
    row["duration_s"] = round(time.perf_counter() - started, 4)
    return row


def flatten_summary(s: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar figures of a run summary (see :data:`FIGURES`), missing ones as NaN."""
    util = [u for u in s.get("zone_utilisation", {}).values() if u.get("mean") is not None]
    flat: dict[str, Any] = {k: s.get(k) for k in FIGURES if k in s}
    for reason, n in s.get("dropped_by_reason", {}).items():
        flat[f"dropped_{reason}"] = n
    flat["simulated_s"] = s.get("duration_s")  # model time (the row's duration_s is wall time)
    for name in ("latency", "wait", "ttft"):  # milliseconds (ttft: LLM zones only, else NaN)
        times = s.get(f"{name}_ms") or {}
        for k in ("mean", "p50", "p95", "p99"):
            flat[f"{name}_{k}"] = times.get(k)
    flat["utilisation_mean"] = sum(u["mean"] for u in util) / len(util) if util else None
    flat["utilisation_max"] = max((u["max"] for u in util), default=None)
    oos = s.get("out_of_scope", {})
    flat["oos_precision"] = oos.get("precision")
    flat["oos_recall"] = oos.get("recall")
    return {k: (math.nan if flat.get(k) is None else flat[k]) for k in FIGURES}
