"""Running a scenario end to end: load, simulate with progress, summarise, write outputs."""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Sequence
from pathlib import Path

from ..errors import ScenarioError
from ..model import ArenaModel, RunSummary
from ..scenario import Scenario, check_run_options, load_scenario, with_overrides
from ..workload import parse_duration


def run_scenario(
    scenario: str | Path | Scenario,
    *,
    duration: float | str | None = None,
    router: str | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    overlays: Sequence[str | Path] = (),
    rate_scale: float = 1.0,
    out: str | Path | None = None,
    progress: bool = False,
) -> tuple[ArenaModel, RunSummary]:
    """Run a scenario; return the model and its summary (and write files to ``out`` if given).

    ``duration`` (seconds, or ``"10m"``) caps the model time run (default: the scenario's
    duration, then drain).
    ``overlays`` (YAML files of a partial scenario) are merged over a scenario file first.
    """
    if out is not None:
        from .output import check_out_dir

        check_out_dir(out)  # before simulating, not after
    if isinstance(scenario, Scenario):
        if overlays:
            raise ScenarioError(
                scenario.file, None, "overlays apply to a scenario file, not a Scenario object"
            )
        sc = with_overrides(scenario, overrides) if overrides else scenario
    else:
        sc = load_scenario(scenario, overrides=overrides, overlays=overlays)
    if duration is not None:
        check_run_options(sc.file, duration=duration)
        duration = parse_duration(duration, file=sc.file, field="duration", allow_zero=False)
    model = ArenaModel(sc, router=router, seed=seed, rate_scale=rate_scale)
    total = duration if duration is not None else sc.duration
    snapshot_at = total / 2
    snapshot = None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=round(total, 3), desc=f"{sc.name} [{model.router.name}]", unit="s model time"
        )

    def on_step(t: float) -> None:
        nonlocal snapshot
        if bar is not None:
            bar.update(round(min(t, bar.total) - bar.n, 3))
        if out is not None and snapshot is None and t >= snapshot_at:
            from .plots import arena_snapshot

            snapshot = arena_snapshot(model)

    model.run(duration, progress=on_step)
    if bar is not None:
        bar.close()
    summary = model.summary()
    if out is not None:
        from .output import write_outputs

        write_outputs(model, out, summary, snapshot)
    return model, summary


def load_plots_meanwhile() -> None:
    """Import the plots (matplotlib: ~0.5 s of CPU) on a side thread, for the command line to
    call as a run starts, so the import overlaps the model's build.

    Why: on a first run the build is mostly embedding, which waits in ONNX Runtime without the
    GIL, so the import fits beside it; otherwise it sat on the critical path at the run's
    snapshot. Only the command line does this: a notebook's matplotlib set-up stays on its
    main thread. A failed import is left for the run to meet (and report) where it needs it.
    """

    def load() -> None:
        with contextlib.suppress(Exception):
            importlib.import_module(".plots", __package__)

    # not a daemon: the process never exits (or fails) midway through an import
    threading.Thread(target=load, name="load-plots").start()
