"""Embedding benchmark: the plain model, the int8 fast path and the default, in one run.

Three questions, each answered for all three paths in the same run (ratios, since the shared
machine's load moves every absolute figure):

1. Speed on new text: texts/s encoding the same CLINC150 validation texts, every text really
   encoded (no cache), after a warm-up: the plain sentence-transformers all-MiniLM-L6-v2; the
   int8 fast path as it was (the int8 ONNX graph, one thread, length-sorted batches of 64);
   and the default (:class:`OnnxMiniLMEmbedder`: the graph measured best within the vector
   tolerance, batches side by side on every available core). The paths take turns, repeated,
   and each reports its median and best; also texts per CPU-second, which load moves less.
   Where the default's time goes (tokenising, the model, the rest) is printed too, with the
   CPU's instruction-set flags. Target: >= 1,000 new texts/s on 2 cores.
2. Whether the vectors are the plain model's: the largest per-component difference and the
   lowest cosine against the plain model's vectors, and the nearest-centroid accuracy on
   CLINC150 validation (centroids from TRAIN), by domain (= zone) and intent. Target: zone
   accuracy within 0.2 points of the plain model's.
3. A first run on a data set never seen (``--first-run``, :mod:`benchmarks.first_run`): ~11,000
   new texts run with ``python -m arena run`` in a fresh process, the default and the int8
   path (``--full``: also the plain model, and the default building its graphs), with where
   the default's time goes. Target: <= 15 s on 2 cores. It also runs the CLINC150 main job
   with each embedder.

Run: ``python -m benchmarks.bench_embeddings`` (a minute or two), ``--full``, ``--first-run``.
"""

from __future__ import annotations

import argparse
import json
import os
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
from capabilities.discovery import (
    VECTOR_TOLERANCE,
    OnnxMiniLMEmbedder,
    available_cores,
    vector_distance,
)
from capabilities.discovery.embeddings import Embedder

CLINC150 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clinc150"
HEADLINE = (
    "default_per_s",
    "default_vs_plain",
    "default_vs_int8",
    "default_max_distance",
    "default_domain_accuracy_loss_points",
)
TARGET_PER_S = 1000.0
TARGET_LOSS_POINTS = 0.2
PATHS = ("plain", "int8", "default")
LABELS = {
    "plain": "plain sentence-transformers MiniLM",
    "int8": "int8 ONNX, 1 thread (the fast path before)",
    "default": "default: {name}",
}
FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")


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


def cpu_flags() -> tuple[str, list[str]]:
    """This CPU's model name and which of the instruction sets that matter here it has."""
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return model, [f for f in FLAGS_OF_INTEREST if f in flags]


def the_three_paths() -> dict[str, Embedder]:
    return {
        "plain": SentenceTransformerEmbedder(),
        "int8": OnnxMiniLMEmbedder(graph="int8", threads=1, parallel="ops"),
        "default": OnnxMiniLMEmbedder(),
    }


def timed_turns(
    embedders: dict[str, Embedder], texts: list[str], warmup: list[str], repeats: int
) -> dict[str, dict[str, float]]:
    """Each embedder encodes ``texts`` ``repeats`` times, taking turns (so a busy moment of
    the shared machine hits all of them): median and best texts/s, and texts per CPU-second
    of this process (all its threads)."""
    for e in embedders.values():
        e.encode(warmup)  # model load, graph build or session: not timed
    walls: dict[str, list[float]] = {n: [] for n in embedders}
    cpus: dict[str, list[float]] = {n: [] for n in embedders}
    for _ in range(repeats):
        for name, e in embedders.items():
            cpu, start = time.process_time(), time.perf_counter()
            vectors = e.encode(texts)
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - cpu)
            assert vectors.shape[0] == len(texts)
    n = len(texts)
    return {
        name: {
            "median_per_s": n / float(np.median(walls[name])),
            "best_per_s": n / min(walls[name]),
            "per_cpu_s": n / float(np.median(cpus[name])),
        }
        for name in embedders
    }


def padding_share(texts: list[str], batch_size: int = 64) -> dict[str, float]:
    """The share of token slots the model spends on padding (a batch is padded to its longest
    text), with batches cut in the texts' own order and cut after sorting by length."""
    _, lengths = OnnxMiniLMEmbedder().tokenize(texts)
    out = {}
    for label, order in (("unsorted", np.arange(len(texts))), ("sorted", np.argsort(lengths))):
        slots = sum(
            int(lengths[order[s : s + batch_size]].max()) * len(order[s : s + batch_size])
            for s in range(0, len(texts), batch_size)
        )
        out[label] = 1 - int(lengths.sum()) / slots
    return out


