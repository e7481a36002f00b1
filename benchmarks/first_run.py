"""The first run on a new data set: what `packetflow-arena run` costs when no text is cached.

Part 3 of ``benchmarks/bench_embeddings.py`` (``--first-run``). A data set no cache holds,
~11,000 texts (HWU64's size), is built reproducibly from CLINC150: the first 60 train rows of
each intent as examples and the first 2,000 validation rows as arrivals, each rewritten with a
fixed spoken-style prefix. It is run with ``python -m arena run`` in a fresh process with an
empty ``PACKETFLOW_CACHE_DIR`` (the ONNX graphs already built): the default and the int8 path;
with ``--full`` also the plain model and the default building its graphs too (minutes).
Target: <= 15 s on 2 idle cores.

Where the default's time goes, measured in the same run: the command line's start-up (a new
process importing it and exiting, what every `run` pays before and after its work), encoding
the data set's texts alone (a fresh embedder, nothing cached), and the rest (scenario,
simulation, the cache's writes, summary and plots), by difference. CPU seconds are the
steadier figure on the shared machine, where the wall time mostly waits for a core.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_embeddings import CLINC150, load_clinc150, per_label_sample
from capabilities.discovery import OnnxMiniLMEmbedder

TARGET_FIRST_RUN_S = 15.0
PREFIXES = ("hey, ", "ok so ", "quick one: ", "hi there, ", "um, ", "so, ")
FIRST_RUN_YAML = """\
name: new_dataset
description: a data set the project has never seen, from a YAML file alone
seed: 1
steps: 50
zones_from:
  file: domains.json
  capacity: 20
  queue_limit: 60
  capability:
    intent: "{label} ({zone})"
    service_time: {distribution: geometric, mean: 4}
examples:
  source: {file: texts.json, split: [train]}
  per_label: 60
arrivals:
  rate: 40
  source: {file: texts.json, split: [test]}
physics: {temperature: 0.05, repulsion: 0.0}
"""
RUNS = (
    ("default", "auto", "default (graphs already built: a new data set)"),
    ("int8", "int8", "int8 path (PACKETFLOW_EMBEDDER=int8)"),
    ("plain", "plain", "plain sentence-transformers (PACKETFLOW_EMBEDDER=plain)"),
    ("default_build", "auto", "default, building its graphs too (the very first run)"),
)


def write_new_dataset(directory: Path) -> int:
    """The first-run scenario and its data under ``directory``; returns the distinct texts."""
    data, _ = load_clinc150()
    train = per_label_sample(data["train"], 60)
    test = data["val"][:2000]
    rows = [[PREFIXES[i % len(PREFIXES)] + t, lab] for i, (t, lab) in enumerate(train + test)]
    directory.mkdir(parents=True, exist_ok=True)
    split = {"train": rows[: len(train)], "test": rows[len(train) :]}
    (directory / "texts.json").write_text(json.dumps(split))
    shutil.copy(CLINC150 / "domains.json", directory / "domains.json")
    (directory / "scenario.yaml").write_text(FIRST_RUN_YAML)
    return len({t for t, _ in rows})


def timed_child(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"bench_embeddings: {' '.join(argv[:4])} failed:\n{done.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed_first_run(scenario: Path, cache_dir: Path, embedder: str) -> tuple[float, float, dict]:
    """Wall and CPU seconds of ``arena run`` in a new process with this (fresh) cache, and its
    summary."""
    env = {**os.environ, "PACKETFLOW_CACHE_DIR": str(cache_dir), "PACKETFLOW_EMBEDDER": embedder}
    env["HF_HUB_OFFLINE"] = "1"
    out = cache_dir.parent / f"out-{cache_dir.name}"
    cli = [sys.executable, "-m", "arena", "run", str(scenario), "--out", str(out)]
    wall, cpu = timed_child(cli, env)
    return wall, cpu, json.loads((out / "summary.json").read_text())


def start_up_cost() -> tuple[float, float]:
    """A new process importing the command line and exiting: best of 3 (wall, CPU)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    runs = [timed_child([sys.executable, "-c", "import arena.ui.cli"], env) for _ in range(3)]
    return min(runs)


