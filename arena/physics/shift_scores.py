"""In-scope scores meant to hold when requests of a *new kind* arrive, not only new rows of
familiar kinds: an energy score from the learned head's logits, Mahalanobis distances in
embedding space, a nearest-neighbour similarity, a margin, and the ``energy_mahalanobis`` mix
the arena ships.

Why more than the head's probabilities: a head trained on nine domains puts a request of the
tenth on the nearest familiar intent with a confident probability (a credit-card question
looks like a banking one), so ``best_zone`` and ``fallback_class`` miss such requests most of
the time. Two signals survive better under leave-one-domain-out
(:mod:`arena.analysis.out_of_scope_shift`):

* **energy**, ``logsumexp`` of the in-scope logits: it keeps the logits' magnitude, which
  softmax normalises away, so "close to no intent" stays distinguishable from "close to one";
* **relative Mahalanobis distance** (Ren et al. 2021): the distance to the nearest intent's
  mean (shared covariance) *minus* the distance to one Gaussian over all in-scope examples. The
  plain distance mostly measures how typical a sentence is in general; the difference asks
  whether it is closer to a known intent than to generic text.

The mix standardises each on the head's own training rows and adds them with weight ``mix``
(chosen under leave-one-domain-out, never on the evaluation domain). Everything is NumPy and
vectorised; the arena scores each source text once, when the model is built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from scipy.special import expit, logsumexp

from .attraction import SoftmaxHead

SHRINKAGE = 0.1  # covariance + 0.1 x its mean eigenvalue x I: 384 dims from ~100 rows per intent
# weight of the distance in the mix: the one whose worst leave-one-domain-out fold catches most
# on CLINC150 (benchmarks/bench_out_of_scope_shift.py, docs/out_of_scope.md)
ENERGY_MAHALANOBIS_MIX = 0.5
MIX_FORMAT = 1  # bump when the fitted mix's fields change: old cache files are then ignored


def energy(logits: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``logsumexp`` of each row's logits over ``columns`` (the in-scope classes): higher means
    the head is drawn to some in-scope class more strongly."""
    return logsumexp(np.asarray(logits, dtype=np.float64)[:, columns], axis=1)


def zone_margin(zone_scores: np.ndarray) -> np.ndarray:
    """The best routable zone's score minus the second best's (0 with one zone)."""
    if zone_scores.shape[1] < 2:
        return np.zeros(len(zone_scores))
    top = np.partition(zone_scores, -2, axis=1)
    return top[:, -1] - top[:, -2]


def knn_similarity(
    x: np.ndarray, reference: np.ndarray, k: int = 1, chunk: int = 2048
) -> np.ndarray:
    """Cosine similarity of each unit-norm row of ``x`` to its ``k``-th nearest row of
    ``reference`` (unit-norm too), in chunks so memory stays ``chunk x len(reference)``."""
    if not 1 <= k <= len(reference):
        raise ValueError(f"k must be in [1, {len(reference)}], got {k}")
    out = np.empty(len(x), dtype=np.float64)
    for s in range(0, len(x), chunk):
        sims = x[s : s + chunk] @ reference.T
        out[s : s + chunk] = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
    return out


def _precision(cov: np.ndarray, shrinkage: float) -> np.ndarray:
    """The inverse of the covariance shrunk towards a multiple of the identity."""
    d = cov.shape[0]
    return np.linalg.inv(cov + shrinkage * np.trace(cov) / d * np.eye(d))


