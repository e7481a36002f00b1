"""``packetflow-arena bench`` runs every benchmark in a subprocess from the repository root and
prints one table of figures; the quick run below is the test suite's smoke run of all of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from paths import REPO_ROOT

from arena.ui import bench
from arena.ui.cli import main


def test_lists_every_benchmark_script():
    names = bench.available()
    assert {"physics", "embeddings", "planning", "workflow"} <= set(names)
    assert all(not n.startswith("bench_") for n in names)


@pytest.mark.slow
def test_quick_run_of_every_benchmark_passes_and_fits_100_columns(capsys):
    """Fails if any benchmark fails: a broken benchmark breaks the suite, not a later user."""
    assert main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("Benchmarks (--quick") :].splitlines()[1:]
    assert all(len(line) <= bench.WIDTH for line in table), max(table, key=len)
    shown = {line.split()[0] for line in table[2:] if line and not line.startswith(" ")}
    assert shown == set(bench.available())
    assert "FAILED" not in out
    for key in ("mesa_per_s", "step_10k_ms"):
        assert key in out


def test_unknown_benchmark_is_named(capsys):
    assert main(["bench", "--only", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "no benchmark named nosuch" in err and "physics" in err


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    """A repository with the real runner and three benchmarks: broken, needing the bench
    extra, and one whose process dies without a word."""
    (tmp_path / "benchmarks").mkdir()
    for name in ("__init__.py", "run.py"):
        shutil.copy(REPO_ROOT / "benchmarks" / name, tmp_path / "benchmarks" / name)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.optional-dependencies]\nbench = ["no-such-baseline>=1"]\n'
    )
    (tmp_path / "benchmarks" / "bench_broken.py").write_text(
        "def main(argv):\n    print('partial output')\n    raise RuntimeError('disk on fire')\n"
    )
    (tmp_path / "benchmarks" / "bench_extra.py").write_text(
        "def main(argv):\n    import no_such_baseline\n    return {}\n"
    )
    (tmp_path / "benchmarks" / "bench_dies.py").write_text(
        "import os\n\ndef main(argv):\n    os._exit(3)\n"
    )
    (tmp_path / "benchmarks" / "bench_fine.py").write_text(
        "HEADLINE = ('b',)\n\ndef main(argv):\n    return {'a': 1.0, 'b': float(len(argv))}\n"
    )
    return tmp_path


def test_a_failing_benchmark_is_reported_with_its_output(fake_repo, capsys):
    result = bench.run_one("broken", "small", False, root=fake_repo)
    assert result["status"] == "failed"
    assert result["error"] == "RuntimeError: disk on fire"
    assert "partial output" in capsys.readouterr().err  # its output is shown when it fails
    dead = bench.run_one("dies", "small", False, root=fake_repo)
    assert dead == {**dead, "status": "failed", "error": "the benchmark process exited 3"}


def test_a_missing_bench_extra_is_a_skip_not_a_failure(fake_repo):
    result = bench.run_one("extra", "quick", False, root=fake_repo)
    assert result["status"] == "skipped"
    assert result["reason"].startswith("install the bench extra")
    fine = bench.run_one("fine", "full", False, root=fake_repo)
    assert fine["status"] == "ok" and fine["figures"] == [["b", 1.0]]  # got --full, HEADLINE
    lines = bench.table_lines([result, fine])
    assert any("skipped" in line and "install the bench extra" in line for line in lines)


def test_without_a_benchmarks_folder_it_says_so(tmp_path, monkeypatch, capsys):
    assert bench.bench_dir(tmp_path) is None and bench.available(tmp_path) == []
    monkeypatch.setattr(bench, "REPO_ROOT", tmp_path)
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no benchmarks/ folder" in err


@pytest.mark.parametrize(
    ("value", "text"),
    [(12_345_678.9, "12.35M"), (1234.5, "1.2k"), (0.9687, "0.969"), (42, "42"), (0.0, "0")],
)
def test_figure_formatting(value, text):
    assert bench._format(value) == text
