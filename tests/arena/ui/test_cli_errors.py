"""The command line under misuse (issue #14): every failure is one line on stderr and exit
status 2, refused before simulating; outputs are written atomically and say when undrained."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from arena.ui.cli import main

TINY = {
    "name": "tiny",
    "seed": 1,
    "steps": 4,
    "capabilities": [
        {"name": "bank_desk", "intent": "money account balance", "service_time": 2},
        {"name": "travel_desk", "intent": "flight hotel trip", "service_time": 2},
    ],
    "zones": [
        {"name": "bank", "capacity": 2, "queue_limit": 5, "capabilities": ["bank_desk"]},
        {"name": "travel", "capacity": 2, "queue_limit": 5, "capabilities": ["travel_desk"]},
    ],
    "arrivals": {"rate": 2, "texts": ["send money to my account", "book a flight"]},
}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def exit_code(argv):
    """main()'s status, also when argparse exits (as the console script would)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def one_line_failure(capsys, argv, *words):
    code = exit_code(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


MISUSES = [
    (["--duration=-5s"], "--duration", "at least 0"),
    (["--duration", "0"], "--duration", "above 0"),
    (["--duration", "100000000000"], "--duration", "at most 30d"),
    (["--duration", "fast"], "--duration", "a duration like"),
    (["--duration", "nan"], "--duration", "a duration like"),
    (["--rate-scale", "inf"], "--rate-scale", "finite"),
    (["--rate-scale", "nan"], "--rate-scale", "finite"),
    (["--rate-scale", "-1"], "--rate-scale", "must be > 0"),
    (["--rate-scale", "0"], "--rate-scale", "must be > 0"),
    (["--seed", "-1"], "--seed", "must be >= 0"),
    (["--seed", "9" * 5000], "--seed", "expected an integer"),
    (["--set", "arrivals.rate=[1"], "arrivals.rate", "not valid YAML"),
    (["--set", "arrivals.rate=.nan"], "arrivals.rate", "finite"),
    (["--set", "arrivals.rate=1e300"], "arrivals.rate", "must be at most 1e+06/s, got 1e+300/s"),
    (["--set", "physics.temperature=.inf"], "physics.temperature", "finite"),
    (["--set", "zones.0.capacity=" + "9" * 40], "zones[0].capacity", "integer of 40 digits"),
    (["--set", "nonsense"], "must look like"),
    (["--router", "telepathy"], "unknown router"),
]


@pytest.mark.parametrize("case", MISUSES, ids=[" ".join(m[0])[:30] for m in MISUSES])
def test_misuse_is_one_line_and_exit_2(capsys, tiny, tmp_path, case):
    argv, *words = case
    argv = ["run", str(tiny), "--quiet", "--out", str(tmp_path / "o"), *argv]
    one_line_failure(capsys, argv, *words)
    assert not (tmp_path / "o").exists()


def test_a_directory_as_the_scenario_is_refused(capsys, tmp_path):
    one_line_failure(capsys, ["run", str(tmp_path), "--quiet"], "is a directory")


def test_out_at_a_file_or_unwritable_place_is_refused_before_simulating(
    capsys, tiny, tmp_path, monkeypatch
):
    import arena.analysis.runner as runner

    def no_simulation(*a, **k):
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(runner, "ArenaModel", no_simulation)
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    one_line_failure(capsys, ["run", str(tiny), "--quiet", "--out", str(afile)], "not a folder")
    assert afile.read_text() == "keep me"
    if os.geteuid() != 0:  # root ignores directory permissions
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            argv = ["run", str(tiny), "--quiet", "--out", str(locked / "out")]
            one_line_failure(capsys, argv, "cannot write")
        finally:
            locked.chmod(0o700)


def test_out_under_a_missing_impossible_parent_is_refused(capsys, tiny):
    one_line_failure(
        capsys, ["run", str(tiny), "--quiet", "--out", "/proc/no/such/out"], "cannot write"
    )


def test_unexpected_errors_are_one_line_with_a_hint(capsys, tiny, monkeypatch):
    import arena.analysis.runner as runner

    def broken(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(runner, "ArenaModel", broken)
    line = one_line_failure(capsys, ["run", str(tiny), "--quiet", "--out", "x"], "internal error")
    assert "ZeroDivisionError: a bug" in line and "PACKETFLOW_DEBUG" in line


def test_an_undrained_run_says_so_and_the_summary_is_valid_json(capsys, tiny, tmp_path):
    out = tmp_path / "out"
    code = main(["run", str(tiny), "--quiet", "--duration", "2s", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert "not drained" in captured.err and "without --duration" in captured.err
    summary = json.loads((out / "summary.json").read_text(), parse_constant=_no_constants)
    assert summary["drained"] is False
    assert summary["in_service"] + summary["queued"] + summary["in_flight"] > 0
    code = main(["run", str(tiny), "--quiet", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0 and "not drained" not in captured.err
    assert json.loads((out / "summary.json").read_text())["drained"] is True


def _no_constants(name):
    raise AssertionError(f"summary.json holds a bare {name}")


def test_sweep_arguments_are_bounded_too(capsys, tiny, tmp_path):
    base = ["sweep", str(tiny), "--quiet", "--out", str(tmp_path / "s"), "--backend", "serial"]
    one_line_failure(capsys, [*base, "--seeds", "1,-2"], "--seeds", "must be >= 0")
    one_line_failure(capsys, [*base, "--duration", "0"], "--duration")
    one_line_failure(capsys, [*base, "--workers", "0"], "--workers")
    one_line_failure(capsys, [*base, "--grid", "arrivals.rate=1,1e300"], "arrivals.rate", "at most")
    afile = tmp_path / "f"
    afile.write_text("x")
    one_line_failure(capsys, [*base[:3], "--out", str(afile)], "not a folder")