def _quadratic(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x_i^T M x_i`` per row."""
    return np.einsum("ij,ij->i", x @ matrix, x)


@dataclass(frozen=True)
class GaussianReference:
    """Class means with a shared covariance, and one background Gaussian over every row, kept
    as the quadratic and linear forms the distances expand into, so scoring a request is two
    float32 matrix products (``mahalanobis``: ``x'Px - max_c(2x'Pm_c - m_c'Pm_c)``)."""

    project: np.ndarray  # (d, classes): 2 P m_c
    mean_norms: np.ndarray  # (classes,): m_c' P m_c
    precision: np.ndarray  # (d, d): P, of the shared within-class covariance
    relative: np.ndarray  # (d, d): P - P_background
    background_linear: np.ndarray  # (d,): 2 P_background mu
    background_const: float  # mu' P_background mu

    @classmethod
    def fit(
        cls, x: np.ndarray, labels: np.ndarray, shrinkage: float = SHRINKAGE
    ) -> GaussianReference:
        """Means per label and the pooled within-label covariance (shrunk towards a multiple
        of the identity, so 384 dimensions from a hundred rows per label stay invertible)."""
        x = np.asarray(x, dtype=np.float64)
        if len(x) < 2 or not np.isfinite(x).all():
            raise ValueError("a Gaussian reference needs at least 2 finite rows")
        _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        order = np.argsort(inverse, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        means = np.add.reduceat(x[order], starts, axis=0) / counts[:, None]
        resid = x - means[inverse]
        p = _precision(resid.T @ resid / len(x), shrinkage)
        mu = x.mean(axis=0)
        centred = x - mu
        pb = _precision(centred.T @ centred / len(x), shrinkage)
        f32 = np.float32
        return cls(
            (2 * p @ means.T).astype(f32),
            np.einsum("cd,cd->c", means @ p, means).astype(f32),
            p.astype(f32),
            (p - pb).astype(f32),
            (2 * pb @ mu).astype(f32),
            float(mu @ pb @ mu),
        )

    def _nearest(self, x: np.ndarray) -> np.ndarray:
        return (self.mean_norms[None, :] - x @ self.project).min(axis=1)

    def mahalanobis(self, x: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row to its nearest class mean."""
        x = np.asarray(x, dtype=np.float32)
        return (self._nearest(x) + _quadratic(x, self.precision)).astype(np.float64)

    def relative_mahalanobis(self, x: np.ndarray) -> np.ndarray:
        """The nearest class's squared distance minus the background Gaussian's."""
        x = np.asarray(x, dtype=np.float32)
        return self.relative_from(x, x @ self.columns())

    def columns(self) -> np.ndarray:
        """``(d, classes + d + 1)``: every product :meth:`relative_from` needs, in one matrix,
        so a caller can fuse them with its own into one matrix product."""
        return np.concatenate(
            [self.project, self.relative, self.background_linear[:, None]], axis=1
        )

    def relative_from(self, x: np.ndarray, products: np.ndarray) -> np.ndarray:
        """:meth:`relative_mahalanobis` of ``x`` from ``products = x @ columns()``."""
        c, d = self.project.shape[1], self.relative.shape[0]
        nearest = (self.mean_norms[None, :] - products[:, :c]).min(axis=1)
        quad = np.einsum("ij,ij->i", products[:, c : c + d], x)
        rel = nearest + quad + products[:, c + d]
        return rel.astype(np.float64) - self.background_const


@dataclass(frozen=True)
class EnergyMahalanobis:
    """The shipped mix: ``mix * z(-relative Mahalanobis) + (1 - mix) * z(energy)``, higher is
    more in scope (the gate reads it through the logistic function), each term standardised by its mean and spread on the rows it was fitted on
    (the head's in-scope training examples), so ``mix`` weighs comparable numbers."""

    reference: GaussianReference
    weights: np.ndarray  # the head's (d, classes)
    bias: np.ndarray  # (classes,)
    in_scope_columns: np.ndarray  # the head's classes that are in scope
    center: np.ndarray  # (2,) mean of [energy, -relative Mahalanobis] on the fit rows
    scale: np.ndarray  # (2,) their standard deviations
    mix: float
    fused: np.ndarray = field(init=False, repr=False, compare=False)  # see features()

    def __post_init__(self) -> None:
        cols = np.asarray(self.in_scope_columns)
        fused = np.concatenate([self.weights[:, cols], self.reference.columns()], axis=1)
        object.__setattr__(self, "fused", np.ascontiguousarray(fused, dtype=np.float32))

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        labels: np.ndarray,
        head: SoftmaxHead,
        in_scope_columns: np.ndarray,
        mix: float = ENERGY_MAHALANOBIS_MIX,
        shrinkage: float = SHRINKAGE,
    ) -> EnergyMahalanobis:
        """From the in-scope training rows ``x`` (labelled with the head's classes) and the
        head trained on them."""
        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"mix must be in [0, 1], got {mix!r}")
        unfitted = cls(
            GaussianReference.fit(x, labels, shrinkage),
            head.weights,
            head.bias,
            np.asarray(in_scope_columns),
            np.zeros(2),
            np.ones(2),
            mix,
        )
        f = unfitted.features(x)
        spread = f.std(axis=0)
        return cls(
            unfitted.reference,
            head.weights,
            head.bias,
            unfitted.in_scope_columns,
            f.mean(axis=0),
            np.where(spread > 0, spread, 1.0),
            mix,
        )

    def features(self, x: np.ndarray) -> np.ndarray:
        """``(n, 2)``: energy of the in-scope logits and minus the relative Mahalanobis, from
        one fused float32 matrix product (the gate's whole per-text cost)."""
        x = np.asarray(x, dtype=np.float32)
        cols = self.in_scope_columns
        k = len(cols)
        y = x @ self.fused
        logits = y[:, :k] + self.bias[cols]
        return np.stack(
            [energy(logits, np.arange(k)), -self.reference.relative_from(x, y[:, k:])], axis=1
        )

    def combine(self, features: np.ndarray, mix: float | None = None) -> np.ndarray:
        """The mix of already computed :meth:`features` (``mix`` None: the fitted one)."""
        m = self.mix if mix is None else mix
        z = (features - self.center) / self.scale
        return m * z[:, 1] + (1 - m) * z[:, 0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The gate's score: :meth:`combine` squashed into (0, 1) by the logistic function, a
        monotone map (no ranking changes) that keeps ``physics.out_of_scope_threshold`` in
        the range the other scores use."""
        return expit(self.combine(self.features(x)))

    def save(self, path: Path) -> None:
        """Atomically, as the head (a temporary file renamed into place)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        ref = {f"ref_{f.name}": getattr(self.reference, f.name) for f in fields(self.reference)}
        np.savez(
            tmp,
            weights=self.weights,
            bias=self.bias,
            in_scope_columns=self.in_scope_columns,
            center=self.center,
            scale=self.scale,
            mix=self.mix,
            **ref,
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> EnergyMahalanobis:
        with np.load(path) as d:
            ref = GaussianReference(
                project=d["ref_project"],
                mean_norms=d["ref_mean_norms"],
                precision=d["ref_precision"],
                relative=d["ref_relative"],
                background_linear=d["ref_background_linear"],
                background_const=float(d["ref_background_const"]),
            )
            return cls(
                ref,
                d["weights"],
                d["bias"],
                d["in_scope_columns"],
                d["center"],
                d["scale"],
                float(d["mix"]),
            )


def mix_or_fit(
    cache_dir: Path,
    head: SoftmaxHead,
    in_scope_columns: np.ndarray,
    rows: Callable[[], tuple[np.ndarray, np.ndarray]],
    mix: float = ENERGY_MAHALANOBIS_MIX,
    shrinkage: float = SHRINKAGE,
) -> EnergyMahalanobis:
    """The mix for this head, from the cache (``heads/mix-*.npz`` beside the heads), or fitted
    now on ``rows()`` (the in-scope training embeddings and their classes) and cached. Why a
    cache: fitting reads 15,000 embeddings and inverts two covariances, seconds on a busy
    machine, against a main job of under two; the key is the head's weights (a function of
    the same examples), the in-scope classes and the settings."""
    h = hashlib.sha256(f"{MIX_FORMAT}|{mix}|{shrinkage}|".encode())
    for a in (head.weights, head.bias, np.asarray(in_scope_columns, dtype=np.int64)):
        h.update(np.ascontiguousarray(a).tobytes())
    path = cache_dir / "heads" / f"mix-{h.hexdigest()[:32]}.npz"
    if path.exists():
        return EnergyMahalanobis.load(path)
    x, labels = rows()
    fitted = EnergyMahalanobis.fit(x, labels, head, in_scope_columns, mix, shrinkage)
    fitted.save(path)
    return fitted
