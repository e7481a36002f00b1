"""``validate`` and ``calibrate`` end to end with real processes (issue #21): a worker killed
live is the same zone outage simulated, both runs account for every request, and the
validation's rows have the shape scripts rely on."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from live_processes import alive, kill_started, started_pids
from paths import SCENARIOS_DIR

from arena.model import REQUEST_COLUMNS
from arena.ui.cli import main

SCENARIO = str(SCENARIOS_DIR / "customer_support.yaml")


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "validate"
    try:
        yield folder
    finally:
        kill_started(folder / "live")


def test_validate_with_a_worker_killed_compares_it_with_the_same_simulated_outage(out, capsys):
    code = main(
        [
            "validate",
            SCENARIO,
            "--out",
            str(out),
            "--speed",
            "20",
            "--duration",
            "12s",
            "--kill",
            "technical_support@3s",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "latency_ms.p95" in printed and "same zone for" in printed
    v = json.loads((out / "validation.json").read_text())
    assert v["paired"] and v["kill"] == "technical_support@3s"
    for row in v["rows"]:
        assert {"zone", "metric", "sim", "live", "rel_error", "ci"} <= set(row)
    zones = {r["zone"] for r in v["rows"]}
    assert zones == {"all", "intake", "technical_support", "escalation"}
    assert (out / "validation.png").stat().st_size > 10_000
    tables = {
        side: pd.read_csv(out / side / "requests.csv", keep_default_na=False, na_values=[""])
        for side in ("sim", "live")
    }
    for side, t in tables.items():
        assert list(t.columns) == list(REQUEST_COLUMNS), side
        assert t["outcome"].isin(["completed", "failed", "dropped"]).all(), side
        lost = t[t["reason"] == "zone_down"]
        assert len(lost) >= 1 and (lost["zone"] == "technical_support").all(), side
        after = t[(t["routed_s"] > 3.5) & (t["zone"] == "technical_support")]
        assert after["outcome"].eq("dropped").all(), side  # nothing served there later
    assert len(tables["sim"]) == len(tables["live"]) == v["requests"]["live"]
    assert not any(alive(p) for p in started_pids(out / "live"))


def test_calibrate_writes_an_overlay_of_measured_overheads(out, capsys):
    code = main(["calibrate", SCENARIO, "--out", str(out), "--speed", "20", "--duration", "15s"])
    assert code == 0
    overlay = yaml.safe_load((out / "calibration.yaml").read_text())
    base_ms = float(overlay["network"]["base"].removesuffix("ms"))
    figures = json.loads((out / "calibration.json").read_text())
    assert figures["requests"] >= 10
    assert base_ms == pytest.approx(
        1000 * (figures["network_s"] + figures["scheduling_s"]), rel=1e-3
    )
    assert 0 < base_ms < 5_000  # loopback hops, in scenario time at 20x
    assert "wrote" in capsys.readouterr().out
