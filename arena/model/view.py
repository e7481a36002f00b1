"""A typed, read-only view of a run for analysis and UI, and the zone-load table built from it.

Why: the summary, plots, the panel and the planners used to read some thirty attributes of the
model directly, so any change to the model's insides broke them. They now read this view: its
names are the contract, and the model is free to change behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # annotations only: the model builds its view
    from ..physics import Physics
    from ..scenario import Scenario
    from .ledger import Ledger
    from .model import ArenaModel


class ArenaView:
    """What a run shows: its scenario, its zones and labels, its ledger (times in seconds)."""

    def __init__(self, model: ArenaModel):
        self._m = model

    @property
    def scenario(self) -> Scenario:
        return self._m.scenario

    @property
    def router_name(self) -> str:
        return self._m.router.name

    @property
    def seed(self) -> int:
        return int(self._m.seed_value)

    @property
    def physics(self) -> Physics:
        return self._m.physics

    @property
    def rate_scale(self) -> float:
        return float(self._m.rate_scale)

    @property
    def embedder_name(self) -> str:
        return str(self._m.registry.embedder.name)

    @property
    def embedder_sha256(self) -> str | None:
        """The embedder artefact's SHA-256 (the ONNX graph or the model weights), if known."""
        value = getattr(self._m.registry.embedder, "artifact_hash", None)
        return str(value) if value else None

    @property
    def engine_metrics(self) -> Any:
        return self._m.engine.metrics

    @property
    def ledger(self) -> Ledger:
        return self._m.state.ledger

    @property
    def now(self) -> float:
        """Seconds of model time run so far."""
        return float(self._m.state.now)

    @property
    def steps(self) -> int:
        """Ticks the model actually ran (quiet ones are skipped)."""
        return int(self._m.steps)

    @property
    def ran_dry_at(self) -> float | None:
        """When the source's rows ran out, if the run got that far."""
        dry = self._m.arrivals.ran_dry_at
        return dry if dry is not None and dry < self.now else None

    @property
    def zone_names(self) -> list[str]:
        return list(self._m.zone_names)

    @property
    def zone_capacity(self) -> np.ndarray:
        return self._m.zone_capacity

    @property
    def zone_group(self) -> np.ndarray:
        return self._m.zone_group

    @property
    def zone_caps(self) -> list[np.ndarray]:
        return self._m.zone_caps

    @property
    def capability_names(self) -> list[str]:
        return list(self._m.capability_names)

    @property
    def cap_quality(self) -> np.ndarray:
        return self._m.cap_quality

    @property
    def label_names(self) -> list[str]:
        return list(self._m.label_names)

    @property
    def label_is_oos(self) -> np.ndarray:
        return self._m.label_is_oos

    @property
    def label_group(self) -> np.ndarray:
        return self._m.label_group

    @property
    def label_capability(self) -> np.ndarray:
        return self._m.label_capability

    @property
    def dropped(self) -> np.ndarray:
        return self._m.state.dropped

    def zone_load(self) -> np.ndarray:
        """(occupancy + queue) / capacity per zone, live (what the zones know of themselves)."""
        st = self._m.state
        return ((st.occupancy + st.queue_length) / self.zone_capacity).astype(np.float32)

    def counts(self) -> Mapping[str, int]:
        return self._m.counts()

    def lost(self) -> int:
        return self._m.lost()

    def report_interval(self) -> float:
        """``clock.report``, else about 500 rows over the duration (at least one tick)."""
        sc = self.scenario
        if sc.clock.report is not None:
            return sc.clock.report
        return max(sc.clock.tick, sc.duration / 500)


def zone_load_frame(view: ArenaView, interval: float | None = None) -> pd.DataFrame:
    """Per report interval and zone, from the ledger's exact times: the zone's occupancy and
    queue at the interval's end (``time_s``), its utilisation then, and its admissions,
    completions and drops during the interval. Computed after the fact, so the run pays nothing
    for it and the figures are exact whatever the tick."""
    dt = interval or view.report_interval()
    L = view.ledger
    end_time = view.now  # what has happened: a capped run's later ends are not in the table
    # every interval's end, the last one at the model's time (a shorter interval, if need be)
    edges = np.arange(dt, end_time - 1e-9, dt) if end_time > 0 else np.zeros(0)
    edges = np.append(edges, end_time if end_time > 0 else dt)
    admitted = np.isfinite(L.start)
    dropped = (L.reason >= 0) & (L.zone >= 0)
    rows: list[pd.DataFrame] = []
    for z, name in enumerate(view.zone_names):
        mine = admitted & (L.zone == z)
        reach = np.sort(L.reach[mine])
        start = np.sort(L.start[mine])
        end = np.sort(L.end[mine])
        drop_at = np.sort(L.reach[dropped & (L.zone == z)])

        def upto(a: np.ndarray) -> np.ndarray:
            return np.searchsorted(a, edges, side="right")

        occ = upto(start) - upto(end)
        queue = upto(reach) - upto(start)
        cap = int(view.zone_capacity[z])
        rows.append(
            pd.DataFrame(
                {
                    "time_s": np.round(edges, 9),
                    "zone": name,
                    "occupancy": occ,
                    "queue": queue,
                    "utilisation": occ / cap,
                    "arrivals": np.diff(upto(reach), prepend=0),
                    "completions": np.diff(upto(end), prepend=0),
                    "drops": np.diff(upto(drop_at), prepend=0),
                }
            )
        )
    return pd.concat(rows, ignore_index=True).sort_values(
        "time_s", kind="stable", ignore_index=True
    )
