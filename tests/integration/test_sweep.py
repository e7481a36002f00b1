"""Sweeps: one tidy row per run, identical across serial / processes / Dask, resumable, on the CLI."""

from __future__ import annotations

import dataclasses
import importlib
import io
import os

import pandas as pd
import pytest
import yaml
from arena_fixtures import base_data, scenario
from hypothesis import given
from hypothesis import strategies as st

import arena
from arena.analysis.sweep import FIGURES, run_key, sweep
from arena.errors import ScenarioError
from arena.ui.cli import main
from arena.ui.sweep_cli import parse_grid
from capabilities import PacketFlowError

sweep_module = importlib.import_module("arena.analysis.sweep")
backends = importlib.import_module("arena.analysis.sweep.backends")  # where runs are started

FAKE = "fakes:BagOfWordsEmbedder"  # importable by spawned workers (tests/ is on their sys.path)
GRID = {"physics.temperature": [0.05, 0.5], "arrivals.rate": [2, 6]}


def figures(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="duration_s")


@pytest.fixture(scope="module")
def serial() -> pd.DataFrame:
    return sweep(scenario(), GRID, [1, 2], embedder=FAKE, progress=False)


def test_one_row_per_run_with_parameters_seed_and_summary_figures(serial):
    assert len(serial) == 2 * 2 * 2
    assert list(serial.columns) == [*GRID, "seed", "rate_scale", *FIGURES, "duration_s"]
    # grid order: first key slowest, seeds fastest
    assert serial["physics.temperature"].tolist() == [0.05] * 4 + [0.5] * 4
    assert serial["arrivals.rate"].tolist() == [2, 2, 6, 6] * 2
    assert serial["seed"].tolist() == [1, 2] * 4
    assert (serial["lost"] == 0).all()
    # the figures are those of the run itself: rerun one point by hand and compare
    from fakes import BagOfWordsEmbedder

    from arena.model import ArenaModel

    base = scenario()
    sc = base.replace(
        physics=base.physics.replace(temperature=0.5),
        arrivals=dataclasses.replace(base.arrivals, rate=6),
    )
    m = ArenaModel(sc, seed=2, embedder=BagOfWordsEmbedder())
    m.run()
    s = m.summary().to_dict()
    row = serial.iloc[7]
    assert row["arrived"] == s["arrived"] and row["completed"] == s["completed"]
    assert row["wait_p95"] == s["wait_ms"]["p95"] and row["latency_p99"] == s["latency_ms"]["p99"]
    assert row["simulated_s"] == s["duration_s"]


def test_parameters_change_the_outcome(serial):
    # more arrivals per step -> more intents; a hotter physics -> longer flights and waits
    by_rate = serial.groupby("arrivals.rate")["arrived"].mean()
    assert by_rate[6] > 2 * by_rate[2]
    by_t = serial.groupby("physics.temperature")["wait_mean"].mean()
    assert by_t[0.5] != by_t[0.05]


def test_processes_and_a_two_worker_dask_cluster_give_the_serial_results(serial):
    procs = sweep(
        scenario(), GRID, [1, 2], backend="processes", workers=2, embedder=FAKE, progress=False
    )
    pd.testing.assert_frame_equal(figures(procs), figures(serial))
    dask = sweep(scenario(), GRID, [1, 2], backend="dask", workers=2, embedder=FAKE, progress=False)
    pd.testing.assert_frame_equal(figures(dask), figures(serial))


def test_a_scenario_file_takes_its_overrides_through_validation(tmp_path):
    path = tmp_path / "unit.yaml"
    path.write_text(yaml.safe_dump(base_data()))
    df = sweep(path, {"router": ["physics", "random"]}, [3], embedder=FAKE, progress=False)
    assert df["router"].tolist() == ["physics", "random"]
    with pytest.raises(ScenarioError, match=r"unit\.yaml: router: unknown router 'teleport'"):
        sweep(path, {"router": ["teleport"]}, [3], embedder=FAKE, progress=False)


