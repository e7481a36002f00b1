"""Writing a run's results to a directory: summary.json, zone_load.csv and the two plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import ArenaModel, RunSummary


def write_outputs(
    model: ArenaModel,
    out_dir: str | Path,
    summary: RunSummary | None = None,
    snapshot: Any = None,
) -> dict[str, Path]:
    """Write the standard result files; ``snapshot`` is a Figure captured mid-run (else now)."""
    import matplotlib.pyplot as plt

    from . import plots

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summary if summary is not None else model.summary()
    paths = {
        name: out / name
        for name in ("summary.json", "zone_load.csv", "zone_load.png", "arena_snapshot.png")
    }
    paths["summary.json"].write_text(
        json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8"
    )
    frame = model.zone_load_frame()
    frame.to_csv(paths["zone_load.csv"], index=False)
    caps = {z.name: z.capacity for z in model.zones}
    fig = plots.zone_load(
        frame, caps, title=f"{model.scenario.name} — zone load ({model.router.name} router)"
    )
    fig.savefig(paths["zone_load.png"], dpi=110)
    plt.close(fig)
    fig = snapshot if snapshot is not None else plots.arena_snapshot(model)
    fig.savefig(paths["arena_snapshot.png"], dpi=110)
    plt.close(fig)
    return paths
