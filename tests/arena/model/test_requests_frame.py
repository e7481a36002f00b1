"""The per-request table (issue #21): the simulation's rows, in the columns the live rig writes,
agree with the run's summary: every request accounted for once, times in order."""

from __future__ import annotations

import numpy as np
from arena_fixtures import base_data
from fakes import BagOfWordsEmbedder

from arena.model import REQUEST_COLUMNS, REQUEST_OUTCOMES, ArenaModel, ArenaView, requests_frame
from arena.scenario import parse_scenario


def test_the_request_rows_account_for_every_request_as_the_summary_does():
    data = base_data(steps=30)
    data["zones"][0]["capacity"] = 1
    data["zones"][0]["queue_limit"] = 1
    data["capabilities"][0]["service_time"] = {"distribution": "exponential", "mean": "3s"}
    model = ArenaModel(parse_scenario(data, file="unit.yaml"), embedder=BagOfWordsEmbedder())
    model.run()
    s = model.summary()
    rows = requests_frame(ArenaView(model))
    assert list(rows.columns) == list(REQUEST_COLUMNS)
    assert len(rows) == s.arrived and rows["id"].is_unique
    assert set(rows["outcome"]) <= set(REQUEST_OUTCOMES)
    counts = rows["outcome"].value_counts()
    assert counts.get("dropped", 0) == s.dropped > 0
    assert counts.get("completed", 0) + counts.get("failed", 0) == s.completed
    dropped = rows[rows["outcome"] == "dropped"]
    assert (dropped["reason"] != "").all()
    assert set(dropped["reason"]) <= {"out_of_scope", "queue_full", "expired"}
    done = rows[rows["outcome"] == "completed"]
    for a, b in [("sent_s", "queued_s"), ("queued_s", "started_s"), ("started_s", "finished_s")]:
        assert (done[a] <= done[b]).all()
    latency_ms = (done["finished_s"] - done["sent_s"]).to_numpy() * 1000
    assert abs(np.percentile(latency_ms, 50) - s.latency_ms.p50) < 1e-3
