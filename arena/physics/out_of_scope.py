"""Out-of-scope detection that holds on new requests: scores, a threshold chosen on
out-of-fold scores, and binomial confidence intervals for what it achieves.

Why not a threshold on the best zone's score, fitted on a hundred out-of-scope requests: that
threshold learns those hundred, and on requests it has not seen it catches ~12 points fewer.
Two changes make the gate generalise:

* the score: with a learned head trained on out-of-scope examples (CLINC150's ``oos_train``),
  the head's own probability of the out-of-scope class (``fallback_class``: in-scope
  confidence ``1 - P(out of scope)``) separates far better than the best in-scope probability
  (``best_zone``), because the class has learned what out-of-scope requests look like;
* the threshold: chosen on *out-of-fold* scores — every training example scored by a head that
  did not see it (k-fold), pooled with labelled requests held apart from training — so it is
  fitted on thousands of honest scores rather than on a hundred.

Everything here is NumPy on score arrays; the arena's model applies the threshold and
:mod:`arena.analysis.gate_calibration` runs the calibration for a scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from .attraction import HeadSettings, SoftmaxHead
from .shift_scores import EnergyMahalanobis

OUT_OF_SCOPE_SCORES = ("best_zone", "fallback_class", "energy_mahalanobis")


def in_scope_score(
    proba: np.ndarray,
    zone_scores: np.ndarray,
    fallback_columns: np.ndarray,
    kind: str,
    *,
    embeddings: np.ndarray | None = None,
    mix: EnergyMahalanobis | None = None,
) -> np.ndarray:
    """Per request, how in scope it looks; the gate sends it to the fallback when this is below
    the threshold. ``best_zone``: the best routable zone's score (``zone_scores`` has the
    fallback zone removed). ``fallback_class``: ``1 - P(out of scope)``, the head's probability
    (``proba``) summed over the fallback zone's capabilities (``fallback_columns``).
    ``energy_mahalanobis``: the fitted ``mix`` of the request ``embeddings`` (see
    :mod:`arena.physics.shift_scores`; it holds best when whole new kinds of request arrive)."""
    if kind == "best_zone":
        return zone_scores.max(axis=1)
    if kind == "fallback_class":
        return 1.0 - proba[:, fallback_columns].sum(axis=1)
    if kind == "energy_mahalanobis":
        if mix is None or embeddings is None:
            raise ValueError("the energy_mahalanobis score needs the embeddings and a fitted mix")
        return mix(embeddings)
    raise ValueError(f"unknown out-of-scope score {kind!r}; expected one of {OUT_OF_SCOPE_SCORES}")


@dataclass(frozen=True)
class GateFigures:
    """What a gate at ``threshold`` does to a labelled set of requests."""

    threshold: float
    oos_caught: int  # out-of-scope requests flagged (true positives)
    oos_total: int
    flagged: int  # requests flagged, in scope or not
    in_scope_right: int  # in-scope requests not flagged and routed to their zone
    in_scope_total: int

    @property
    def recall(self) -> float:
        return self.oos_caught / self.oos_total if self.oos_total else float("nan")

    @property
    def precision(self) -> float:
        return self.oos_caught / self.flagged if self.flagged else float("nan")

    @property
    def zone_accuracy(self) -> float:
        return self.in_scope_right / self.in_scope_total if self.in_scope_total else float("nan")

    def intervals(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Wilson score intervals (scipy.stats.binomtest) for recall, precision, zone accuracy."""
        return {
            "recall": binomial_interval(self.oos_caught, self.oos_total, level),
            "precision": binomial_interval(self.oos_caught, self.flagged, level),
            "zone_accuracy": binomial_interval(self.in_scope_right, self.in_scope_total, level),
        }


def gate_figures(
    score: np.ndarray, is_oos: np.ndarray, routed_right: np.ndarray, threshold: float
) -> GateFigures:
    """Figures of the gate ``score < threshold`` (``routed_right``: the zone argmax is the true
    zone; a flagged in-scope request counts as misrouted, as in the run summary)."""
    flag = score < threshold
    inside = ~is_oos
    return GateFigures(
        threshold=float(threshold),
        oos_caught=int((flag & is_oos).sum()),
        oos_total=int(is_oos.sum()),
        flagged=int(flag.sum()),
        in_scope_right=int((routed_right & inside & ~flag).sum()),
        in_scope_total=int(inside.sum()),
    )


