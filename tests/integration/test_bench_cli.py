"""``packetflow-arena bench`` runs benchmarks in small mode and prints one table of figures."""

from __future__ import annotations

import sys
import types

import pytest

from arena.ui import bench
from arena.ui.cli import main


def test_lists_every_benchmark_script():
    names = bench.available()
    assert {"physics", "embeddings"} <= set(names)
    assert all(not n.startswith("bench_") for n in names)


def test_bench_only_physics_prints_one_table(capsys):
    assert main(["bench", "--only", "physics"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("Benchmarks (small sizes") :]
    assert "physics" in table
    for key in ("mesa_per_s", "numpy_100k_per_s", "numba_100k_per_s", "numpy_peak_mb"):
        assert key in table
    assert "Peak memory" not in out  # the benchmark's own output is kept back without --verbose


def test_unknown_benchmark_is_named(capsys):
    assert main(["bench", "--only", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "no benchmark named nosuch" in err and "physics" in err


def test_a_failing_benchmark_is_reported_and_fails_the_command(monkeypatch, capsys):
    broken = types.ModuleType("benchmarks.bench_broken")

    def failing_main(argv):
        print("partial output")
        raise RuntimeError("disk on fire")

    broken.main = failing_main
    monkeypatch.setitem(sys.modules, "benchmarks.bench_broken", broken)
    monkeypatch.setattr(bench, "available", lambda: ["broken"])
    assert main(["bench"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "RuntimeError: disk on fire" in captured.out
    assert "partial output" in captured.err  # its output is shown when it fails


@pytest.mark.parametrize(
    ("value", "text"),
    [(12_345_678.9, "12.35M"), (1234.5, "1.2k"), (0.9687, "0.969"), (42, "42"), (0.0, "0")],
)
def test_figure_formatting(value, text):
    assert bench._format(value) == text