def breakdown(texts: list[str], repeats: int) -> dict[str, dict[str, float]]:
    """Where the default graph's time goes, per setting: ms per 1,000 texts in tokenising,
    inside ONNX Runtime (summed over threads) and the rest of the batch loop (slicing,
    masks, copies, waiting for a core), and texts/s; best of ``repeats``."""
    settings = {
        "1 core": OnnxMiniLMEmbedder(threads=1),
        f"{available_cores()} cores, batches side by side": OnnxMiniLMEmbedder(),
        f"{available_cores()} cores, ops split (intra-op)": OnnxMiniLMEmbedder(parallel="ops"),
        "1 core, batches of 256": OnnxMiniLMEmbedder(threads=1, batch_size=256),
    }
    out = {}
    for label, e in settings.items():
        e.encode(texts[:64])
        best: dict[str, float] | None = None
        for _ in range(repeats):
            start = time.perf_counter()
            e.encode(texts)
            wall = time.perf_counter() - start
            if best is None or wall < best["wall"]:
                best = {**e.last_timings, "wall": wall}
        assert best is not None
        k = 1000 / len(texts)
        out[label] = {
            "tokenise_ms": best["tokenise"] * 1e3 * k,
            "model_ms": best["model"] * 1e3 * k,
            "batch_loop_ms": best["batches"] * 1e3 * k,
            "normalise_ms": best["normalise"] * 1e3 * k,
            "per_s": len(texts) / best["wall"],
        }
    return out


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