def choose_threshold(
    score: np.ndarray, is_oos: np.ndarray, routed_right: np.ndarray, min_zone_accuracy: float
) -> float:
    """The threshold catching the most out-of-scope requests while the in-scope zone accuracy
    (flagged ones counted wrong) stays at least ``min_zone_accuracy``; vectorised over every
    distinct score. Raises ValueError when even flagging nothing misses the accuracy."""
    if not np.isfinite(score).all():
        raise ValueError("out-of-scope scores must be finite")
    order = np.argsort(score, kind="stable")
    s, oos, right = score[order], is_oos[order], routed_right[order] & ~is_oos[order]
    n_in = int((~is_oos).sum())
    # threshold between s[i-1] and s[i] flags the first i requests
    lost = np.concatenate([[0], np.cumsum(right)])  # in-scope right answers given up
    caught = np.concatenate([[0], np.cumsum(oos)])
    accuracy = (right.sum() - lost) / max(n_in, 1)
    cut = np.concatenate([[True], s[1:] > s[:-1], [True]])  # only between distinct scores
    ok = (accuracy >= min_zone_accuracy) & cut
    if not ok.any():
        raise ValueError(
            f"no threshold keeps in-scope zone accuracy >= {min_zone_accuracy} "
            f"(unflagged it is {accuracy[0]:.4f})"
        )
    best = int(np.flatnonzero(ok)[np.argmax(caught[ok])])  # first of the ties: fewest flagged
    if best == 0:
        return float(s[0]) if len(s) else 0.0
    if best == len(s):
        return float(np.nextafter(s[-1], np.inf))
    return float((s[best - 1] + s[best]) / 2)


def accuracy_threshold(
    score: np.ndarray, routed_right: np.ndarray, min_zone_accuracy: float
) -> float:
    """The highest threshold at which in-scope requests (every row here) keep zone accuracy ≥
    ``min_zone_accuracy``, flagged ones counted wrong: whatever the out-of-scope requests are,
    no threshold catches more of them at that accuracy. Chosen without a single out-of-scope
    row, so it can be set when the unknowns to come are unknown. Raises ValueError when even
    flagging nothing misses the accuracy."""
    if len(score) == 0 or not np.isfinite(score).all():
        raise ValueError("out-of-scope scores must be finite and not empty")
    order = np.argsort(score, kind="stable")
    s, right = score[order], routed_right[order]
    accuracy = (right.sum() - np.concatenate([[0], np.cumsum(right)])) / len(s)
    cut = np.concatenate([[True], s[1:] > s[:-1], [True]])  # only between distinct scores
    ok = np.flatnonzero((accuracy >= min_zone_accuracy) & cut)
    if len(ok) == 0:
        raise ValueError(
            f"no threshold keeps in-scope zone accuracy >= {min_zone_accuracy} "
            f"(unflagged it is {accuracy[0]:.4f})"
        )
    best = int(ok[-1])  # flags the first ``best`` rows
    if best == 0:
        return float(s[0])
    if best == len(s):
        return float(np.nextafter(s[-1], np.inf))
    return float((s[best - 1] + s[best]) / 2)


MARGINS = tuple(round(0.0025 * i, 4) for i in range(13))  # 0 to 3 points of zone accuracy


