"""Calibrating a scenario's out-of-scope gate by cross-validation, and checking it on requests
held back from every fit and every threshold choice.

The rows, for a scenario with a learned head, a fallback zone and labelled arrivals
(CLINC150: examples = train + oos_train, arrivals = val + oos_val):

* **held back**: a stratified ``holdout_fraction`` of the arrivals source, each label's rows
  drawn with a seeded RNG (:func:`arena.physics.stratified_holdout`). Nothing below reads them
  until :attr:`Calibration.holdout` is computed with the threshold already fixed;
* **calibration pool**: the arrivals not held back, scored by the scenario's head (trained on
  all examples, none of which they are); with ``examples=True`` also every example scored out
  of fold (``folds``-fold, stratified: each by a head trained on the other folds);
* the **threshold** catches the most out-of-scope requests of the pool while its in-scope zone
  accuracy (flagged in-scope requests count as misrouted, as in the run summary; the zone is
  the argmax of the head's zone attraction) stays ≥ ``goal + margin``, the margin chosen by
  5-fold cross-validation over the pool so that thresholds chosen on four folds keep the
  goal on the fifth (pooled, at 95% confidence: the Wilson interval's lower end).

The examples' out-of-fold scores are kept for comparison (``examples=True``) but not pooled by
default: on CLINC150 the train rows are easier than validation rows, so a threshold fitted
with them flags more in-scope requests than it should on new ones (measured in
``benchmarks/bench_out_of_scope.py``).

Fold heads are cached like the scenario's (``heads/`` under the embedding cache, keyed by their
rows), so a second calibration costs seconds; the first trains ``folds`` heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capabilities import Embedder, default_cache_dir

from ..errors import ScenarioError
from ..model import ArenaModel
from ..physics import (
    GateFigures,
    SoftmaxHead,
    choose_threshold,
    cross_validated_margin,
    gate_figures,
    in_scope_score,
    out_of_fold_proba,
    stratified_holdout,
    train_or_load,
    zone_attraction,
)
from ..scenario import Scenario


@dataclass(frozen=True)
class ScoredRows:
    """Head probabilities of labelled rows and what an argmax router makes of them."""

    proba: np.ndarray  # (n, capabilities)
    routable: np.ndarray  # (n, routable zones) zone attraction
    is_oos: np.ndarray  # (n,) labelled out of scope
    routed_right: np.ndarray  # (n,) in scope and the best routable zone is its zone
    mixed: np.ndarray | None = None  # (n,) the energy_mahalanobis score (arrivals only)

    def score(self, kind: str, fallback_columns: np.ndarray) -> np.ndarray:
        if kind == "energy_mahalanobis":
            if self.mixed is None:  # the examples fitted the mix: no honest score for them
                raise ValueError("energy_mahalanobis is scored on the arrivals only")
            return self.mixed
        return in_scope_score(self.proba, self.routable, fallback_columns, kind)

    def take(self, mask: np.ndarray) -> ScoredRows:
        return ScoredRows(
            self.proba[mask],
            self.routable[mask],
            self.is_oos[mask],
            self.routed_right[mask],
            None if self.mixed is None else self.mixed[mask],
        )


@dataclass(frozen=True)
class Calibration:
    """A threshold chosen on the calibration pool, and what it does on the held-back rows."""

    score: str
    threshold: float
    goal: float  # in-scope zone accuracy to keep
    margin: float  # aimed at goal + margin on the pool (cross-validated unless given)
    cross_validated: GateFigures | None  # the margin's out-of-fold figures on the pool
    pool: GateFigures
    holdout: GateFigures


class OutOfScopeCalibrator:
    """Scores a scenario's rows once (out of fold for the examples) so several scores and
    calibration pools can be compared; :meth:`calibrate` picks a threshold."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        holdout_fraction: float = 0.5,
        folds: int = 5,
        seed: int = 0,
        embedder: Embedder | None = None,
    ) -> None:
        model = ArenaModel(scenario, embedder=embedder)
        if model.head is None or model.fallback_index < 0 or not model.label_is_oos.any():
            raise ScenarioError(
                scenario.file,
                "attraction",
                "calibrating the out-of-scope gate needs attraction.kind 'learned', a fallback "
                "zone and arrivals labelled out of scope (arrivals.out_of_scope_labels)",
            )
        self.model = model
        self.folds, self.seed = folds, seed
        self.fallback_columns = model.zone_caps[model.fallback_index]
        q = model.cap_quality  # a capability's home zone: its best-quality host, as the model's
        zone_of_cap = np.where(q.max(axis=0) > 0, q.argmax(axis=0), -1).astype(np.int64)
        self._zone_of_cap = zone_of_cap
        labels = model.source_labels
        if (labels < 0).any():
            raise ScenarioError(scenario.file, "arrivals.source", "every arrival needs a label")
        self.held = stratified_holdout(labels, holdout_fraction, seed)
        embed = model.registry.embedder.encode
        arrivals_x = embed(list(model.source_texts))
        self.arrivals = self._scored(
            model.head.proba(arrivals_x),
            model.label_is_oos[labels],
            model.label_zone[labels].astype(np.int64),
            (model.out_of_scope_mix or model.energy_mahalanobis_mix())(arrivals_x),
        )
        texts, caps = model.example_rows()
        self.example_texts, self.example_caps = texts, caps
        proba = out_of_fold_proba(
            embed(texts),
            caps,
            len(model.capability_names),
            folds=folds,
            seed=seed,
            fit=self._cached_fit,
        )
        is_oos = np.isin(caps, self.fallback_columns)
        self.examples = self._scored(proba, is_oos, zone_of_cap[caps])

    def _scored(
        self,
        proba: np.ndarray,
        is_oos: np.ndarray,
        true_zone: np.ndarray,
        mixed: np.ndarray | None = None,
    ) -> ScoredRows:
        m = self.model
        zones, _ = zone_attraction(proba, m.zone_caps, m.zone_quality)
        routable = zones[:, m.routable_zones]
        pick = m.routable_zones[routable.argmax(axis=1)]
        return ScoredRows(proba, routable, is_oos, ~is_oos & (pick == true_zone), mixed)

    def _cached_fit(self, mask: np.ndarray) -> SoftmaxHead:
        m = self.model
        emb = m.registry.embedder
        return train_or_load(
            default_cache_dir(),
            emb.name,
            m.capability_names,
            [t for t, keep in zip(self.example_texts, mask, strict=True) if keep],
            self.example_caps[mask],
            emb.encode,
            m.head_settings(),
        )

    def pool(self, *, examples: bool = False) -> ScoredRows:
        """The calibration rows: the arrivals not held back, and (``examples``) every example
        scored out of fold. Never a held-back row."""
        rest = self.arrivals.take(~self.held)
        if not examples:
            return rest
        return ScoredRows(
            *(
                np.concatenate([getattr(self.examples, f), getattr(rest, f)])
                for f in ("proba", "routable", "is_oos", "routed_right")
            )
        )

    def calibrate(
        self,
        score: str = "fallback_class",
        *,
        goal: float = 0.95,
        examples: bool = False,
        margin: float | None = None,
    ) -> Calibration:
        """The threshold for ``score`` from the pool, then its figures on the held-back rows.

        It catches the most out-of-scope requests of the pool at zone accuracy ≥ ``goal +
        margin``; ``margin`` None chooses it by cross-validation over the pool
        (:func:`arena.physics.cross_validated_margin`). ``examples`` adds the out-of-fold
        examples to the pool (measured: CLINC150's train rows are easier than its validation
        rows — 98.9% against 98.3% zone accuracy — so they make the threshold flag too much).
        """
        pool = self.pool(examples=examples)
        s = pool.score(score, self.fallback_columns)
        cv = None
        if margin is None:
            margin, cv = cross_validated_margin(
                s, pool.is_oos, pool.routed_right, goal, folds=self.folds, seed=self.seed
            )
        threshold = choose_threshold(s, pool.is_oos, pool.routed_right, goal + margin)
        held = self.arrivals.take(self.held)
        return Calibration(
            score=score,
            threshold=threshold,
            goal=goal,
            margin=margin,
            cross_validated=cv,
            pool=gate_figures(s, pool.is_oos, pool.routed_right, threshold),
            holdout=gate_figures(
                held.score(score, self.fallback_columns),
                held.is_oos,
                held.routed_right,
                threshold,
            ),
        )
