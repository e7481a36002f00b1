"""Running a scenario end to end: load, simulate with progress, summarise, write outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import ScenarioError
from ..model import ArenaModel, RunSummary
from ..scenario import Scenario, check_run_options, load_scenario, with_overrides


def run_scenario(
    scenario: str | Path | Scenario,
    *,
    steps: int | None = None,
    router: str | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    overlays: Sequence[str | Path] = (),
    rate_scale: float = 1.0,
    out: str | Path | None = None,
    progress: bool = False,
) -> tuple[ArenaModel, RunSummary]:
    """Run a scenario; return the model and its summary (and write files to ``out`` if given).

    ``steps`` caps the number of steps (default: the scenario's steps, then drain).
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
    check_run_options(sc.file, steps=steps)
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
