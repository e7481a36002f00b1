"""``packetflow-arena plan`` end to end on a tiny two-zone scenario (real MiniLM embedder,
serial backend): the files it writes, the overlay they contain, and its one-line errors."""

from __future__ import annotations

import json

import pytest
import yaml

from arena.analysis.runner import run_scenario
from arena.scenario import load_scenario
from arena.ui.cli import main

TINY = {
    "name": "tiny",
    "seed": 5,
    "steps": 120,
    "capabilities": [
        {
            "name": "check_balance",
            "intent": "tell the customer their account balance",
            "service_time": {"distribution": "geometric", "mean": 3},
        },
        {
            "name": "book_flight",
            "intent": "book a flight for a trip",
            "service_time": {"distribution": "geometric", "mean": 5},
        },
    ],
    "zones": [
        {
            "name": "banking",
            "capacity": 2,
            "queue_limit": 30,
            "radius": 6,
            "capabilities": ["check_balance"],
        },
        {
            "name": "travel",
            "capacity": 2,
            "queue_limit": 30,
            "radius": 6,
            "capabilities": ["book_flight"],
        },
    ],
    "arrivals": {
        "rate": 2,
        "repeat": True,
        "texts": [
            "how much money is in my account",
            "what is my balance",
            "book me a flight to paris",
            "I need a plane ticket to rome",
        ],
    },
    "router": "semantic_argmax",
}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.mark.slow
def test_plan_cli_writes_a_plan_whose_overlay_meets_the_objective(tiny, tmp_path, capsys):
    out = tmp_path / "plan"
    rc = main(
        [
            "plan",
            str(tiny),
            "--slo",
            "wait_p95<=1",
            "--slo",
            "drop_rate<=0.01",
            "--load",
            "1.5",
            "--seeds",
            "3",
            "--backend",
            "serial",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    plan = json.loads((out / "plan.json").read_text())
    # the smallest plan sits on the objective's edge, so 12 held-out seeds may see it miss (a
    # known weakness of the search: it has no margin); then the command says so, exits 1 and
    # names the next step — and everything below still holds
    assert rc == (0 if plan["met"] else 1), printed
    if not plan["met"]:
        assert "OBJECTIVES NOT MET" in printed and "next:" in printed, printed
    assert "capacity plan for tiny at 1.5x load" in printed and "banking" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "overlay.yaml",
        "plan.json",
        "plan.png",
        "zones.csv",
    ]
    assert set(plan["capacities"]) == {"banking", "travel"}
    # at 1.5x, today's 2 + 2 slots are overloaded (offered load ~ 1.5 x 1 x (3 + 5) / 2 each)
    assert plan["verdicts"]["today"]["meets"] is False
    assert all(n > 2 for n in plan["capacities"].values())
    # the overlay round trip: loaded as `run --overlay` loads it, run on a new seed
    planned = load_scenario(tiny, overlays=[out / "overlay.yaml"])
    assert {z.name: z.capacity for z in planned.zones} == plan["capacities"]
    assert "--overlay" in (out / "overlay.yaml").read_text().splitlines()[1]
    _, summary = run_scenario(planned, rate_scale=1.5, seed=777)
    assert summary.dropped <= 0.01 * summary.arrived
    # one fresh seed is one sample of the day (the held-out verdict above is the statistical
    # check): within twice the budget
    assert summary.wait_ms.p95 <= 2000


@pytest.mark.parametrize(
    ("slo", "says"),
    [
        ("wait_p95>=3", "only upper bounds"),
        ("p95<=3", "unknown metric"),
        ("wait_p95<=nan", "a duration like"),
        ("response_p95<=1", "cannot be met"),
    ],
)
def test_plan_cli_errors_are_one_line(tiny, slo, says, capsys):
    rc = main(["plan", str(tiny), "--slo", slo, "--backend", "serial", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and says in err and err.count("\n") == 1, err


def test_plan_cli_refuses_an_unwritable_out_before_planning(tiny, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    rc = main(
        [
            "plan",
            str(tiny),
            "--slo",
            "wait_p95<=3",
            "--backend",
            "serial",
            "--quiet",
            "--out",
            str(blocker),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "exists and is not a folder" in err and err.count("\n") == 1, err


def test_plan_takes_overlays_and_names_them_in_its_run_line(tiny, tmp_path, capsys):
    """A tune's best.yaml or a calibrated gate.yaml applies to the plan as to run; the plan's
    overlay.yaml says to run it with them (and loads so)."""
    given = tmp_path / "given.yaml"
    given.write_text("zones: {travel: {capacity: 3}}\n")
    out = tmp_path / "plan"
    argv = ["plan", str(tiny), "--slo", "drop_rate<=0.5", "--seeds", "2", "--max-rounds", "1"]
    argv += ["--no-uniform", "--retries", "0", "--backend", "serial", "--quiet"]
    rc = main([*argv, "--overlay", str(given), "--out", str(out)])
    assert rc in (0, 1), capsys.readouterr()
    plan = json.loads((out / "plan.json").read_text())
    assert plan["verdicts"]["today"]["capacities"] == [2, 3]  # the overlay's travel: 3
    header = (out / "overlay.yaml").read_text().splitlines()[1]
    assert f"--overlay {given} --overlay {out / 'overlay.yaml'}" in header
    planned = load_scenario(tiny, overlays=[given, out / "overlay.yaml"])
    assert {z.name: z.capacity for z in planned.zones} == plan["capacities"]