def cross_validated_margin(
    score: np.ndarray,
    is_oos: np.ndarray,
    routed_right: np.ndarray,
    goal: float,
    *,
    folds: int = 5,
    seed: int = 0,
    margins: tuple[float, ...] = MARGINS,
    level: float = 0.95,
    choose: Callable[[np.ndarray, np.ndarray, np.ndarray, float], float] | None = None,
) -> tuple[float, GateFigures]:
    """How far above ``goal`` to aim so the accuracy holds on rows the threshold was not
    chosen on: the smallest margin ``m`` for which thresholds chosen for ``goal + m`` on
    ``folds - 1`` folds keep, pooled over the left-out folds, in-scope zone accuracy ≥
    ``goal`` with confidence ``level`` (the Wilson interval's lower end). Why: a threshold
    placed where the calibration rows just reach the goal overfits their noise, and on new
    rows falls short about half the time. Returns ``m`` and the pooled out-of-fold figures
    (their ``threshold`` is the folds' mean). ``choose(score, is_oos, routed_right, target)``
    picks a threshold (default :func:`choose_threshold`; :func:`accuracy_threshold`'s rule
    for a pool without out-of-scope rows)."""
    choose = choose or choose_threshold
    fold = stratified_folds(is_oos.astype(np.int64), folds, seed)
    for m in margins:
        try:
            ths = [
                choose(score[fold != f], is_oos[fold != f], routed_right[fold != f], goal + m)
                for f in range(folds)
            ]
        except ValueError:
            break
        figs = [
            gate_figures(score[fold == f], is_oos[fold == f], routed_right[fold == f], th)
            for f, th in enumerate(ths)
        ]
        pooled = GateFigures(
            threshold=float(np.mean(ths)),
            **{
                k: sum(getattr(g, k) for g in figs)
                for k in (
                    "oos_caught",
                    "oos_total",
                    "flagged",
                    "in_scope_right",
                    "in_scope_total",
                )
            },
        )
        low, _ = binomial_interval(pooled.in_scope_right, pooled.in_scope_total, level)
        if low >= goal:
            return float(m), pooled
    raise ValueError(
        f"no margin up to {margins[-1]} keeps in-scope zone accuracy >= {goal} out of fold "
        f"(at {level:.0%} confidence)"
    )


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A fold number per row, each label's rows dealt round-robin after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for lab in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == lab))
        fold[rows] = np.arange(len(rows)) % folds
    return fold


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A mask of the rows held out: ``round(fraction * n)`` of each label's rows, seeded."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction!r}")
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for lab in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == lab))
        held[rows[: round(fraction * len(rows))]] = True
    return held


FitHead = Callable[[np.ndarray], SoftmaxHead]


def out_of_fold_proba(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    folds: int = 5,
    seed: int = 0,
    fit: FitHead | None = None,
    settings: HeadSettings = HeadSettings(),
) -> np.ndarray:
    """Each row's class probabilities from a head trained on the other folds (stratified by
    ``y``), so no row is scored by a head that saw it. ``fit(train_mask)`` trains a head on
    the rows of the mask (default :meth:`SoftmaxHead.fit` with ``settings``; pass a caching
    one to reuse heads across runs)."""
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    if fit is None:

        def fit(mask: np.ndarray) -> SoftmaxHead:
            return SoftmaxHead.fit(x[mask], y[mask], n_classes, settings)

    fold = stratified_folds(y, folds, seed)
    out = np.empty((len(y), n_classes), dtype=np.float32)
    for f in range(folds):
        test = fold == f
        out[test] = fit(~test).proba(x[test])
    return out


def zone_attraction(
    cs: np.ndarray, zone_caps: list[np.ndarray], zone_quality: list[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(n, Z)`` each zone's attraction (its best hosted capability's score in ``cs``, an
    ``(n, capabilities)`` matrix of similarities or head probabilities, scaled by the zone's
    quality for it: a negative score is divided by it, so lower quality always attracts less)
    and that capability."""
    n = len(cs)
    sims = np.empty((n, len(zone_caps)), dtype=np.float32)
    best = np.empty((n, len(zone_caps)), dtype=np.int32)
    rows = np.arange(n)
    for z, idx in enumerate(zone_caps):  # one pass per zone, vectorised over requests
        sub = cs[:, idx]
        q = zone_quality[z] if zone_quality is not None else None
        if q is not None and (q < 1).any():
            sub = np.where(sub >= 0, sub * q, sub / q)
        a = sub.argmax(axis=1)
        sims[:, z] = sub[rows, a]
        best[:, z] = idx[a]
    return sims, best


def binomial_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` (NaNs when n is 0)."""
    if n == 0:
        return (float("nan"), float("nan"))
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return (float(ci.low), float(ci.high))
