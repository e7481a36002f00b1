"""Parameter sweeps: a scenario run over a grid of overrides × seeds, one tidy row per run.

The same call runs serially, on local processes, or on a Dask cluster (a ``LocalCluster`` by
default, or any scheduler ``address``), and gives the same rows for the same seeds whichever
backend ran them: every run is a pure function of a small picklable :class:`RunSpec`, so a worker
depends on nothing in the parent process but importable code.

Results can be appended to a CSV (or parquet) file as runs finish; a sweep pointed at an existing
file skips the runs already in it, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from capabilities import Embedder
from capabilities.model import import_dotted

from .errors import ScenarioError
from .scenario import Scenario, load_scenario

if TYPE_CHECKING:
    import argparse

    import pandas as pd
    from distributed import LocalCluster

BACKENDS = ("serial", "processes", "dask")
EmbedderSource = str | Callable[[], Embedder] | None

# summary figures flattened into each row, in this order (after the parameters and the seed)
FIGURES = (
    "router",
    "steps_run",
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
    "wait_mean",
    "wait_p50",
    "wait_p95",
    "wait_max",
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
    """

    scenario: str | Scenario
    overrides: tuple[tuple[str, Any], ...]
    seed: int | None
    steps: int | None = None
    embedder: EmbedderSource = None

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
    steps: int | None = None,
    embedder: EmbedderSource = None,
) -> list[RunSpec]:
    """The runs of a sweep, in a fixed order: the grid's product (first key slowest), then seeds."""
    # an absolute path, so workers started elsewhere (a remote Dask worker) find the same file
    source: str | Scenario = (
        scenario if isinstance(scenario, Scenario) else str(Path(scenario).resolve())
    )
    file = scenario.file if isinstance(scenario, Scenario) else str(scenario)
    for key, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise ScenarioError(
                file, key, f"sweep grid values must be a non-empty list, got {values!r}"
            )
    seeds = list(seeds)
    if not seeds:
        raise ScenarioError(file, "seeds", "a sweep needs at least one seed")
    if None in seeds:  # the scenario's own seed, named, so a row always says which seed ran
        base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        seeds = [base.seed if s is None else s for s in seeds]
    keys = list(grid)
    specs = [
        RunSpec(source, tuple(zip(keys, combo)), seed, steps, embedder)
        for combo in itertools.product(*(grid[k] for k in keys))
        for seed in seeds
    ]
    seen: set[tuple[str, ...]] = set()
    for spec in specs:
        if spec.key() in seen:
            raise ScenarioError(file, None, f"sweep grid repeats the run {spec.key()}")
        seen.add(spec.key())
    return specs


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
    if not dataclasses.is_dataclass(obj) or head not in {f.name for f in dataclasses.fields(obj)}:
        raise AttributeError(f"{type(obj).__name__} has no field {head!r}")
    new = _replace_path(getattr(obj, head), rest, value) if rest else value
    return dataclasses.replace(obj, **{head: new})


def build_scenario(spec: RunSpec) -> Scenario:
    if isinstance(spec.scenario, Scenario):
        return apply_overrides(spec.scenario, dict(spec.overrides))
    return load_scenario(spec.scenario, overrides=dict(spec.overrides))


def resolve_embedder(source: EmbedderSource) -> Embedder | None:
    if source is None:
        return None
    factory = import_dotted(source, where="sweep embedder") if isinstance(source, str) else source
    return factory()


_EMBEDDERS: dict[Any, Embedder | None] = {}


def _embedder_for(source: EmbedderSource) -> Embedder | None:
    """One embedder per source per process, so a worker's runs share its cache."""
    if source not in _EMBEDDERS:
        _EMBEDDERS[source] = resolve_embedder(source)
    return _EMBEDDERS[source]


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Run one sweep point and return its row: parameters, seed, flattened summary, duration."""
    from .model import ArenaModel

    started = time.perf_counter()
    try:
        sc = build_scenario(spec)
        model = ArenaModel(sc, seed=spec.seed, embedder=_embedder_for(spec.embedder))
        model.run(spec.steps)
    except Exception as exc:  # say which run failed, wherever it ran (the note is pickled too)
        exc.add_note(f"in sweep run {', '.join(spec.key())}")
        raise
    row: dict[str, Any] = dict(spec.overrides)
    row["seed"] = int(model.seed_value)
    for key, value in flatten_summary(model.summary()).items():
        row.setdefault(key, value)  # a swept parameter keeps the value it was given
    row["duration_s"] = round(time.perf_counter() - started, 4)
    return row


def flatten_summary(s: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar figures of a run summary (see :data:`FIGURES`), missing ones as NaN."""
    util = [u for u in s.get("zone_utilisation", {}).values() if u.get("mean") is not None]
    flat: dict[str, Any] = {k: s.get(k) for k in FIGURES if k in s}
    flat["steps_run"] = s.get("steps")  # not "steps": that is the scenario field a grid may set
    for reason, n in s.get("dropped_by_reason", {}).items():
        flat[f"dropped_{reason}"] = n
    wait = s.get("wait_steps", {})
    for k in ("mean", "p50", "p95", "max"):
        flat[f"wait_{k}"] = wait.get(k)
    flat["utilisation_mean"] = sum(u["mean"] for u in util) / len(util) if util else None
    flat["utilisation_max"] = max((u["max"] for u in util), default=None)
    oos = s.get("out_of_scope", {})
    flat["oos_precision"] = oos.get("precision")
    flat["oos_recall"] = oos.get("recall")
    return {k: (math.nan if flat.get(k) is None else flat[k]) for k in FIGURES}


