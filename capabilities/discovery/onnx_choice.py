"""Which ONNX graph the fast embedder runs on this machine: measured once, at build time.

Both graphs of :mod:`capabilities.discovery.onnx_build` are timed here, on this CPU, encoding
the same probe texts through the embedder's own batching; each one's vectors are compared
with the plain sentence-transformers model's. The fastest graph whose vectors stay within
:data:`~capabilities.discovery.onnx_build.VECTOR_TOLERANCE` of the plain model's wins, so the
choice can change the speed from machine to machine but never the vectors (the int8 graph,
~0.3 off and batch-dependent, has not met it on any machine measured; the float32 graph
always does). One line on stderr says which and why; the decision is kept in ``choice.json``
beside the graphs, so it is measured once per cache directory.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from capabilities.discovery.onnx_build import (
    GRAPH_FILES,
    VECTOR_TOLERANCE,
    build_onnx_model,
    graph_dir,
    reference_vectors,
    source_dir,
    vector_distance,
)
from capabilities.errors import EmbeddingError

log = logging.getLogger(__name__)

CHOICE_FILE = "choice.json"
_REQUESTS = (
    "what is my checking account balance",
    "my card was declined at the store, why?",
    "book a table for two at an italian restaurant tonight",
    "how do i say thank you in japanese",
    "set an alarm for six thirty tomorrow morning",
    "tell me a joke",
    "the internet in my apartment keeps dropping every few minutes",
    "how long should i boil an egg",
    "transfer two hundred dollars from savings to checking",
    "what's the weather going to be like in boston this weekend",
    "remind me to call mom at five",
    "is my flight to denver on time",
    "add milk and eggs to my shopping list",
    "what is the exchange rate between dollars and euros",
    "play something relaxing",
    "i lost my credit card, freeze it please",
)
_OPENERS = (
    "",
    "hey, ",
    "could you ",
    "quick question: ",
    "please ",
    "ok so ",
    "um, ",
    "i need to ",
)
PROBE_TEXTS = tuple(o + r for o in _OPENERS for r in _REQUESTS)  # 128 assistant requests
"""Texts of CLINC150-like length (8-20 tokens) for timing and for the tolerance check."""
TIMING_REPEATS = 3


@dataclass(frozen=True)
class GraphChoice:
    """The graph chosen for this machine and the measurements behind the choice."""

    kind: str  # "fp32" or "int8"
    path: str
    per_s: dict[str, float]  # texts/s of each graph, encoding PROBE_TEXTS twice, best of 3
    deviation: dict[str, float]  # largest L2 distance from the plain model's unit vectors
    reason: str


def choose_graph(
    encode_with: Callable[[Path, list[str]], np.ndarray],
    model_dir: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> GraphChoice:
    """The graph this machine uses (measured and recorded the first time; read back after).

    ``encode_with(path, texts)`` encodes through the embedder's own pipeline on one graph.
    """
    src = source_dir(model_dir)
    record = graph_dir(src, out_dir) / CHOICE_FILE
    known = _read(record)
    if known is not None:
        return known
    int8 = build_onnx_model(src, out_dir, quantize=True)  # exports the float32 one on the way
    paths = {"fp32": build_onnx_model(src, out_dir), "int8": int8}
    probe = list(PROBE_TEXTS)
    want = reference_vectors(src, probe)
    deviation, per_s = {}, {}
    for kind, path in paths.items():
        deviation[kind] = vector_distance(encode_with(path, probe), want)
        per_s[kind] = _texts_per_second(encode_with, path, probe * 2)
    fits = [k for k in paths if deviation[k] <= VECTOR_TOLERANCE]
    if "fp32" not in fits:
        raise EmbeddingError(
            f"the float32 graph {paths['fp32']} gives vectors {deviation['fp32']:.2g} (L2) "
            f"from the plain model's (tolerance {VECTOR_TOLERANCE:g}): a broken "
            "export; delete that directory to rebuild it"
        )
    kind = max(fits, key=per_s.__getitem__)
    other = "int8" if kind == "fp32" else "fp32"
    if other in fits:
        why = f"both within tolerance {VECTOR_TOLERANCE:g} of the plain model; the faster"
    else:
        why = (
            f"{other}'s vectors are up to {deviation[other]:.2g} (L2) from the plain "
            f"model's, over the tolerance {VECTOR_TOLERANCE:g} (they would differ by CPU and "
            "batch)"
        )
    reason = (
        f"{kind} graph, {per_s[kind]:,.0f} texts/s here against {per_s[other]:,.0f}/s for "
        f"{other}: {why}"
    )
    log.info("packetflow: fast embedder uses the %s", reason)
    choice = GraphChoice(kind, str(paths[kind]), per_s, deviation, reason)
    tmp = record.with_name(f"{record.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(asdict(choice), indent=1) + "\n")
    os.replace(tmp, record)
    return choice


def _texts_per_second(
    encode_with: Callable[[Path, list[str]], np.ndarray], path: Path, texts: list[str]
) -> float:
    encode_with(path, texts[:64])  # session creation and first-run allocations, not timed
    best = float("inf")
    for _ in range(TIMING_REPEATS):  # best of a few: neighbours on a shared CPU only slow runs
        start = time.perf_counter()
        encode_with(path, texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def _read(record: Path) -> GraphChoice | None:
    """The recorded choice, or None when there is none (or it no longer matches its graph)."""
    try:
        choice = GraphChoice(**json.loads(record.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if choice.kind not in GRAPH_FILES:
        return None
    path = record.parent / GRAPH_FILES[choice.kind]  # where it is now, if the cache moved
    return replace(choice, path=str(path)) if path.exists() else None
