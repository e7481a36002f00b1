"""Embedding benchmark: the fast ONNX int8 MiniLM against the plain model, speed and quality.

Two questions, both answered against the plain sentence-transformers all-MiniLM-L6-v2 in the
same run:

1. Speed on new text: sentences/s encoding the same CLINC150 validation texts with each
   embedder called directly (no cache in the way: every text is really encoded), after a
   warm-up on other texts (model load, ONNX build/session). Target: ≥ 1,000 sentences/s on
   2 cores.
2. What it costs in routing quality: nearest-centroid accuracy on the CLINC150 validation
   split, one centroid per intent computed from the TRAIN split with the same embedder, scored
   by DOMAIN (the nearest centroid's intent is in the text's domain) and by intent. Target: ≤ 1 point below the plain model. These vectors go through each
   embedder's persistent cache (under its own model name), so reruns are quick; ``--full``
   uses every train and validation text, the default a stratified sample.

3. A first run on a data set never seen (``--first-run``): a scenario written as a YAML file
   alone, over ~11,000 texts (HWU64's size) built reproducibly from CLINC150 — the first 60
   train rows of each intent as examples and the first 2,000 validation rows as arrivals,
   each text rewritten with a fixed spoken-style prefix (``"hey, "``, ``"ok so "``, ...), so
   no cache anywhere holds them — run with ``packetflow-arena run`` in a fresh process with an
   empty ``PACKETFLOW_CACHE_DIR``: the fast default with its ONNX file already built (a new
   data set), the fast default building it too (the very first run), and the plain model
   (``PACKETFLOW_EMBEDDER=plain``). Target: ≤ 30 s on 2 cores. Each run's routing accuracy
   (from its summary.json) shows the accuracy kept; ``--first-run`` also runs the CLINC150
   main job with both embedders (learned head per embedder) for the same comparison there.

Run: ``python -m benchmarks.bench_embeddings`` (under a minute once cached), ``--full``, or
``--first-run`` (a few minutes: the plain model's first run is the slow one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.timing import add_size_options, by_size
from capabilities import (
    CachedEmbedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    default_cache_dir,
)
from capabilities.discovery.embeddings import Embedder
from capabilities.discovery.fast_embeddings import OnnxMiniLMEmbedder, build_onnx_model

CLINC150 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clinc150"
HEADLINE = (
    "plain_per_s",
    "fast_per_s",
    "fast_vs_plain",
    "fast_all_cores_per_s",
    "plain_domain_accuracy",
    "fast_domain_accuracy",
    "domain_accuracy_loss_points",
)
TARGET_PER_S = 1000.0
TARGET_LOSS_POINTS = 1.0
TARGET_FIRST_RUN_S = 30.0
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


def load_clinc150() -> tuple[dict[str, list], dict[str, str]]:
    path = CLINC150 / "data_train_val.json"
    if not path.exists():
        raise SystemExit(f"bench_embeddings: CLINC150 not found at {path} (shared/ beside repo)")
    data = json.loads(path.read_text())
    domains = json.loads((CLINC150 / "domains.json").read_text())
    domain_of = {intent: domain for domain, intents in domains.items() for intent in intents}
    return data, domain_of


def per_label_sample(rows: list, per_label: int | None) -> list:
    """The first ``per_label`` rows of each intent (all rows when None), in data order."""
    if per_label is None:
        return list(rows)
    seen: dict[str, int] = {}
    out = []
    for text, intent in rows:
        if seen.get(intent, 0) < per_label:
            seen[intent] = seen.get(intent, 0) + 1
            out.append((text, intent))
    return out


def sentences_per_second(embedder: Embedder, texts: list[str], warmup: list[str]) -> float:
    embedder.encode(warmup)
    start = time.perf_counter()
    vectors = embedder.encode(texts)
    elapsed = time.perf_counter() - start
    assert vectors.shape[0] == len(texts)
    return len(texts) / elapsed


def centroid_accuracy(
    embedder: Embedder, train: list, val: list, domain_of: dict[str, str]
) -> tuple[float, float]:
    """(domain, intent) accuracy of the nearest intent centroid (from train) on validation:
    the domain accuracy counts a text right when its nearest centroid's intent is in its domain
    (the same measure as ``bench_routing``'s nearest-centroid reference)."""
    labels = sorted({i for _, i in train})
    index = {lab: j for j, lab in enumerate(labels)}
    tv = embedder.encode([t for t, _ in train])
    ty = np.array([index[i] for _, i in train])
    centroids = np.zeros((len(labels), tv.shape[1]), dtype=np.float64)
    np.add.at(centroids, ty, tv)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    pred = (embedder.encode([t for t, _ in val]) @ centroids.T).argmax(axis=1)
    intent_ok = [labels[p] == i for p, (_, i) in zip(pred, val, strict=True)]
    domain_ok = [domain_of[labels[p]] == domain_of[i] for p, (_, i) in zip(pred, val, strict=True)]
    return float(np.mean(domain_ok)), float(np.mean(intent_ok))


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


def timed_first_run(scenario: Path, cache_dir: Path, embedder: str) -> tuple[float, float, dict]:
    """Wall and CPU seconds of ``packetflow-arena run`` in a new process with this (fresh)
    cache, and its summary. CPU seconds (user + system of the child) are what the run costs
    on an idle machine's single thread: on the shared machine the wall time mostly waits for
    a core."""
    env = {**os.environ, "PACKETFLOW_CACHE_DIR": str(cache_dir), "PACKETFLOW_EMBEDDER": embedder}
    env["HF_HUB_OFFLINE"] = "1"
    out = cache_dir.parent / f"out-{cache_dir.name}"
    cli = [sys.executable, "-m", "arena", "run", str(scenario), "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cli, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"bench_embeddings: first run failed:\n{done.stderr[-2000:]}")
    return elapsed, cpu, json.loads((out / "summary.json").read_text())


def first_run_figures() -> dict[str, float]:
    """Time the three first runs (see the module docstring) and the CLINC150 main job's accuracy
    with each embedder."""
    with tempfile.TemporaryDirectory(prefix="pf-first-run-") as tmp:
        root = Path(tmp)
        n_texts = write_new_dataset(root / "data")
        scenario = root / "data" / "scenario.yaml"
        built = build_onnx_model().parent  # the ONNX files as this machine already has them
        runs = {}
        new_data = root / "cache-fast"
        (new_data / "onnx").mkdir(parents=True)
        shutil.copytree(built, new_data / "onnx" / built.name)
        runs["fast"] = timed_first_run(scenario, new_data, "fast")
        runs["fast_build"] = timed_first_run(scenario, root / "cache-fast-build", "fast")
        runs["plain"] = timed_first_run(scenario, root / "cache-plain", "plain")
    main_job = clinc150_accuracy()
    figures = {"first_run_texts": float(n_texts)}
    for name, (seconds, cpu, summary) in runs.items():
        figures[f"first_run_{name}_s"] = seconds
        figures[f"first_run_{name}_cpu_s"] = cpu
        figures[f"first_run_{name}_routing_accuracy"] = summary["routing_accuracy"]
    figures["first_run_plain_vs_fast"] = runs["plain"][0] / runs["fast"][0]
    figures.update(main_job)
    print(
        f"\nFirst run on a new data set: {n_texts:,} distinct texts never embedded (empty "
        f"PACKETFLOW_CACHE_DIR), `packetflow-arena run` in a new process, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    for name, label in (
        ("fast", "fast default (ONNX file already built)"),
        ("fast_build", "fast default, building its ONNX file too"),
        ("plain", "plain sentence-transformers (PACKETFLOW_EMBEDDER=plain)"),
    ):
        seconds, cpu, summary = runs[name]
        print(
            f"  {label:58s} {seconds:6.1f} s wall ({runs['plain'][0] / seconds:4.1f}× plain)  "
            f"{cpu:6.1f} s CPU ({runs['plain'][1] / cpu:4.1f}× plain)  "
            f"routing accuracy {summary['routing_accuracy']:.2%}  ({summary['embedder']})"
        )
    print(
        f"  CLINC150 main job routing accuracy: plain {main_job['clinc150_plain_routing_accuracy']:.2%}, "
        f"fast {main_job['clinc150_fast_routing_accuracy']:.2%}"
    )
    wall, cpu = runs["fast"][0], runs["fast"][1]
    print(
        f"Target: first run on new data ≤ {TARGET_FIRST_RUN_S:g} s on 2 cores: "
        f"{'met' if wall <= TARGET_FIRST_RUN_S else 'NOT met'} ({wall:.1f} s wall at load "
        f"{os.getloadavg()[0]:.1f}; {cpu:.1f} s of CPU, "
        f"{'within' if cpu <= TARGET_FIRST_RUN_S else 'over'} the target on an idle core)"
    )
    return figures


def clinc150_accuracy() -> dict[str, float]:
    """Routing and zone accuracy of the CLINC150 main job with each embedder (cached vectors,
    a learned head per embedder)."""
    from arena.model import ArenaModel
    from arena.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "clinc150.yaml")
    cache = EmbeddingCache(default_cache_dir())
    out = {}
    for name, emb in (("plain", SentenceTransformerEmbedder()), ("fast", OnnxMiniLMEmbedder())):
        model = ArenaModel(sc, embedder=CachedEmbedder(emb, cache))
        model.run()
        s = model.summary()
        out[f"clinc150_{name}_routing_accuracy"] = s.routing_accuracy
        out[f"clinc150_{name}_oos_recall"] = s.out_of_scope.recall if s.out_of_scope else None
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "1,500 texts timed, all of CLINC150")
    parser.add_argument("--texts", type=int, help="validation texts to time (default 300/1500)")
    parser.add_argument("--first-run", action="store_true", help="also time first runs (3.)")
    args = parser.parse_args(argv)
    data, domain_of = load_clinc150()
    n_timed = args.texts or by_size(args, 64, 300, 1500)
    val_texts = list(dict.fromkeys(t for t, _ in data["val"]))
    timed, warmup = val_texts[:n_timed], [t for t, _ in data["oos_val"][:64]]

    plain = SentenceTransformerEmbedder()
    fast = OnnxMiniLMEmbedder()
    load = os.getloadavg()[0]
    speed = {
        "plain": sentences_per_second(plain, timed, warmup),
        "fast": sentences_per_second(fast, timed, warmup),
        "fast_all_cores": sentences_per_second(
            OnnxMiniLMEmbedder(threads=os.cpu_count()), timed, warmup
        ),
    }
    train = per_label_sample(data["train"], by_size(args, 2, 20, None))
    val = per_label_sample(data["val"], by_size(args, 1, 6, None))
    cache = EmbeddingCache()
    accuracy = {}
    for name, emb in (("plain", plain), ("fast", fast)):
        cached = CachedEmbedder(emb, cache)
        accuracy[name] = centroid_accuracy(cached, train, val, domain_of)
    figures = {
        "plain_per_s": speed["plain"],
        "fast_per_s": speed["fast"],
        "fast_vs_plain": speed["fast"] / speed["plain"],
        "fast_all_cores_per_s": speed["fast_all_cores"],
        "plain_domain_accuracy": accuracy["plain"][0],
        "fast_domain_accuracy": accuracy["fast"][0],
        "domain_accuracy_loss_points": 100 * (accuracy["plain"][0] - accuracy["fast"][0]),
        "plain_intent_accuracy": accuracy["plain"][1],
        "fast_intent_accuracy": accuracy["fast"][1],
    }
    print(
        f"Embedding {len(timed):,} CLINC150 validation texts, uncached, batch 64, "
        f"{os.cpu_count()} cores, load average {load:.1f}; nearest-centroid accuracy on "
        f"{len(val):,} validation texts with centroids from {len(train):,} train texts"
    )
    header = ("embedder", "sentences/s", "vs plain", "domain acc.", "intent acc.")
    rows = [
        (
            "plain sentence-transformers MiniLM",
            f"{speed['plain']:,.0f}",
            "1.0×",
            f"{accuracy['plain'][0]:.2%}",
            f"{accuracy['plain'][1]:.2%}",
        ),
        (
            f"ONNX Runtime int8 ({fast.name}), 1 thread",
            f"{speed['fast']:,.0f}",
            f"{figures['fast_vs_plain']:.1f}×",
            f"{accuracy['fast'][0]:.2%}",
            f"{accuracy['fast'][1]:.2%}",
        ),
        (
            f"  the same, ONNX Runtime on {os.cpu_count()} threads",
            f"{speed['fast_all_cores']:,.0f}",
            f"{speed['fast_all_cores'] / speed['plain']:.1f}×",
            "",
            "",
        ),
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
            )
        )
    loss = figures["domain_accuracy_loss_points"]
    # the target is for 2 cores: the better of the two thread settings (1 wins on a busy
    # machine, all cores on an idle one)
    best = max(speed["fast"], speed["fast_all_cores"])
    config = "1 thread" if best == speed["fast"] else "all cores"
    print(
        f"Targets: ≥ {TARGET_PER_S:,.0f} sentences/s on 2 cores: "
        f"{'met' if best >= TARGET_PER_S else 'NOT met'} ({best:,.0f}/s, {config}); "
        f"domain accuracy loss ≤ {TARGET_LOSS_POINTS:g} point: "
        f"{'met' if loss <= TARGET_LOSS_POINTS else 'NOT met'} ({loss:+.2f} points)"
    )
    if args.first_run:
        figures.update(first_run_figures())
    return figures


if __name__ == "__main__":
    main()
