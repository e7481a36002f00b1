"""Sweep backends: each runs a list of :class:`RunSpec` and yields rows as runs finish (any
order): in this process, on a spawn pool of processes, or on a Dask cluster."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ...errors import SpawnGuardError
from .specs import RunSpec, run_one

if TYPE_CHECKING:  # annotations only: distributed is imported when a cluster starts
    from distributed import LocalCluster

BACKENDS = ("serial", "processes", "dask")
BACKEND_ALIASES = {"local": "processes"}  # plan's old word for a pool of processes


def backend_name(name: str) -> str:
    """``name`` as one of :data:`BACKENDS` (an old alias mapped, with a warning saying so): the
    one spelling of a backend for ``sweep``, ``tune`` and ``plan``, their CLI and their API.
    Raises ``ValueError`` naming the choices for anything else."""
    if name in BACKEND_ALIASES:
        import warnings

        new = BACKEND_ALIASES[name]
        warnings.warn(
            f"backend {name!r} is now spelled {new!r} (the same on sweep, tune and plan)",
            FutureWarning,
            stacklevel=3,
        )
        return new
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    return name


def run_serial(specs: list[RunSpec], workers: int | None, address: str | None) -> Iterator[dict]:
    for spec in specs:
        yield run_one(spec)


def run_processes(specs: list[RunSpec], workers: int | None, address: str | None) -> Iterator[dict]:
    with process_pool(workers or min(len(specs), os.cpu_count() or 1)) as run:
        yield from run(specs)


@contextlib.contextmanager
def process_pool(workers: int | None) -> Iterator[Callable[[list[RunSpec]], Iterator[dict]]]:
    """A standing spawn pool of ``workers`` processes (default: one per core), open while the
    block runs; yields a function that runs a batch of specs on it. Workers stay warm between
    batches (embedder loaded, caches read), which is what a search's generations want."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    check_spawn_guard()
    ctx = multiprocessing.get_context("spawn")  # workers rebuild everything from the spec
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx) as pool:

        def run(specs: list[RunSpec]) -> Iterator[dict]:
            with single_threaded_children():  # submitting starts the workers
                futures = [pool.submit(run_one, spec) for spec in specs]
            try:
                for fut in as_completed(futures):
                    yield fut.result()
            except BrokenProcessPool as exc:
                if _unguarded_script():
                    raise SpawnGuardError(SPAWN_GUARD_HINT) from exc
                raise
            finally:
                for fut in futures:
                    fut.cancel()

        yield run


SPAWN_GUARD_HINT = (
    "worker processes could not start: a script that runs a sweep, tune or plan on processes or "
    'Dask must do so under `if __name__ == "__main__":` (each spawned worker imports the script '
    "again, and without the guard starts the sweep again); or use backend='serial'"
)


def check_spawn_guard() -> None:
    """Called before starting worker processes (the one place that knows the spawn rule): in a
    spawned worker that is importing the user's script again — the script has no
    ``if __name__ == "__main__":`` guard — stop that worker with the fix as one line, instead of
    multiprocessing's bootstrapping traceback (the parent then sees its pool break and says the
    same, see :func:`process_pool`)."""
    import sys

    # a spawned worker runs the parent's script as module ``__mp_main__``, which becomes its
    # ``__main__`` only once the script has run: while it runs, the two differ
    running = sys.modules.get("__mp_main__")
    if running is not None and running is not sys.modules.get("__main__"):
        raise SystemExit(f"packetflow-arena: {SPAWN_GUARD_HINT}")


def _unguarded_script() -> bool:
    """Whether ``__main__`` is a script file (``python script.py``), where a broken pool at start
    is the missing guard (a notebook or ``python -m`` module has no such failure)."""
    import sys

    main = sys.modules.get("__main__")
    return getattr(main, "__file__", None) is not None and getattr(main, "__spec__", None) is None


# One thread per worker for the numerical libraries, as Dask's nanny does for its workers: n
# workers each running a 2-thread BLAS on 2 cores oversubscribe them and run slower than one.


THREAD_LIMITS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def single_threaded_children() -> Iterator[None]:
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


def sweep_worker_environ() -> dict[str, Any]:
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

    check_spawn_guard()  # Dask's nannies spawn their workers too
    settings: dict[str, Any] = {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
        "silence_logs": logging.ERROR,
        **options,
    }
    # the nannies hand the configuration current at their start to the worker processes
    config = {**SWEEP_WORKER_CONFIG, "distributed.nanny.pre-spawn-environ": sweep_worker_environ()}
    with dask.config.set(config):
        return LocalCluster(**settings)


def run_dask(specs: list[RunSpec], workers: int | None, address: str | None) -> Iterator[dict]:
    with dask_pool(workers, address) as run:
        yield from run(specs)


@contextlib.contextmanager
def dask_pool(
    workers: int | None, address: str | None
) -> Iterator[Callable[[list[RunSpec]], Iterator[dict]]]:
    """A client of the cluster at ``address`` (or of a :func:`local_cluster` of ``workers``,
    default 2, closed with the block); yields a function that runs a batch of specs on it."""
    from distributed import Client, as_completed

    cluster = local_cluster(workers or 2) if address is None else None
    client = Client(cluster if cluster is not None else address)

    def run(specs: list[RunSpec]) -> Iterator[dict]:
        futures = client.map(run_one, specs, pure=False)
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            client.cancel(futures)

    try:
        yield run
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def serial_pool(
    workers: int | None = None, address: str | None = None
) -> Iterator[Callable[[list[RunSpec]], Iterator[dict]]]:
    """Runs batches in this process (for tests and debugging)."""
    yield lambda specs: run_serial(specs, workers, address)


def open_backend(
    backend: str, workers: int | None = None, address: str | None = None
) -> contextlib.AbstractContextManager[Callable[[list[RunSpec]], Iterator[dict]]]:
    """A standing backend for many batches: ``with open_backend("dask") as run: run(specs)``
    yields rows as runs finish (any order). ``address`` is for ``"dask"`` only."""
    backend = backend_name(backend)
    if address is not None and backend != "dask":
        raise ValueError("address= is a Dask scheduler address; use it with backend='dask'")
    if backend == "processes":
        return process_pool(workers)
    if backend == "dask":
        return dask_pool(workers, address)
    return serial_pool()


BACKEND_RUNNERS = {"serial": run_serial, "processes": run_processes, "dask": run_dask}