def test_bad_grids_are_refused_with_the_field_named():
    with pytest.raises(ScenarioError, match=r"physics\.temperature.*non-empty list"):
        sweep(scenario(), {"physics.temperature": 0.05}, [1], embedder=FAKE, progress=False)
    with pytest.raises(ScenarioError, match=r"physics\.warp: cannot override.*no field 'warp'"):
        sweep(scenario(), {"physics.warp": [1.0]}, [1], embedder=FAKE, progress=False)
    with pytest.raises(ScenarioError, match=r"physics\.temperature: cannot override.*outside"):
        sweep(scenario(), {"physics.temperature": [-1.0]}, [1], embedder=FAKE, progress=False)
    with pytest.raises(ValueError, match="backend must be one of"):
        sweep(scenario(), GRID, [1], backend="threads", embedder=FAKE)
    with pytest.raises(ValueError, match="address="):
        sweep(scenario(), GRID, [1], address="tcp://127.0.0.1:1", embedder=FAKE)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_resume_skips_rows_already_in_the_results_file(tmp_path, monkeypatch, serial, suffix):
    results = tmp_path / f"runs{suffix}"
    calls: list[tuple] = []
    real = sweep_module.run_one

    def crashing_after_three(spec):
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        calls.append(spec.key())
        return real(spec)

    monkeypatch.setattr(backends, "run_one", crashing_after_three)
    with pytest.raises(RuntimeError, match="worker lost"):
        sweep(scenario(), GRID, [1, 2], embedder=FAKE, results=results, progress=False)
    assert (
        len(sweep_module.read_results(results)) == 3
    )  # every finished run was saved before the crash

    def counting(spec):
        calls.append(spec.key())
        return real(spec)

    calls.clear()
    monkeypatch.setattr(backends, "run_one", counting)
    resumed = sweep(scenario(), GRID, [1, 2], embedder=FAKE, results=results, progress=False)
    assert len(calls) == 5  # only the runs missing from the file
    pd.testing.assert_frame_equal(figures(resumed), figures(serial), check_dtype=False)
    calls.clear()
    again = sweep(scenario(), GRID, [1, 2], embedder=FAKE, results=results, progress=False)
    assert calls == [] and len(again) == 8
    assert len(sweep_module.read_results(results)) == 8


def test_a_results_file_of_another_sweep_is_refused(tmp_path):
    results = tmp_path / "other.csv"
    pd.DataFrame({"x": [1], "seed": [1]}).to_csv(results, index=False)
    with pytest.raises(ScenarioError, match=r"other\.csv.*lacks the columns"):
        sweep(scenario(), GRID, [1], embedder=FAKE, results=results, progress=False)


@given(
    params=st.dictionaries(
        st.sampled_from(["physics.temperature", "arrivals.rate", "physics.repulsion"]),
        st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False)),
        min_size=1,
    ),
    seed=st.integers(0, 2**31),
)
def test_run_keys_survive_a_csv_round_trip(params, seed):
    text = pd.DataFrame([{**params, "seed": seed}]).to_csv(index=False)
    back = pd.read_csv(io.StringIO(text)).to_dict("records")[0]
    assert run_key({k: back[k] for k in params}, back["seed"]) == run_key(params, seed)


def test_parse_grid_reads_yaml_values():
    grid = parse_grid(
        ["physics.temperature=0.02,0.05", "router=physics,random", "arrivals.rate=10"]
    )
    assert grid == {
        "physics.temperature": [0.02, 0.05],
        "router": ["physics", "random"],
        "arrivals.rate": [10],
    }
    with pytest.raises(ScenarioError, match="must look like"):
        parse_grid(["physics.temperature"])


