"""Core engine benchmark: what ``Engine.run`` costs over a plain call, and embedding throughput.

Two questions, each answered against a baseline measured in the same run:

1. Engine overhead. A trivial capability with one ``audit_log`` and one ``metric`` effect, run
   through ``Engine.run`` (contract checks, span, audit row, counter, Result), against calling the
   same function directly. Target: overhead <= 20 µs per call.
2. Audit log modes. The same call with an ``audit_log`` effect into an SQLite *file*, in each
   mode — ``batched`` (group commit every 5 ms) and ``durable`` (a WAL fsync per call) —
   against the same capability without the audit effect, all in the same run.
3. Embeddings. The real all-MiniLM-L6-v2 encoding texts it has never seen (cold), against
   looking the same texts up in the cache (in memory, and after reopening the SQLite cache).
   Target: cached lookups >= 100k per second.

Run: ``python -m benchmarks.bench_engine`` (seconds) or ``--full`` (the figures to report).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.timing import add_size_options, best_per_call, by_size
from capabilities import (
    CachedEmbedder,
    Context,
    EmbeddingCache,
    Engine,
    Registry,
    SentenceTransformerEmbedder,
    audit_log,
    metric,
)

CLINC150 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clinc150"
ENGINE_TARGET_US = 20.0
LOOKUP_TARGET_PER_S = 100_000


def add_one(x: int) -> int:
    """Add one to a number (the trivial capability the engine's overhead is measured on)."""
    return x + 1


def bench_engine_overhead(calls: int, repeats: int) -> dict[str, float]:
    registry = Registry()
    registry.capability(provides=["y"], effects=[audit_log(), metric("calls")])(add_one)
    engine = Engine(
        registry
    )  # in-memory audit store: the cost measured is the engine's, not the disk's
    ctx = Context(principal="bench")

    def plain(n: int) -> None:
        f = add_one
        for i in range(n):
            f(x=i)

    def engine_run(n: int) -> None:
        run = engine.run
        for i in range(n):
            run("add_one", {"x": i})

    def engine_run_with_context(n: int) -> None:
        run = engine.run
        for i in range(n):
            run("add_one", {"x": i}, ctx)

    engine_run(1000)  # warm up
    plain_s = best_per_call(plain, calls, repeats)
    run_s = best_per_call(engine_run, calls, repeats)
    ctx_s = best_per_call(engine_run_with_context, calls, repeats)
    rows = engine.audit.rows()
    engine.close()
    assert all(r["status"] == "ok" for r in rows[-10:]), "the benchmarked runs must succeed"
    return {
        "plain_call_us": plain_s * 1e6,
        "engine_run_us": run_s * 1e6,
        "engine_run_with_context_us": ctx_s * 1e6,
        "engine_overhead_us": (run_s - plain_s) * 1e6,
        "engine_overhead_ratio": run_s / plain_s,
        "audit_rows": len(rows),
    }


def bench_audit_modes(calls: int, durable_calls: int, repeats: int) -> dict[str, float]:
    """Engine.run per call without an audit effect, and with one into a file in each mode."""
    registry = Registry()
    registry.capability(name="plain", provides=["y"])(add_one)
    registry.capability(name="audited", provides=["y"], effects=[audit_log()])(add_one)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # the baseline has a file store too, so both sides pay the same output check
        with Engine(registry, store=Path(tmp) / "none.sqlite") as engine:
            figures["no_audit_us"] = 1e6 * best_per_call(_runner(engine, "plain"), calls, repeats)
        # an fsync per call takes milliseconds: fewer calls and repeats keep the run short
        for mode, n, times in (
            ("batched", calls, repeats),
            ("durable", durable_calls, min(repeats, 3)),
        ):
            path = Path(tmp) / f"{mode}.sqlite"
            with Engine(registry, store=path, audit_mode=mode) as engine:
                run = _runner(engine, "audited")
                run(100)  # warm up (creates the table, starts the flusher)
                figures[f"{mode}_us"] = 1e6 * best_per_call(run, n, times)
                rows = len(engine.audit.rows())
            assert rows == 100 + n * times, f"{mode}: every benchmarked call must be audited"
            figures[f"{mode}_vs_no_audit"] = figures[f"{mode}_us"] / figures["no_audit_us"]
    return figures


def _runner(engine: Engine, name: str) -> Callable[[int], None]:
    def run(n: int) -> None:
        call = engine.run
        for i in range(n):
            call(name, {"x": i})

    return run


def fresh_sentences(n: int, seed: int) -> list[str]:
    """``n`` real requests (CLINC150 train texts) made unique with a random suffix, so no cache
    can have seen them."""
    rows = json.loads((CLINC150 / "data_train_val.json").read_text())["train"]
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    return [f"{rng.choice(rows)[0]} (ref {tag}-{i})" for i in range(n)]


def bench_embeddings(cold_texts: int, lookups: int, seed: int) -> dict[str, float]:
    texts = fresh_sentences(cold_texts, seed)
    model = SentenceTransformerEmbedder()
    start = time.perf_counter()
    model.encode(["warm up the model"])  # loads it once per process
    load_s = time.perf_counter() - start
    model.encode(fresh_sentences(32, seed + 1))  # first batches pay one-off kernel set-up
    with tempfile.TemporaryDirectory() as tmp:
        embedder = CachedEmbedder(model, EmbeddingCache(tmp))
        start = time.perf_counter()
        embedder.encode(texts)
        cold_s = time.perf_counter() - start
        assert embedder.encoded_count == len(texts)

        # cached: the same texts again, as one big batch and as one call per text
        batch = [texts[i % len(texts)] for i in range(lookups)]
        batch_s = min(_timed(lambda: embedder.encode(batch)) for _ in range(3))
        single_calls = min(lookups, 20_000)
        encode = embedder.encode

        def one_by_one() -> None:
            for i in range(single_calls):
                encode([batch[i]])

        single_s = min(_timed(one_by_one) for _ in range(3))
        assert embedder.encoded_count == len(texts), "cached lookups must not encode again"
        embedder.cache.close()

        # a new process would start here: reopen the SQLite cache, nothing is encoded again
        reopened = CachedEmbedder(model, EmbeddingCache(tmp))
        start = time.perf_counter()
        reopened.encode(texts)
        reopen_s = time.perf_counter() - start
        assert reopened.encoded_count == 0
        reopened.cache.close()
    return {
        "model_load_s": load_s,
        "cold_texts": len(texts),
        "cold_texts_per_s": len(texts) / cold_s,
        "cached_batch_lookups_per_s": lookups / batch_s,
        "cached_single_lookups_per_s": single_calls / single_s,
        "reopened_cache_texts_per_s": len(texts) / reopen_s,
        "cached_vs_cold_speedup": (lookups / batch_s) / (len(texts) / cold_s),
    }


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, "the real sizes (about a minute)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--audit-only", action="store_true", help="only the audit-mode figures")
    args = parser.parse_args(argv)
    calls, repeats, cold, lookups = by_size(
        args, (2_000, 1, 20, 10_000), (20_000, 3, 100, 100_000), (200_000, 7, 1000, 1_000_000)
    )
    durable_calls = max(200, calls // 200)
    figures = bench_audit_modes(calls, durable_calls, repeats)
    if args.audit_only:
        _print_audit(figures)
        return figures
    figures |= bench_engine_overhead(calls, repeats) | bench_embeddings(cold, lookups, args.seed)
    figures["engine_overhead_target_met"] = figures["engine_overhead_us"] <= ENGINE_TARGET_US
    figures["cached_lookup_target_met"] = (
        figures["cached_batch_lookups_per_s"] >= LOOKUP_TARGET_PER_S
    )
    _print_table(figures, calls, cold, lookups)
    _print_audit(figures)
    return figures


def _print_audit(f: dict[str, Any]) -> None:
    print("audit log into an SQLite file, Engine.run per call (same run):")
    print(f"  {'no audit effect':<28}  {f['no_audit_us']:>8.2f} µs/call  baseline")
    for mode, what in (("batched", "group commit, 5 ms"), ("durable", "commit + fsync per call")):
        print(
            f"  {mode + ' (' + what + ')':<28}  {f[mode + '_us']:>8.2f} µs/call  "
            f"{f[mode + '_vs_no_audit']:.2f}x no audit"
        )


def _print_table(f: dict[str, Any], calls: int, cold: int, lookups: int) -> None:
    ok = {True: "met", False: "MISSED"}
    rows = [
        ("plain function call", f"{f['plain_call_us']:.2f} µs/call", "baseline"),
        (
            "Engine.run (audit_log + metric)",
            f"{f['engine_run_us']:.2f} µs/call",
            f"{f['engine_overhead_ratio']:.0f}x plain",
        ),
        ("Engine.run with a Context", f"{f['engine_run_with_context_us']:.2f} µs/call", ""),
        (
            "engine overhead",
            f"{f['engine_overhead_us']:.2f} µs/call",
            f"target <= {ENGINE_TARGET_US:.0f} µs: {ok[f['engine_overhead_target_met']]}",
        ),
        ("model load (once per process)", f"{f['model_load_s']:.2f} s", ""),
        (f"cold encode ({cold} new texts)", f"{f['cold_texts_per_s']:,.0f} texts/s", "baseline"),
        (
            f"cached lookups (batch of {lookups:,})",
            f"{f['cached_batch_lookups_per_s']:,.0f} /s",
            f"{f['cached_vs_cold_speedup']:,.0f}x cold; target >= 100k/s: "
            f"{ok[f['cached_lookup_target_met']]}",
        ),
        ("cached lookups (one text per call)", f"{f['cached_single_lookups_per_s']:,.0f} /s", ""),
        (
            "reopened SQLite cache (new process)",
            f"{f['reopened_cache_texts_per_s']:,.0f} texts/s",
            "nothing re-encoded",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"bench_engine: {calls:,} engine calls per timing, best of several runs")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>22}  {note}")


if __name__ == "__main__":
    main()
