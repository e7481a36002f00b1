"""A live run's rows as the simulation's summary: whatever mix of outcomes, times missing where a
request never reached a worker, every request is counted once and no figure is NaN."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import SCENARIOS_DIR

from arena.live import COLUMNS, LiveView
from arena.model import DROP_REASONS, ArenaModel, summarise
from arena.scenario import load_scenario

MODEL = ArenaModel(load_scenario(str(SCENARIOS_DIR / "customer_support.yaml")))
ZONES = MODEL.zone_names

row = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["served", "failed_served", "lost", "dropped_zone", "dropped_gw"]),
        "zone": st.integers(0, len(ZONES) - 1),
        "gaps": st.lists(st.floats(0, 5), min_size=4, max_size=4),
        "reason": st.sampled_from(DROP_REASONS),
    }
)


def frame(specs: list[dict]) -> pd.DataFrame:
    out = []
    for i, s in enumerate(specs):
        sent = 0.1 * i
        routed, queued, started, finished = sent + np.cumsum(s["gaps"])
        z = ZONES[s["zone"]]
        cap = MODEL.capability_names[int(MODEL.zone_caps[s["zone"]][0])]
        base = {"id": i, "text": int(MODEL.arrivals.text[i]), "sent": sent, "routed": routed}
        if s["kind"] in ("served", "failed_served"):
            outcome = "ok" if s["kind"] == "served" else "failed"
            base |= dict(queued=queued, started=started, finished=finished, zone=z, capability=cap)
            base |= {"outcome": outcome, "reason": None if outcome == "ok" else "InjectedFault"}
        elif s["kind"] == "lost":  # failed before any worker served it: no service times
            base |= dict(zone=z, capability=cap, finished=queued, outcome="failed")
            base["reason"] = "routing failed: RouterError: ..."
        elif s["kind"] == "dropped_zone":
            base |= dict(queued=queued, zone=z, outcome="dropped", reason="queue_full")
        else:
            base |= {"outcome": "dropped", "reason": s["reason"], "finished": routed}
        out.append(base)
    return pd.DataFrame(out, columns=list(COLUMNS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=40))
def test_every_row_is_counted_once_and_no_figure_is_nan(specs):
    rows = frame(specs)
    n = len(rows)
    last = rows["finished"].max(skipna=True)  # NaN when no row finished (all dropped at zones)
    s = summarise(LiveView(MODEL, rows, span=1.0 if pd.isna(last) else float(last), sent=n))
    kinds = [x["kind"] for x in specs]
    dropped = sum(k.startswith("dropped") for k in kinds)
    assert s.arrived == n and s.lost == 0 and s.drained
    assert s.completed == n - dropped and s.dropped == dropped
    assert sum(s.dropped_by_reason.values()) == dropped
    assert s.outcomes["failed"] == kinds.count("failed_served") + kinds.count("lost")
    assert s.outcomes["ok"] == kinds.count("served")
    for m in (s.latency_ms, s.wait_ms, s.service_ms, s.network_ms):
        for v in (m.mean, m.p50, m.p95, m.p99):
            assert v is None or math.isfinite(v)


def test_a_request_sent_but_without_a_row_is_lost():
    rows = frame([{"kind": "served", "zone": 0, "gaps": [1, 1, 1, 1], "reason": "expired"}])
    assert summarise(LiveView(MODEL, rows, span=5.0, sent=2)).lost == 1
