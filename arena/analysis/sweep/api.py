"""Parameter sweeps: a scenario run over a grid of overrides × seeds, one tidy row per run.

The same call runs serially, on local processes, or on a Dask cluster (a ``LocalCluster`` by
default, or any scheduler ``address``), and gives the same rows for the same seeds whichever
backend ran them: every run is a pure function of a small picklable :class:`RunSpec`, so a worker
depends on nothing in the parent process but importable code.

Results can be appended to a CSV (or parquet) file as runs finish; a sweep pointed at an existing
file skips the runs already in it, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capabilities import import_dotted

from ...errors import ScenarioError
from ...scenario import Scenario, shadowed_by
from .backends import BACKEND_RUNNERS, backend_name
from .results import read_results, write_results
from .specs import Collect, EmbedderSource, RunSpec, build_scenario, grid_specs, run_key

if TYPE_CHECKING:  # annotations only: pandas is imported on use
    import pandas as pd


def sweep(
    scenario: str | Path | Scenario,
    grid: Mapping[str, Sequence[Any]],
    seeds: Iterable[int | None] = (None,),
    *,
    backend: str = "serial",
    address: str | None = None,
    workers: int | None = None,
    results: str | Path | None = None,
    duration: float | None = None,
    embedder: EmbedderSource = None,
    overlays: Sequence[str | Path] = (),
    collect: Collect = None,
    progress: bool = True,
    rate_scale: float = 1.0,
) -> pd.DataFrame:
    """Run ``scenario`` for every combination of ``grid`` values and every seed.

    ``grid`` maps scenario override paths (``physics.temperature``, ``arrivals.rate``,
    ``router``, ...) to the values to try. ``backend`` is ``"serial"``, ``"processes"`` (a spawn
    pool of ``workers``) or ``"dask"`` (a ``LocalCluster`` of ``workers`` (default 2)
    single-threaded processes, or the scheduler at ``address``). ``duration`` (seconds) caps each run
    (default: the scenario's duration, then drain). ``embedder`` must be importable by the workers
    (a dotted path or a module-level factory); ``None`` is the default MiniLM embedder.
    ``overlays`` (files) are merged over a scenario file before the grid's overrides.
    ``collect`` (a picklable ``model -> {column: value}``) adds its figures to every row.
    ``rate_scale`` multiplies every arrival rate (schedule included), as ``run --rate-scale``;
    each row records it, and a results file's rows at another scale are not taken as done.
    A grid key that another field of the scenario overrides in every combination (``arrivals.rate``
    under a schedule from step 0) is an error naming both, before anything runs.

    Returns one row per run, in grid order: the parameters, ``seed``, the summary figures
    (:data:`FIGURES`) and ``duration_s`` (wall time; the only column that differs between
    backends). With ``results``, finished rows are written there as they arrive and rows already
    in the file are not run again.
    """
    import pandas as pd

    backend = backend_name(backend)
    if address is not None and backend != "dask":
        raise ValueError("address= is a Dask scheduler address; use it with backend='dask'")
    specs = grid_specs(
        scenario,
        grid,
        seeds,
        duration=duration,
        embedder=embedder,
        overlays=overlays,
        collect=collect,
        rate_scale=rate_scale,
    )
    params = list(grid)
    results_path = Path(results) if results is not None else None
    previous = read_results(results_path) if results_path is not None else pd.DataFrame()
    done = _rows_done(previous, params, results_path, rate_scale)
    todo = [s for s in specs if s.key() not in done]
    _check_before_start(todo, embedder)
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(specs), initial=len(specs) - len(todo), desc="sweep", unit="run")
    try:
        rows = BACKEND_RUNNERS[backend](todo, workers, address) if todo else iter(())
        _collect(rows, done, params, previous, results_path, bar)
    finally:
        if bar is not None:
            bar.close()
    return _grid_frame(specs, done, restore_values=len(previous) > 0)


def _rows_done(
    previous: pd.DataFrame, params: list[str], results_path: Path | None, rate_scale: float
) -> dict[tuple[str, ...], dict[str, Any]]:
    """The rows of an earlier run of this sweep (by run key) at this ``rate_scale``, read from
    its results file (rows without a ``rate_scale`` column ran at 1)."""
    done: dict[tuple[str, ...], dict[str, Any]] = {}
    if not len(previous):
        return done
    missing = [c for c in [*params, "seed"] if c not in previous.columns]
    if missing:
        raise ScenarioError(
            str(results_path),
            None,
            f"results file lacks the columns {missing} of this sweep; use another file",
        )
    for row in previous.to_dict("records"):
        if float(row.get("rate_scale", 1.0)) == float(rate_scale):
            done[run_key({k: row[k] for k in params}, row["seed"])] = row
    return done


def _check_before_start(todo: list[RunSpec], embedder: EmbedderSource) -> None:
    """Report a mistyped embedder path or a bad grid value here, as one error, before any worker
    starts (not as a remote traceback from every worker, halfway through the sweep)."""
    if isinstance(embedder, str):
        import_dotted(embedder, where="sweep embedder")
    dead: dict[str, tuple[str | None, str]] = {}  # grid key -> why, while dead in every combo
    for n, overrides in enumerate(dict.fromkeys(s.overrides for s in todo)):
        sc = build_scenario(RunSpec(todo[0].scenario, overrides, None, overlays=todo[0].overlays))
        for key, _ in overrides:
            why = shadowed_by(sc, key)
            if why is None:
                dead.pop(key, None)
            elif n == 0 or key in dead:
                dead[key] = (sc.file, why)
    for key, (file, why) in dead.items():  # its rows would be identical: a sweep doing nothing
        raise ScenarioError(file, key, f"sweeping it changes nothing: {why}")


def _collect(
    rows: Iterator[dict[str, Any]],
    done: dict[tuple[str, ...], dict[str, Any]],
    params: list[str],
    previous: pd.DataFrame,
    results_path: Path | None,
    bar: Any,
) -> None:
    """Record rows as runs finish, rewriting the results file (earlier rows + new) each time."""
    import pandas as pd

    new_rows: list[dict[str, Any]] = []
    for row in rows:
        new_rows.append(row)
        done[run_key({k: row[k] for k in params}, row["seed"])] = row
        if results_path is not None:
            fresh = pd.DataFrame(new_rows)
            write_results(results_path, pd.concat([previous, fresh]) if len(previous) else fresh)
        if bar is not None:
            bar.update(1)


def _grid_frame(
    specs: list[RunSpec], done: dict[tuple[str, ...], dict[str, Any]], *, restore_values: bool
) -> pd.DataFrame:
    """One row per spec, in grid order; values read back from a file get the grid's own values
    and types back."""
    import pandas as pd

    frame = pd.DataFrame([done[s.key()] for s in specs])
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed:")])
    if restore_values:
        for i, spec in enumerate(specs):
            for k, v in spec.overrides:
                frame.at[i, k] = v
    return frame.reset_index(drop=True)