def test_cli_sweep_writes_a_resumable_results_file(tmp_path, capsys):
    path = tmp_path / "unit.yaml"
    path.write_text(yaml.safe_dump(base_data()))
    argv = [
        "sweep",
        str(path),
        "--grid",
        "physics.temperature=0.05,0.5",
        "--grid",
        "arrivals.rate=2",
        "--seeds",
        "1,2",
        "--backend",
        "serial",
        "--embedder",
        FAKE,
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "4 runs (2 seeds)" in out and "wait_p95" in out
    df = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert len(df) == 4 and set(df["physics.temperature"]) == {0.05, 0.5}
    assert main([*argv[:-3], "--seeds", "1,2,3", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert len(pd.read_csv(tmp_path / "out" / "sweep.csv")) == 6
    assert main([*argv[:2], "--grid", "physics.nope=1", "--backend", "serial", "--quiet"]) == 2
    assert "unit.yaml: physics.nope: unknown key" in capsys.readouterr().err


def test_sweep_is_the_package_level_function():
    assert arena.sweep is sweep


def test_a_swept_scenario_field_named_like_a_figure_keeps_its_value():
    df = sweep(scenario(), {"duration": [5, 8]}, [1], embedder=FAKE, progress=False)
    assert df["duration"].tolist() == [5, 8]
    assert (df["simulated_s"] >= df["duration"]).all()  # the run drains after its duration


def test_process_workers_start_single_threaded_and_the_parent_env_is_restored(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's own choice is kept
    with backends.single_threaded_children():
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
        assert os.environ["OMP_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "3"


def _worker_settings(dask_worker) -> dict:
    import dask

    return {
        "profiling": "profile" in dask_worker.periodic_callbacks,
        "threads": dask_worker.state.nthreads,
        "tick": dask.config.get("distributed.admin.tick.interval"),
        "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
    }


def test_the_sweep_cluster_runs_single_threaded_workers_without_profiler_or_malloc_trim():
    from distributed import Client

    with arena.local_cluster(1) as cluster, Client(cluster) as client:
        (settings,) = client.run(_worker_settings).values()
    # Dask's 10 ms stack sampler made each CLINC150 run ~25% slower, its fixed malloc trim
    # threshold ~5-10%: both must be off in sweep workers
    assert settings == {
        "profiling": False,
        "threads": 1,
        "tick": "1s",
        "malloc_trim": None,
        "numba_threads": "1",
    }
    import dask

    assert dask.config.get("distributed.worker.profile.enabled")  # the caller's config is untouched


def test_a_run_that_fails_in_a_worker_comes_back_as_its_error_naming_the_run():
    # the grid value passes the parent's check; the model refuses it inside the worker process
    with pytest.raises(ScenarioError, match="hosts no capability") as info:
        sweep(
            scenario(),
            {"zones.0.capabilities": [()]},
            [7],
            backend="processes",
            workers=1,
            embedder=FAKE,
            progress=False,
        )
    assert info.value.field == "zones[0]"
    assert info.value.__notes__ == ["in sweep run zones.0.capabilities=(), seed=7.0"]


def test_a_mistyped_embedder_is_refused_before_any_worker_starts():
    with pytest.raises(PacketFlowError, match=r"fakes.*NoSuchFactory"):
        sweep(scenario(), GRID, [1], backend="dask", embedder="fakes:NoSuchFactory")


def _scheduled(tmp_path):
    data = base_data()
    data["arrivals"]["schedule"] = [[0, 3], [20, 6]]
    path = tmp_path / "scheduled.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_grid_value_another_field_overrides_is_an_error_naming_both(tmp_path):
    """A schedule from step 0 sets the rate: sweeping arrivals.rate would give identical rows."""
    path = _scheduled(tmp_path)
    with pytest.raises(ScenarioError) as err:
        sweep(path, {"arrivals.rate": [0.6, 0.9]}, [1], embedder=FAKE, progress=False)
    assert err.value.field == "arrivals.rate" and "arrivals.schedule" in err.value.problem
    with pytest.raises(ScenarioError, match=r"load_info\.mode"):
        sweep(scenario(), {"load_info.period": [1, 5]}, [1], embedder=FAKE, progress=False)
    with pytest.raises(ScenarioError, match="router is 'physics'"):
        sweep(path, {"router_params.power_of_d.d": [1, 2]}, [1], embedder=FAKE)
    # a router's parameters swept beside the router itself take effect in some rows: allowed
    grid = {"router": ["physics", "power_of_d"], "router_params.power_of_d.d": [1, 2]}
    assert len(sweep(path, grid, [1], embedder=FAKE, progress=False)) == 4


def test_rate_scale_scales_every_run_and_resume_keeps_scales_apart(tmp_path):
    results = tmp_path / "runs.csv"
    path = _scheduled(tmp_path)
    grid = {"router": ["random"]}
    one = sweep(path, grid, [1, 2], embedder=FAKE, results=results, progress=False)
    two = sweep(path, grid, [1, 2], embedder=FAKE, results=results, progress=False, rate_scale=2)
    assert (two["rate_scale"] == 2).all() and (one["rate_scale"] == 1).all()
    assert two["arrived"].sum() > 1.5 * one["arrived"].sum()  # the schedule is scaled too
    assert len(sweep_module.read_results(results)) == 4  # the 2x runs were not taken as done
    for bad in (0, float("nan"), -1):
        with pytest.raises(ScenarioError, match="rate_scale"):
            sweep(path, grid, [1], embedder=FAKE, rate_scale=bad)
