"""``tune``: differential evolution over the physics on a sweep backend, on a tiny labelled arena
(the fake bag-of-words embedder gives instant meaning); the overlay it writes reproduces it."""

from __future__ import annotations

import csv
import json
import math

import pandas as pd
import pytest
import yaml
from arena_fixtures import TOPICS, base_data

import arena
from arena.analysis.sweep import flatten_summary
from arena.analysis.tuning import Objective, tune
from arena.analysis.tuning.objective import derived_metrics
from arena.errors import ScenarioError
from arena.scenario import load_scenario, read_overlay
from arena.ui.cli import main
from capabilities import PacketFlowError

FAKE = "fakes:BagOfWordsEmbedder"
OBJECTIVE = "accuracy - 2*drop_rate - 0.00001*wait_p95"
PARAMS = ["temperature=0.01:3:log", "candidates=1:3"]
SEEDS = [1, 2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Three topic zones, labelled arrivals, and a hot physics (temperature 2: intents wander,
    wait long and sometimes drop), so the scenario's own settings leave room to improve."""
    d = tmp_path_factory.mktemp("tiny")
    with open(d / "arrivals.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for topic, (_, samples) in TOPICS.items():
            w.writerows([s, topic] for s in samples)
    data = base_data(physics={"temperature": 2.0, "candidates": 3})
    data["arrivals"] = {"rate": 6, "repeat": True, "source": {"file": "arrivals.csv"}}
    (d / "tiny.yaml").write_text(yaml.safe_dump(data))
    return d / "tiny.yaml"


def run_tune(path, **kw):
    settings = dict(seeds=SEEDS, popsize=3, maxiter=2, backend="serial", embedder=FAKE)
    return tune(path, PARAMS, OBJECTIVE, progress=False, **{**settings, **kw})


@pytest.fixture(scope="module")
def tuned(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("tuned")
    return run_tune(tiny, out=out), out


@pytest.fixture(scope="module")
def result(tuned):
    return tuned[0]


def test_tune_beats_the_scenarios_own_settings_on_the_same_seeds(result):
    base = result.baseline
    assert (base["temperature"], base["candidates"]) == (2.0, 3)
    assert result.best["objective"] > base["objective"] + 0.05
    ev = result.evaluations
    assert (ev["score"] <= result.best["score"]).all()
    assert ev["baseline"].sum() == 1
    # a population of max(5, 3 x 2) points per generation, the first one plus 2 more
    assert result.batches == 3 and len(ev) <= 3 * 6 + 1
    assert len(result.runs) == len(ev) * len(SEEDS)
    assert ev["batch"].tolist() == sorted(ev["batch"])


def test_integer_fields_stay_integers_everywhere(result):
    assert pd.api.types.is_integer_dtype(result.evaluations["candidates"])
    assert pd.api.types.is_integer_dtype(result.runs["physics.candidates"])
    assert type(result.best_physics["candidates"]) is int
    assert type(result.overlay()["physics"]["candidates"]) is int


def test_the_overlay_reproduces_the_reported_objective_through_run(tiny, tmp_path):
    # the real chain, with the default MiniLM embedder (offline, cached): tune, then
    # `packetflow-arena run --overlay best.yaml` once per seed gives the objective tune reported
    result = run_tune(tiny, embedder=None, maxiter=1, out=tmp_path / "tuned")
    best_yaml = tmp_path / "tuned" / "best.yaml"
    assert read_overlay(best_yaml) == {"physics": result.best_physics}
    assert result.best["objective"] > result.baseline["objective"]
    sc = load_scenario(tiny, overlays=[best_yaml])
    assert sc.physics.candidates == result.best["candidates"]
    rows = []
    for seed in SEEDS:
        run_out = tmp_path / f"run{seed}"
        argv = ["run", str(tiny), "--overlay", str(best_yaml), "--seed", str(seed)]
        assert main([*argv, "--out", str(run_out), "--quiet"]) == 0
        rows.append(flatten_summary(json.loads((run_out / "summary.json").read_text())))
    means = {k: [r[k] for r in rows] for k in rows[0] if k != "router"}
    metrics = {k: v.mean() for k, v in derived_metrics(means).items()}
    value = float(Objective.parse(OBJECTIVE).value(metrics))
    assert value == pytest.approx(result.best["objective"], abs=1e-12)


def test_the_files_are_written_and_complete(tuned):
    result, out = tuned
    ev = pd.read_csv(out / "evaluations.csv")
    assert len(ev) == len(result.evaluations)
    assert {"temperature", "candidates", "objective", "score", "drop_rate", "wait_p95"} <= set(ev)
    assert len(pd.read_csv(out / "runs.csv")) == len(result.runs)
    summary = json.loads((out / "tune.json").read_text())
    assert summary["best"]["objective"] == pytest.approx(result.best["objective"])
    assert summary["seeds"] == SEEDS and summary["objective"].startswith("maximize accuracy")
    assert not list(out.glob("*.tmp"))


def test_the_search_is_reproducible_and_the_backend_does_not_change_it(tiny, result):
    again = run_tune(tiny)
    pd.testing.assert_frame_equal(again.evaluations, result.evaluations)
    procs = run_tune(tiny, backend="processes", workers=2)
    pd.testing.assert_frame_equal(procs.evaluations, result.evaluations)
    other = run_tune(tiny, seed=7)
    assert not other.evaluations[["temperature"]].equals(result.evaluations[["temperature"]])


def test_a_budget_caps_the_runs(tiny):
    r = run_tune(tiny, maxiter=50, budget=30)
    assert len(r.runs) <= 30 and r.batches == 2  # 14 runs for the first population, 12 more
    with pytest.raises(ScenarioError, match=r"budget: 5 runs do not cover the first population"):
        run_tune(tiny, budget=5)


def test_the_constraint_form_keeps_the_best_feasible(tiny):
    goal = Objective.parse("accuracy", constraints=["wait_p95<=1000"])  # milliseconds
    r = tune(
        tiny,
        PARAMS,
        goal,
        seeds=SEEDS,
        popsize=3,
        maxiter=2,
        backend="serial",
        embedder=FAKE,
        progress=False,
    )
    assert r.baseline["wait_p95"] > 1000 and r.baseline["score"] < -1  # penalised
    assert r.best["wait_p95"] <= 1000 and r.best["score"] == r.best["objective"]


def test_an_undefined_objective_is_refused_after_the_first_batch(tmp_path):
    path = tmp_path / "unlabelled.yaml"
    path.write_text(yaml.safe_dump(base_data()))  # inline texts: no labels, no accuracy
    with pytest.raises(ScenarioError, match=r"not finite at any point.*accuracy undefined"):
        run_tune(path)


def test_bad_settings_are_refused_before_any_run(tiny):
    with pytest.raises(ScenarioError, match=r"physics\.temperature: is both overridden and tuned"):
        run_tune(tiny, overrides=["physics.temperature=0.1"])
    with pytest.raises(ScenarioError, match="seeds: seeds repeat"):
        run_tune(tiny, seeds=[1, 1])
    with pytest.raises(ScenarioError, match="popsize: expected an integer >= 1"):
        run_tune(tiny, popsize=0)
    with pytest.raises(ScenarioError, match=r"tiny\.yaml: arrivals\.rate"):
        run_tune(tiny, overrides=["arrivals.rate=-2"])
    with pytest.raises(ScenarioError, match="rate_scale"):
        run_tune(tiny, rate_scale=math.nan)
    with pytest.raises(PacketFlowError, match=r"tune embedder.*fakes.*NoSuchFactory"):
        run_tune(tiny, embedder="fakes:NoSuchFactory", backend="dask")


def test_overrides_and_rate_scale_apply_to_every_run_the_baseline_included(tiny):
    r = run_tune(tiny, overrides=["arrivals.rate=2"], maxiter=0)
    fast = run_tune(tiny, overrides=["arrivals.rate=2"], rate_scale=3.0, maxiter=0)
    assert (r.runs["arrivals.rate"] == 2).all()
    assert fast.baseline["arrived"] > 2 * r.baseline["arrived"]


def test_cli_tune_writes_the_overlay_and_reports_bad_input_in_one_line(tiny, tmp_path, capsys):
    out = tmp_path / "t"
    argv = [
        "tune",
        str(tiny),
        "--param",
        "temperature=0.01:3:log",
        "--param",
        "candidates=1:3",
        "--objective",
        OBJECTIVE,
        "--seeds",
        "1,2",
        "--popsize",
        "3",
        "--maxiter",
        "1",
        "--backend",
        "serial",
        "--embedder",
        FAKE,
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "scenario: temperature 2" in text and "best:" in text
    assert set(read_overlay(out / "best.yaml")["physics"]) == {"temperature", "candidates"}
    bad = {
        "temprature": "physics.temprature: unknown physics parameter",
        "repulsion=0:99": "physics.repulsion: bounds [0.0, 99.0] leave the field's range",
    }
    for param, message in bad.items():
        assert main([*argv[:2], "--param", param, *argv[6:]]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert main([*argv[:6], "--objective", "accuracy ** 2", *argv[8:]]) == 2
    err = capsys.readouterr().err
    assert "objective: unexpected '*' at column 11" in err and err.count("\n") == 1
    assert main([*argv[:8], "--constraint", "drop_rate = 0", *argv[8:]]) == 2
    assert "constraint" in capsys.readouterr().err


def test_tune_is_the_package_level_function():
    assert arena.tune is tune
