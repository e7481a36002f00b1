"""The default embedder's vectors are the plain model's to within VECTOR_TOLERANCE on CLINC150,
and no vectors within that tolerance change a zone decision of the main job's attraction.

Two checks over every CLINC150 validation text (3,000 in scope + 100 out of scope):

* measured: the default path's vectors and the plain model's give the same top zone under a
  learned softmax head (the main job's attraction; trained on each path's own vectors of the
  train split) and under cosine attraction to intent centroids;
* proved, for any vectors within the tolerance (another CPU's, another batch's): a vector that
  moves by at most ``r`` (L2) changes the lead of class ``j`` over class ``k`` by at most
  ``r * |w_j - w_k|``. For every validation text and every class ``k`` of another zone, some
  class of its top zone leads ``k`` by more than that, so its top zone cannot change. (Intent
  near-ties inside one zone may flip; they route to the same zone.)

The plain model's vectors come from the persistent embedding cache (encoded once); the
default path's are encoded here, uncached.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from arena.physics.attraction import SoftmaxHead
from capabilities import CachedEmbedder, EmbeddingCache, SentenceTransformerEmbedder
from capabilities.discovery import VECTOR_TOLERANCE, OnnxMiniLMEmbedder, vector_distance

pytestmark = pytest.mark.slow  # ~6,000 texts through the default path (~10-30 s)
TRAIN_PER_INTENT = 20  # the head's examples: 20 per intent (the main job uses all 100)


def unstable_rows(
    scores: np.ndarray, directions: np.ndarray, zones: np.ndarray, radius: float
) -> np.ndarray:
    """Rows whose top zone (the zone of the argmax of ``scores`` (n, C)) could change when each
    row's vector moves by at most ``radius`` (L2), class ``k``'s score being
    ``vector @ directions[:, k]`` (+ a bias). The zone is kept if, for every class ``k`` of
    another zone, some class ``j`` of the top zone leads ``k`` by more than the move can
    shrink that lead: ``radius * |directions[:, j] - directions[:, k]|``."""
    top_zone = zones[scores.argmax(axis=1)]
    gaps = np.linalg.norm(directions[:, :, None] - directions[:, None, :], axis=0)  # (C, C)
    unstable = []
    for zone in np.unique(top_zone):  # one pass per zone, vectorised over its rows
        rows = np.flatnonzero(top_zone == zone)
        inside, outside = np.flatnonzero(zones == zone), np.flatnonzero(zones != zone)
        lead = scores[rows][:, inside, None] - scores[rows][:, None, outside]  # (r, |in|, |out|)
        kept = (lead > radius * gaps[np.ix_(inside, outside)]).any(axis=1).all(axis=1)
        unstable.extend(rows[~kept].tolist())
    return np.array(sorted(unstable), dtype=np.int64)


@pytest.fixture(scope="module")
def vectors(clinc150):
    seen: dict[str, int] = {}
    train = []
    for text, intent in clinc150["train"] + clinc150["oos_train"]:
        if seen.get(intent, 0) < TRAIN_PER_INTENT:
            seen[intent] = seen.get(intent, 0) + 1
            train.append((text, intent))
    val = clinc150["val"] + clinc150["oos_val"]
    texts = [t for t, _ in train + val]
    plain = CachedEmbedder(SentenceTransformerEmbedder(), EmbeddingCache()).encode(texts)
    fast = OnnxMiniLMEmbedder().encode(texts)
    intents = sorted({i for _, i in train})
    zone_of = {i: d for d, names in clinc150["domains"].items() for i in names}
    zone_of["oos"] = "out_of_scope"
    y = np.array([intents.index(i) for _, i in train])
    zones = np.array([zone_of[i] for i in intents])
    return {"plain": plain, "fast": fast, "n_train": len(train), "y": y, "zones": zones}


def test_the_default_paths_vectors_are_within_the_tolerance_on_clinc150(vectors):
    distance = vector_distance(vectors["fast"], vectors["plain"])
    assert distance < VECTOR_TOLERANCE, distance


def test_no_zone_decision_changes_under_the_learned_head(vectors):
    n, y, zones = vectors["n_train"], vectors["y"], vectors["zones"]
    heads = {p: SoftmaxHead.fit(vectors[p][:n], y, len(zones)) for p in ("plain", "fast")}
    top = {p: heads[p].proba(vectors[p][n:]).argmax(axis=1) for p in heads}
    np.testing.assert_array_equal(zones[top["fast"]], zones[top["plain"]])
    # any vectors within the tolerance keep every validation text's top intent (and zone)
    head = heads["plain"]
    logits = vectors["plain"][n:] @ head.weights + head.bias
    radius = VECTOR_TOLERANCE
    assert unstable_rows(logits, head.weights, zones, radius).size == 0


def test_no_zone_decision_changes_under_cosine_attraction(vectors):
    n, y, zones = vectors["n_train"], vectors["y"], vectors["zones"]
    top = {}
    for p in ("plain", "fast"):
        centroids = np.zeros((len(zones), vectors[p].shape[1]))
        np.add.at(centroids, y, vectors[p][:n])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        top[p] = (vectors[p][n:] @ centroids.T).argmax(axis=1)
        if p == "plain":
            radius = VECTOR_TOLERANCE
            scores = vectors[p][n:] @ centroids.T
            assert unstable_rows(scores, centroids.T, zones, radius).size == 0
    np.testing.assert_array_equal(zones[top["fast"]], zones[top["plain"]])


def test_the_certificate_would_catch_a_near_tie():
    """A row whose lead is below what a tolerance-sized move can change is reported."""
    directions, zones = np.eye(3), np.array(["a", "b", "b"])
    scores = np.array([[0.5, 0.5 - 1e-6, 0.0], [0.9, 0.1, 0.0], [0.0, 0.5, 0.5 - 1e-6]])
    # row 0: a near tie across zones; row 2: a near tie inside zone b, which keeps its zone
    assert unstable_rows(scores, directions, zones, 1e-5).tolist() == [0]
