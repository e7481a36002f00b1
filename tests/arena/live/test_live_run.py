"""The live deployment with real processes: a run end to end, a worker killed with SIGKILL mid-run,
Ctrl-C, and bad input. Every process a test starts is killed in a ``finally`` (the pids are
read from the run's ``pids.json``), also when the test fails."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from live_processes import alive, kill_started, started_pids
from paths import REPO_ROOT, SCENARIOS_DIR

from arena.live import parse_kill, run_live
from arena.model import REQUEST_COLUMNS, ArenaModel
from arena.scenario import load_scenario
from arena.ui.cli import main
from arena.workload import keyed_service_time

SCENARIO = SCENARIOS_DIR / "customer_support.yaml"


@pytest.fixture
def out(tmp_path):
    """The run's folder; every process it started is SIGKILLed afterwards, pass or fail."""
    folder = tmp_path / "live"
    try:
        yield folder
    finally:
        kill_started(folder)


def outcome_counts(out: Path) -> dict[str, int]:
    """From the SQLite rows, not the summary: how each request ended."""
    with contextlib.closing(sqlite3.connect(out / "requests.sqlite")) as db:
        return dict(db.execute("SELECT outcome, COUNT(*) FROM requests GROUP BY outcome"))


def test_a_live_run_serves_the_simulations_arrivals_and_accounts_for_each(out):
    result = run_live(SCENARIO, out, speed=20, duration=3.0)
    rows = result.requests
    sim = ArenaModel(load_scenario(str(SCENARIO)))
    n = int(np.searchsorted(sim.arrivals.times, 3.0))
    # the same arrivals as the simulation: ids, texts, and send times at the scenario's times
    assert result.sent == n == len(rows) > 10
    assert rows["text"].tolist() == sim.arrivals.text[:n].tolist()
    lag = rows["sent"].to_numpy() - sim.arrivals.times[:n]
    assert (lag > -0.05).all() and np.median(lag) < 1.0  # scenario s; 1 s = 50 ms wall
    # conservation from the rows: every request ends once, ok / failed / dropped
    counts = outcome_counts(out)
    assert sum(counts.values()) == result.sent
    s = result.summary
    assert s.arrived == s.completed + s.dropped == result.sent and s.lost == 0 and s.drained
    assert json.loads((out / "summary.json").read_text())["arrived"] == result.sent
    assert len((out / "requests.csv").read_text().splitlines()) == result.sent + 1
    table = pd.read_csv(out / "requests.csv", keep_default_na=False)
    assert list(table.columns) == list(REQUEST_COLUMNS)  # the simulation's own columns
    assert (table["outcome"] == "dropped").sum() == s.dropped
    assert table["routed_s"].astype(float).ge(table["sent_s"].astype(float)).all()
    # times in order, and each service lasted its keyed draw (it really elapsed)
    ok = rows[rows["outcome"] == "ok"]
    assert len(ok) > 10
    t = ok[["sent", "routed", "queued", "started", "finished"]].to_numpy()
    assert (np.diff(t, axis=1) >= 0).all()
    caps = {c.name: c for c in sim.scenario.capabilities}
    stream = {c.name: i for i, c in enumerate(sim.scenario.capabilities)}
    drawn = np.array(
        [
            keyed_service_time(caps[c].service_time, sim.scenario.seed, stream[c], int(i))
            for c, i in zip(ok["capability"], ok["id"])
        ]
    )
    served = (ok["finished"] - ok["started"]).to_numpy()
    assert (served >= drawn - 1e-6).all()
    assert np.median(served - drawn) < 0.5  # scenario s: 25 ms of wall timer slack at 20x
    # routed by the scenario's router to the labels' zones, mostly
    assert s.router == "physics" and s.routing_accuracy is not None and s.routing_accuracy > 0.8
    assert not any(alive(p) for p in started_pids(out))


def test_a_worker_killed_mid_run_loses_nothing_and_is_routed_around(out):
    result = run_live(SCENARIO, out, speed=10, duration=5.0, kill="technical_support@1s")
    rows = result.requests
    counts = outcome_counts(out)
    assert sum(counts.values()) == result.sent == len(rows) > 20
    assert set(counts) <= {"ok", "degraded", "failed", "dropped"}
    failed = rows[rows["outcome"].isin(["failed", "dropped"])]
    assert failed["reason"].notna().all()
    lost = rows[rows["reason"] == "zone_down"]  # as a simulated outage drops them
    assert len(lost) >= 1 and (lost["zone"] == "technical_support").all()
    assert (lost["outcome"] == "dropped").all()
    assert result.summary.dropped_by_reason["zone_down"] == len(lost)
    # after the breaker opened, nothing more was sent there
    opened = lost["finished"].min()
    later = rows[rows["routed"] > opened + 0.5]
    assert len(later) > 5 and (later["zone"] != "technical_support").all()
    assert result.summary.lost == 0
    assert not any(alive(p) for p in started_pids(out))


@pytest.mark.parametrize("event", ["ctrl-c", "a worker dies"])
def test_ctrl_c_or_a_dying_worker_stops_every_process_it_started(out, event):
    cmd = [sys.executable, "-m", "arena", "live", str(SCENARIO), "--out", str(out)]
    child = subprocess.Popen(cmd, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not started_pids(out) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        pids = started_pids(out)
        assert len(pids) == 4, child.stderr.read() if child.poll() is not None else "no pids"
        time.sleep(1.0)
        if event == "ctrl-c":
            child.send_signal(signal.SIGINT)
        else:  # not a planned --kill: the run must stop everything and say why
            os.kill(
                json.loads((out / "pids.json").read_text())["workers"]["intake"], signal.SIGKILL
            )
        _, err = child.communicate(timeout=60)
        if event == "ctrl-c":
            assert child.returncode == 130 and "interrupted" in err
        else:
            last = err.strip().splitlines()[-1]  # (the gateway may have logged the zone down)
            assert child.returncode == 2 and "error: live:" in last and "intake" in last
        assert not any(alive(p) for p in pids)
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--kill", "nowhere@1s"], "--kill"),
        (["--kill", "intake"], "--kill"),
        (["--kill", "intake@soon"], "--kill"),
        (["--speed", "0"], "--speed"),
        (["--speed", "nan"], "--speed"),
        (["--speed", "-2"], "--speed"),
        (["--router", "nosuch"], "--router"),
        (["--duration", "0s"], "--duration"),
    ],
)
def test_bad_input_is_one_line_and_starts_nothing(out, capsys, args, field):
    argparse_field = field in ("--speed", "--duration")  # refused by the parser itself
    with pytest.raises(SystemExit) if argparse_field else contextlib.nullcontext():
        assert main(["live", str(SCENARIO), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err
    assert not (out / "pids.json").exists()


def test_an_out_that_is_a_file_is_one_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["live", str(SCENARIO), "--out", str(afile)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a folder" in err


def test_the_api_refuses_a_bad_speed_in_one_line(out):
    from arena.errors import ScenarioError

    for speed in (0, -1.0, float("inf"), float("nan"), True, "fast"):
        with pytest.raises(ScenarioError, match="--speed"):
            run_live(SCENARIO, out, speed=speed)  # type: ignore[arg-type]
    assert not (out / "pids.json").exists()


def test_kill_specs_name_a_zone_and_a_time():
    sc = load_scenario(str(SCENARIO))
    assert parse_kill("escalation@250ms", sc) == ("escalation", 0.25)
    assert parse_kill("intake@2", sc) == ("intake", 2.0)
    assert parse_kill(None, sc) is None
