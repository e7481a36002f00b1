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

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logsumexp

from .attraction import SoftmaxHead

SHRINKAGE = 0.1  # covariance + 0.1 x its mean eigenvalue x I: 384 dims from ~100 rows per intent
ENERGY_MAHALANOBIS_MIX = 0.5  # weight of the distance in the mix (docs/out_of_scope.md)


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


def knn_similarity(x: np.ndarray, reference: np.ndarray, k: int = 1, chunk: int = 2048):
    """Cosine similarity of each unit-norm row of ``x`` to its ``k``-th nearest row of
    ``reference`` (unit-norm too), in chunks so memory stays ``chunk x len(reference)``."""
    if not 1 <= k <= len(reference):
        raise ValueError(f"k must be in [1, {len(reference)}], got {k}")
    out = np.empty(len(x), dtype=np.float64)
    for s in range(0, len(x), chunk):
        sims = x[s : s + chunk] @ reference.T
        out[s : s + chunk] = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
    return out


def _whitener(cov: np.ndarray, shrinkage: float) -> np.ndarray:
    """``L`` with ``L @ L.T`` the inverse of the shrunk covariance: ``|x @ L|^2`` is the squared
    Mahalanobis length of ``x``."""
    d = cov.shape[0]
    shrunk = cov + shrinkage * np.trace(cov) / d * np.eye(d)
    return np.linalg.cholesky(np.linalg.inv(shrunk))


@dataclass(frozen=True)
class GaussianReference:
    """Class means with a shared covariance, and one background Gaussian over every row."""

    means: np.ndarray  # (classes, d), already whitened
    mean_norms: np.ndarray  # (classes,) squared lengths of the whitened means
    whiten: np.ndarray  # (d, d) for the shared within-class covariance
    background_mean: np.ndarray  # (d,)
    background_whiten: np.ndarray  # (d, d)

    @classmethod
    def fit(
        cls, x: np.ndarray, labels: np.ndarray, shrinkage: float = SHRINKAGE
    ) -> GaussianReference:
        """Means per label and the pooled within-label covariance (shrunk towards a multiple
        of the identity, so 384 dimensions from a hundred rows per label stay invertible)."""
        x = np.asarray(x, dtype=np.float64)
        if len(x) < 2 or not np.isfinite(x).all():
            raise ValueError("a Gaussian reference needs at least 2 finite rows")
        classes, inverse = np.unique(labels, return_inverse=True)
        counts = np.bincount(inverse)
        means = np.zeros((len(classes), x.shape[1]))
        np.add.at(means, inverse, x)
        means /= counts[:, None]
        resid = x - means[inverse]
        whiten = _whitener(resid.T @ resid / len(x), shrinkage)
        bg_mean = x.mean(axis=0)
        centred = x - bg_mean
        bg_whiten = _whitener(centred.T @ centred / len(x), shrinkage)
        wm = means @ whiten
        return cls(wm, (wm**2).sum(axis=1), whiten, bg_mean, bg_whiten)

    def mahalanobis(self, x: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row to its nearest class mean."""
        z = np.asarray(x, dtype=np.float64) @ self.whiten
        d2 = (z**2).sum(axis=1)[:, None] - 2 * z @ self.means.T + self.mean_norms[None, :]
        return d2.min(axis=1)

    def relative_mahalanobis(self, x: np.ndarray) -> np.ndarray:
        """The nearest class's squared distance minus the background Gaussian's."""
        zb = (np.asarray(x, dtype=np.float64) - self.background_mean) @ self.background_whiten
        return self.mahalanobis(x) - (zb**2).sum(axis=1)


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
        """``(n, 2)``: energy of the in-scope logits and minus the relative Mahalanobis."""
        logits = np.asarray(x, dtype=np.float32) @ self.weights + self.bias
        return np.stack(
            [energy(logits, self.in_scope_columns), -self.reference.relative_mahalanobis(x)],
            axis=1,
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