def clinc150_main_job() -> dict[str, float]:
    """The CLINC150 main job's routing with each path (cached vectors, a head per embedder):
    the default's summary should equal the plain model's, field for field."""
    from arena.model import ArenaModel
    from arena.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "clinc150.yaml")
    cache = EmbeddingCache(default_cache_dir())
    out, summaries = {}, {}
    for name, emb in the_three_paths().items():
        model = ArenaModel(sc, embedder=CachedEmbedder(emb, cache))
        model.run()
        s = model.summary()
        summaries[name] = s.to_dict()
        out[f"clinc150_{name}_routing_accuracy"] = s.routing_accuracy
        out[f"clinc150_{name}_steps"] = s.steps
    same = {
        k
        for k, v in summaries["plain"].items()
        if k != "embedder" and summaries["default"].get(k) == v
    }
    out["clinc150_default_fields_equal_to_plain"] = len(same)
    out["clinc150_fields"] = len(summaries["plain"]) - 1
    print(
        f"  CLINC150 main job: the default's summary equals the plain model's in {len(same)} of "
        f"{len(summaries['plain']) - 1} fields; differing: "
        f"{sorted(set(summaries['plain']) - same - {'embedder'}) or 'none'}"
    )
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "1,500 texts timed, all of CLINC150")
    parser.add_argument("--texts", type=int, help="validation texts to time (default 300/1500)")
    parser.add_argument("--repeats", type=int, default=3, help="turns per path (default 3)")
    parser.add_argument("--first-run", action="store_true", help="also time first runs (3.)")
    args = parser.parse_args(argv)
    data, domain_of = load_clinc150()
    n_timed = args.texts or by_size(args, 40, 300, 1500)
    if args.quick:
        args.repeats = 1
    val_texts = list(dict.fromkeys(t for t, _ in data["val"]))
    timed, warmup = val_texts[:n_timed], [t for t, _ in data["oos_val"][:64]]
    cpu, flags = cpu_flags()
    paths = the_three_paths()
    load = os.getloadavg()[0]
    speed = timed_turns(paths, timed, warmup, args.repeats)
    split = breakdown(timed, args.repeats)
    vectors = {name: e.encode(val_texts[:1000]) for name, e in paths.items()}
    diff = {n: vector_distance(vectors[n], vectors["plain"]) for n in PATHS}
    cosine = {n: float((vectors[n] * vectors["plain"]).sum(axis=1).min()) for n in PATHS}
    train = per_label_sample(data["train"], None if args.full else 20)
    val = per_label_sample(data["val"], None if args.full else 6)
    cache = EmbeddingCache()
    accuracy = {
        n: centroid_accuracy(CachedEmbedder(e, cache), train, val, domain_of)
        for n, e in paths.items()
    }
    figures: dict[str, float] = {}
    for n in PATHS:
        figures[f"{n}_per_s"] = speed[n]["median_per_s"]
        figures[f"{n}_best_per_s"] = speed[n]["best_per_s"]
        figures[f"{n}_per_cpu_s"] = speed[n]["per_cpu_s"]
        figures[f"{n}_max_distance"] = diff[n]
        figures[f"{n}_min_cosine"] = cosine[n]
        figures[f"{n}_domain_accuracy"] = accuracy[n][0]
        figures[f"{n}_intent_accuracy"] = accuracy[n][1]
        figures[f"{n}_domain_accuracy_loss_points"] = 100 * (accuracy["plain"][0] - accuracy[n][0])
    figures["default_vs_plain"] = speed["default"]["median_per_s"] / speed["plain"]["median_per_s"]
    figures["default_vs_int8"] = speed["default"]["median_per_s"] / speed["int8"]["median_per_s"]
    print(f"CPU: {cpu}, {available_cores()} cores available; flags: {' '.join(flags) or 'none'}")
    print(
        f"Encoding {len(timed):,} CLINC150 validation texts, uncached, {args.repeats} turns per "
        f"path, load average {load:.1f} -> {os.getloadavg()[0]:.1f}; vectors compared on 1,000 "
        f"validation texts; nearest-centroid accuracy on {len(val):,} validation texts with "
        f"centroids from {len(train):,} train texts"
    )
    header = (
        "path", "texts/s", "best", "vs plain", "per CPU-s", "max L2 dist.", "min cos", "zone acc.",
        "intent acc.",
    )  # fmt: skip
    rows = [
        (
            LABELS[n].format(name=paths[n].name),
            f"{speed[n]['median_per_s']:,.0f}",
            f"{speed[n]['best_per_s']:,.0f}",
            f"{speed[n]['median_per_s'] / speed['plain']['median_per_s']:.2f}×",
            f"{speed[n]['per_cpu_s']:,.0f}",
            f"{diff[n]:.1e}",
            f"{cosine[n]:.6f}",
            f"{accuracy[n][0]:.2%}",
            f"{accuracy[n][1]:.2%}",
        )
        for n in PATHS
    ]
    print_table(header, rows)
    padding = padding_share(timed)
    figures["padding_share_unsorted"], figures["padding_share_sorted"] = (
        padding["unsorted"],
        padding["sorted"],
    )
    print(
        f"Padding: {padding['unsorted']:.0%} of the model's token slots in batches of 64 in "
        f"arrival order, {padding['sorted']:.1%} once sorted by length (what the embedder does)"
    )
    print("\nWhere the default graph's time goes (ms per 1,000 texts; best of the turns):")
    print_table(
        ("setting", "tokenise", "in ONNX Runtime", "batch loop", "normalise", "texts/s"),
        [
            (
                label,
                f"{b['tokenise_ms']:.1f}",
                f"{b['model_ms']:.0f}",
                f"{b['batch_loop_ms']:.0f}",
                f"{b['normalise_ms']:.2f}",
                f"{b['per_s']:,.0f}",
            )
            for label, b in split.items()
        ],
    )
    per_s, loss = speed["default"]["median_per_s"], figures["default_domain_accuracy_loss_points"]
    print(
        f"Targets: ≥ {TARGET_PER_S:,.0f} new texts/s on {available_cores()} cores: "
        f"{'met' if per_s >= TARGET_PER_S else 'NOT met'} ({per_s:,.0f}/s median, "
        f"{speed['default']['best_per_s']:,.0f}/s best; {figures['default_vs_plain']:.2f}× plain, "
        f"{figures['default_vs_int8']:.2f}× the int8 path); zone accuracy within "
        f"{TARGET_LOSS_POINTS:g} points of plain: {'met' if abs(loss) <= TARGET_LOSS_POINTS else 'NOT met'} "
        f"({loss:+.2f}); vectors within {VECTOR_TOLERANCE:g} of plain: "
        f"{'met' if diff['default'] < VECTOR_TOLERANCE else 'NOT met'} ({diff['default']:.1e})"
    )
    if args.first_run:
        from benchmarks.first_run import first_run_figures  # it imports this module's data

        figures.update(first_run_figures(args.full))
        main_job = clinc150_main_job()
        figures.update(main_job)
        print(
            "  CLINC150 main job routing accuracy: "
            + ", ".join(f"{n} {main_job[f'clinc150_{n}_routing_accuracy']:.2%}" for n in PATHS)
        )
    return figures


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
            )
        )


if __name__ == "__main__":
    main()