# ----------------------------------------------------------------------------------------------
# Backends: each yields rows as runs finish (any order)
# ----------------------------------------------------------------------------------------------
def _serial(specs: list[RunSpec], workers: int | None, address: str | None) -> Iterator[dict]:
    for spec in specs:
        yield run_one(spec)


def _processes(specs: list[RunSpec], workers: int | None, address: str | None) -> Iterator[dict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n = workers or min(len(specs), os.cpu_count() or 1)
    ctx = multiprocessing.get_context("spawn")  # workers rebuild everything from the spec
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
        with _single_threaded_children():  # submitting starts the workers
            futures = [pool.submit(run_one, spec) for spec in specs]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


# One thread per worker for the numerical libraries, as Dask's nanny does for its workers: n
# workers each running a 2-thread BLAS on 2 cores oversubscribe them and run slower than one.
THREAD_LIMITS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """While open, child processes start with the thread limits (unless the user set them)."""
    added = [k for k in THREAD_LIMITS if k not in os.environ]
    for key in added:
        os.environ[key] = "1"
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


# Dask worker settings for sweeps, whose tasks are long, CPU-bound and allocate many NumPy
# arrays. Each measured with 16 CLINC150 runs of ~1.2 s on a 2-core machine:
# - the statistical profiler samples every worker thread's stack every 10 ms: each run ~25%
#   slower with it (1.88 -> 1.51 s);
# - the 20 ms event-loop tick and the 0.1-0.5 s system and memory monitors: ~5% more;
# - Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 (to hand freed memory back to the OS
#   sooner). Fixing glibc's threshold also switches off its adaptive mmap threshold, so every
#   array over 128 KiB is a fresh mmap with page faults: a run in a worker was 5-10% slower than
#   the same run in a plain process beside it, and as fast without the variable. A sweep
#   worker's peak memory stays flat across runs (~340 MB after three 1,500-step CLINC150 runs,
#   ~315 MB of it the warm process itself), so glibc's own defaults suit it.
# For a remote cluster, start its workers the same way, e.g. with the environment variable
# DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False and without MALLOC_TRIM_THRESHOLD_.
SWEEP_WORKER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def _sweep_worker_environ() -> dict[str, Any]:
    """Dask's pre-spawn environment, minus the malloc trim threshold, plus one thread per
    numerical library (as the processes backend does)."""
    import dask
    import distributed  # noqa: F401 - registers Dask's "distributed" configuration

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {**environ, **dict.fromkeys(THREAD_LIMITS, 1)}


def local_cluster(workers: int = 2, **options: Any) -> LocalCluster:
    """A Dask ``LocalCluster`` set up for sweeps: ``workers`` single-threaded worker processes
    (one run per core; the GIL makes threads within a worker pointless here), no dashboard,
    quiet logs, and :data:`SWEEP_WORKER_CONFIG`. ``options`` go to ``LocalCluster``.

    ``sweep(backend="dask")`` starts one of these when given no ``address``; start one yourself
    to keep it standing across sweeps and pass ``cluster.scheduler_address``.
    """
    import logging

    import dask
    from distributed import LocalCluster

    settings: dict[str, Any] = {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "silence_logs": logging.ERROR,
        **options,
    }
    # the nannies hand the configuration current at their start to the worker processes
    config = {**SWEEP_WORKER_CONFIG, "distributed.nanny.pre-spawn-environ": _sweep_worker_environ()}
    with dask.config.set(config):
        return LocalCluster(**settings)


def _dask(specs: list[RunSpec], workers: int | None, address: str | None) -> Iterator[dict]:
    from distributed import Client, as_completed

    cluster = local_cluster(workers or 2) if address is None else None
    client = Client(cluster if cluster is not None else address)
    try:
        futures = client.map(run_one, specs, pure=False)
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            client.cancel(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_BACKEND_FNS = {"serial": _serial, "processes": _processes, "dask": _dask}


# ----------------------------------------------------------------------------------------------
# Results file (resume)
# ----------------------------------------------------------------------------------------------
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


def _write_results(path: Path, frame: pd.DataFrame) -> None:
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


def sweep(
    scenario: str | Path | Scenario,
    grid: Mapping[str, Sequence[Any]],
    seeds: Iterable[int | None] = (None,),
    *,
    backend: str = "serial",
    address: str | None = None,
    workers: int | None = None,
    results: str | Path | None = None,
    steps: int | None = None,
    embedder: EmbedderSource = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run ``scenario`` for every combination of ``grid`` values and every seed.

    ``grid`` maps scenario override paths (``physics.temperature``, ``arrivals.rate``,
    ``router``, ...) to the values to try. ``backend`` is ``"serial"``, ``"processes"`` (a spawn
    pool of ``workers``) or ``"dask"`` (a ``LocalCluster`` of ``workers`` (default 2)
    single-threaded processes, or the scheduler at ``address``). ``steps`` caps each run
    (default: the scenario's steps, then drain). ``embedder`` must be importable by the workers
    (a dotted path or a module-level factory); ``None`` is the default MiniLM embedder.

    Returns one row per run, in grid order: the parameters, ``seed``, the summary figures
    (:data:`FIGURES`) and ``duration_s`` (wall time; the only column that differs between
    backends). With ``results``, finished rows are written there as they arrive and rows already
    in the file are not run again.
    """
    import pandas as pd

    if backend not in BACKENDS:
        raise ValueError(f"sweep backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if address is not None and backend != "dask":
        raise ValueError("address= is a Dask scheduler address; use it with backend='dask'")
    specs = grid_specs(scenario, grid, seeds, steps=steps, embedder=embedder)
    params = list(grid)
    results_path = Path(results) if results is not None else None
    done: dict[tuple[str, ...], dict[str, Any]] = {}
    previous = read_results(results_path) if results_path is not None else pd.DataFrame()
    if len(previous):
        missing = [c for c in [*params, "seed"] if c not in previous.columns]
        if missing:
            raise ScenarioError(
                str(results_path),
                None,
                f"results file lacks the columns {missing} of this sweep; use another file",
            )
        for row in previous.to_dict("records"):
            done[run_key({k: row[k] for k in params}, row["seed"])] = row
    todo = [s for s in specs if s.key() not in done]
    if isinstance(embedder, str):  # a typo is reported here, not by every worker
        import_dotted(embedder, where="sweep embedder")
    for overrides in dict.fromkeys(s.overrides for s in todo):
        # every distinct scenario is checked here, so a bad value is reported as a ScenarioError
        # before any worker starts (not as a remote traceback halfway through the sweep)
        build_scenario(RunSpec(todo[0].scenario, overrides, None))
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(specs), initial=len(specs) - len(todo), desc="sweep", unit="run")
    new_rows: list[dict[str, Any]] = []
    try:
        for row in _BACKEND_FNS[backend](todo, workers, address) if todo else ():
            new_rows.append(row)
            done[run_key({k: row[k] for k in params}, row["seed"])] = row
            if results_path is not None:
                fresh = pd.DataFrame(new_rows)
                _write_results(
                    results_path, pd.concat([previous, fresh]) if len(previous) else fresh
                )
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    frame = pd.DataFrame([done[s.key()] for s in specs])
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed:")])
    if len(previous):  # values read back from a file: restore the grid's own values and types
        for i, spec in enumerate(specs):
            for k, v in spec.overrides:
                frame.at[i, k] = v
    return frame.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Command line: packetflow-arena sweep SCENARIO --grid KEY=V1,V2 ... --seeds 1,2 --backend dask
# ----------------------------------------------------------------------------------------------
def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["physics.temperature=0.02,0.05", "router=physics,random"]`` -> a grid (YAML values)."""
    grid: dict[str, list[Any]] = {}
    for text in items:
        key, sep, values = text.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise ScenarioError(
                None, None, f"--grid {text!r} must look like 'physics.temperature=0.02,0.05'"
            )
        grid[key] = [yaml.safe_load(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a swept override, e.g. --grid physics.temperature=0.02,0.05,0.1 (repeatable)",
    )
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default: the scenario's)")
    p.add_argument("--backend", choices=BACKENDS, default="processes")
    p.add_argument("--address", help="Dask scheduler address (default: a LocalCluster)")
    p.add_argument(
        "--workers", type=int, help="worker processes (default: 2 for dask, cores otherwise)"
    )
    p.add_argument("--steps", type=int, help="cap each run at this many steps")
    p.add_argument(
        "--out", default="sweep_out", help="directory for sweep.csv (resumed if present)"
    )
    p.add_argument(
        "--embedder",
        help="dotted path of a zero-argument embedder factory importable by the workers "
        "(default: the MiniLM embedder)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    import pandas as pd

    grid = parse_grid(args.grid)
    if not grid:
        grid = {"router": [load_scenario(args.scenario).router]}
    seeds: list[int | None] = [None]
    if args.seeds:
        try:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise ScenarioError(
                None, "--seeds", f"expected comma-separated integers, got {args.seeds!r}"
            ) from None
    out = Path(args.out) / "sweep.csv"
    frame = sweep(
        args.scenario,
        grid,
        seeds,
        backend=args.backend,
        address=args.address,
        workers=args.workers,
        results=out,
        steps=args.steps,
        embedder=args.embedder,
        progress=not args.quiet,
    )
    shown = ["routing_accuracy", "wait_p95", "dropped", "completed", "lost"]
    table = frame.groupby(list(grid), sort=False)[shown].mean()
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(f"{len(frame)} runs ({frame['seed'].nunique()} seeds), mean over seeds:")
        print(table.round(4).to_string())
    print(f"wrote {out}")
    return 0 if int(frame["lost"].sum()) == 0 else 1
