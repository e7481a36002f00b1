"""Running a scenario end to end: load, simulate with progress, summarise, write outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..model import ArenaModel, RunSummary
from ..scenario import Scenario, check_run_options, load_scenario, with_overrides


def run_scenario(
    scenario: str | Path | Scenario,
    *,
    steps: int | None = None,
    router: str | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    rate_scale: float = 1.0,
    out: str | Path | None = None,
    progress: bool = False,
) -> tuple[ArenaModel, RunSummary]:
    """Run a scenario; return the model and its summary (and write files to ``out`` if given).

    ``steps`` caps the number of steps (default: the scenario's steps, then drain).
    """
    if out is not None:
        from .output import check_out_dir

        check_out_dir(out)  # before simulating, not after
    sc = (
        scenario if isinstance(scenario, Scenario) else load_scenario(scenario, overrides=overrides)
    )
    check_run_options(sc.file, steps=steps)
    if isinstance(scenario, Scenario) and overrides:
        sc = with_overrides(sc, overrides)
    model = ArenaModel(sc, router=router, seed=seed, rate_scale=rate_scale)
    snapshot_at = max(1, (steps or sc.steps) // 2)
    snapshot = None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps or sc.steps, desc=f"{sc.name} [{model.router.name}]", unit="step")

    def on_step(t: int) -> None:
        nonlocal snapshot
        if bar is not None and t <= bar.total:
            bar.update(1)
        if out is not None and t == snapshot_at:
            from .plots import arena_snapshot

            snapshot = arena_snapshot(model)

    model.run(steps, progress=on_step)
    if bar is not None:
        bar.close()
    summary = model.summary()
    if out is not None:
        from .output import write_outputs

        write_outputs(model, out, summary, snapshot)
    return model, summary