def encoding_cost(data_dir: Path) -> tuple[float, float]:
    """Encoding the data set's distinct texts with a fresh default embedder (wall, CPU of this
    process's threads): the part of a first run that is embedding."""
    split = json.loads((data_dir / "texts.json").read_text())
    texts = list(dict.fromkeys(t for rows in split.values() for t, _ in rows))
    embedder = OnnxMiniLMEmbedder()
    embedder.encode(texts[:64])  # the session, as the run's first (small) call loads it
    cpu, start = time.process_time(), time.perf_counter()
    embedder.encode(texts)
    return time.perf_counter() - start, time.process_time() - cpu


def first_run_figures(full: bool) -> dict[str, float]:
    """Time the first runs and split the default's (see the module docstring)."""
    runs = {}
    with tempfile.TemporaryDirectory(prefix="pf-first-run-") as tmp:
        root = Path(tmp)
        n_texts = write_new_dataset(root / "data")
        scenario = root / "data" / "scenario.yaml"
        built = OnnxMiniLMEmbedder().artifact_path.parent  # graphs + choice as built here
        OnnxMiniLMEmbedder(graph="int8").artifact_path  # noqa: B018 - built, not measured
        for name, env, _ in RUNS[: 4 if full else 2]:
            cache = root / f"cache-{name}"
            if name != "default_build":
                (cache / "onnx").mkdir(parents=True)
                shutil.copytree(built, cache / "onnx" / built.name)
            runs[name] = timed_first_run(scenario, cache, env)
        parts = {"start-up (import + exit)": start_up_cost()}
        parts["encoding the texts"] = encoding_cost(root / "data")
    figures = {"first_run_texts": float(n_texts)}
    for name, (seconds, cpu, summary) in runs.items():
        figures[f"first_run_{name}_s"] = seconds
        figures[f"first_run_{name}_cpu_s"] = cpu
        figures[f"first_run_{name}_routing_accuracy"] = summary["routing_accuracy"]
    print(
        f"\nFirst run on a new data set: {n_texts:,} distinct texts never embedded (empty "
        f"PACKETFLOW_CACHE_DIR), `python -m arena run` in a new process, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    base = runs["default"]
    for name, _, label in RUNS:
        if name in runs:
            seconds, cpu, summary = runs[name]
            print(
                f"  {label:58s} {seconds:6.1f} s wall ({seconds / base[0]:4.2f}× default)  "
                f"{cpu:6.1f} s CPU  routing accuracy {summary['routing_accuracy']:.2%}  "
                f"({summary['embedder']})"
            )
    parts["the rest (by difference)"] = (
        base[0] - sum(w for w, _ in parts.values()),
        base[1] - sum(c for _, c in parts.values()),
    )
    print("  Where the default's first run goes (same run):")
    for label, (wall, cpu) in parts.items():
        key = label.split(" (")[0].replace(" ", "_").replace("-", "_")
        figures[f"first_run_part_{key}_s"], figures[f"first_run_part_{key}_cpu_s"] = wall, cpu
        print(
            f"    {label:30s} {wall:6.1f} s wall ({wall / base[0]:4.0%})  {cpu:6.1f} s CPU "
            f"({cpu / base[1]:4.0%})"
        )
    print(
        f"Target: first run on new data ≤ {TARGET_FIRST_RUN_S:g} s on 2 cores: "
        f"{'met' if base[0] <= TARGET_FIRST_RUN_S else 'NOT met'} ({base[0]:.1f} s wall, "
        f"{base[1]:.1f} s CPU, load average {os.getloadavg()[0]:.1f})"
    )
    return figures
