"""Leave-one-zone-out: how the out-of-scope gate does on a *kind* of request it never saw.

Calibrating on a held-back half of ``oos_val`` measures new rows of familiar kinds; a deployed
router meets new kinds. Here each routable zone (a CLINC150 domain) in turn is removed from
everything that is fitted or chosen, and its requests play the unknowns:

* **fit**: the examples (train + oos_train) of the other zones train a head
  (``fit_head``), and the same rows fit the distance scores (class means, covariances,
  nearest-neighbour reference) and standardise the mix;
* **calibration**: half of the other zones' in-scope arrivals (validation), stratified by label
  (:func:`arena.physics.stratified_holdout`, seeded). The threshold is the highest keeping
  their zone accuracy ≥ the goal + a cross-validated margin (:func:`calibrated_threshold`):
  it needs no out-of-scope row at all;
* **nested choices** (the mix's weight, the shift threshold): an *inner* fold removes the
  evaluation zone and ``inner`` more zones; their requests are the pseudo-unknowns the weight
  and the operating point are chosen on. The evaluation zone takes part in neither fold's fit;
* **evaluation**: the removed zone's examples and arrivals (recall), the arrivals labelled out
  of scope (``oos_val``: recall; never fitted on), and the other half of the in-scope arrivals
  (zone accuracy, flagged ones counted wrong), each with a Wilson interval.

Plain arrays (:class:`ShiftData`), so tests can use synthetic embeddings;
:func:`scenario_shift_data` and :func:`cached_head_fitter` serve a built scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from capabilities import default_cache_dir

from ..physics import (
    EnergyMahalanobis,
    GateFigures,
    HeadSettings,
    SoftmaxHead,
    accuracy_threshold,
    cross_validated_margin,
    gate_figures,
    knn_similarity,
    stratified_holdout,
    train_or_load,
    zone_attraction,
    zone_margin,
)

if TYPE_CHECKING:
    from ..model import ArenaModel

SHIFT_SCORES = (
    "best_zone",
    "fallback_class",
    "margin",
    "energy",
    "mahalanobis",
    "relative_mahalanobis",
    "knn",
    "energy_mahalanobis",  # the mix at its default weight
    "energy_mahalanobis_nested",  # the mix, its weight chosen on the inner fold
)
MIXES = tuple(round(0.1 * i, 1) for i in range(11))
# margins above the goal the cross-validation tries, to 10 points: a few hundred calibration
# rows (a small scenario) need more than the shipped gate's 3 (CLINC150 needs about 1)
SHIFT_MARGINS = tuple(round(0.0025 * i, 4) for i in range(41))
# fit_head(example mask, the capability indices that are the head's classes) -> a head
FitHead = Callable[[np.ndarray, np.ndarray], SoftmaxHead]


@dataclass(frozen=True)
class ShiftData:
    """Labelled rows. Capabilities are numbered; ``zone_of_cap`` gives each one's routable
    zone (``-1``: a fallback capability, i.e. an out-of-scope example such as oos_train)."""

    example_x: np.ndarray  # (n_e, d) unit-norm embeddings of the examples
    example_cap: np.ndarray  # (n_e,) capability per example
    arrival_x: np.ndarray  # (n_a, d)
    arrival_cap: np.ndarray  # (n_a,) capability, -1 for an arrival labelled out of scope
    arrival_label: np.ndarray  # (n_a,) label ids, for the stratified calibration half
    zone_of_cap: np.ndarray  # (capabilities,)
    zone_names: Sequence[str]

    def arrival_zone(self) -> np.ndarray:
        return np.where(self.arrival_cap >= 0, self.zone_of_cap[self.arrival_cap], -1)


@dataclass
class Fold:
    """Every score of the rows one fold evaluates, by a head and references fitted without
    the ``excluded`` zones. Rows: the arrivals, then the excluded zones' examples."""

    excluded: tuple[int, ...]
    head: SoftmaxHead
    mix: EnergyMahalanobis
    zone: np.ndarray  # true routable zone per row, -1 labelled out of scope
    calibration: np.ndarray  # in-scope arrivals of kept zones that choose thresholds
    test: np.ndarray  # in-scope arrivals of kept zones that judge zone accuracy
    oos: np.ndarray  # arrivals labelled out of scope (never fitted on)
    routed_right: np.ndarray
    features: np.ndarray  # the mix's (n, 2) features
    scores: dict[str, np.ndarray] = field(default_factory=dict)

    def unknown(self, zone: int) -> np.ndarray:
        return self.zone == zone


def score_fold(
    data: ShiftData,
    excluded: Sequence[int],
    fit_head: FitHead,
    *,
    calibration_fraction: float = 0.5,
    seed: int = 0,
) -> Fold:
    """Fit on everything but the ``excluded`` zones and score the rows a fold judges."""
    excluded = tuple(sorted({int(z) for z in excluded}))
    zoc = data.zone_of_cap
    kept_caps = np.flatnonzero(~np.isin(zoc, excluded))
    fit_rows = np.isin(data.example_cap, kept_caps)
    head = fit_head(fit_rows, kept_caps)
    column = np.full(len(zoc), -1)
    column[kept_caps] = np.arange(len(kept_caps))
    in_cols = np.flatnonzero(zoc[kept_caps] >= 0)
    fb_cols = np.flatnonzero(zoc[kept_caps] < 0)
    inside = fit_rows & (zoc[data.example_cap] >= 0)
    ref_x = data.example_x[inside]
    mix = EnergyMahalanobis.fit(ref_x, column[data.example_cap[inside]], head, in_cols)

    ex_rows = np.isin(zoc[data.example_cap], excluded) & (data.example_cap >= 0)
    x = np.concatenate([data.arrival_x, data.example_x[ex_rows]])
    zone = np.concatenate([data.arrival_zone(), zoc[data.example_cap[ex_rows]]])
    n_a = len(data.arrival_x)
    is_arrival = np.arange(len(x)) < n_a
    held = np.zeros(len(x), dtype=bool)
    held[:n_a] = stratified_holdout(data.arrival_label, 1 - calibration_fraction, seed)
    kept_zone = (zone >= 0) & ~np.isin(zone, excluded)

    proba = head.proba(x)
    routable = [z for z in range(len(data.zone_names)) if z not in excluded]
    zone_caps = [np.flatnonzero(zoc[kept_caps] == z) for z in routable]
    attraction, _ = zone_attraction(proba, zone_caps)
    pick = np.asarray(routable)[attraction.argmax(axis=1)]
    features = mix.features(x)
    ref = mix.reference
    scores = {
        "best_zone": attraction.max(axis=1).astype(np.float64),
        "fallback_class": 1.0 - proba[:, fb_cols].sum(axis=1).astype(np.float64),
        "margin": zone_margin(attraction).astype(np.float64),
        "energy": features[:, 0],
        "mahalanobis": -ref.mahalanobis(x),
        "relative_mahalanobis": features[:, 1],
        "knn": knn_similarity(x, ref_x, 1),
        "energy_mahalanobis": mix.combine(features),
    }
    return Fold(
        excluded=excluded,
        head=head,
        mix=mix,
        zone=zone,
        calibration=is_arrival & kept_zone & ~held,
        test=is_arrival & kept_zone & held,
        oos=is_arrival & (zone < 0),
        routed_right=kept_zone & (pick == zone),
        scores=scores,
        features=features,
    )


def _accuracy_choice(
    score: np.ndarray, is_oos: np.ndarray, routed_right: np.ndarray, target: float
) -> float:
    return accuracy_threshold(score, routed_right, target)


def calibrated_threshold(
    fold: Fold, score: np.ndarray, goal: float, seed: int = 0, level: float = 0.95
) -> float:
    """The highest threshold keeping in-scope zone accuracy ≥ ``goal`` + a margin on the
    fold's calibration rows; the margin cross-validated as the shipped gate's
    (:func:`arena.physics.cross_validated_margin`: thresholds chosen on 4 folds keep ≥
    ``goal`` on the 5th at ``level`` confidence), so the accuracy holds on held-back rows."""
    cal = fold.calibration
    s, right = score[cal], fold.routed_right[cal]
    margin, _ = cross_validated_margin(
        s,
        np.zeros(len(s), dtype=bool),
        right,
        goal,
        seed=seed,
        level=level,
        margins=SHIFT_MARGINS,
        choose=_accuracy_choice,
    )
    return accuracy_threshold(s, right, goal + margin)


def inner_zones(zone: int, n_zones: int, inner: int) -> tuple[int, ...]:
    """The zones an inner fold removes besides ``zone``: the next ``inner`` ones, cyclically."""
    return tuple((zone + 1 + i) % n_zones for i in range(inner))


def worst_recall(fold: Fold, score: np.ndarray, threshold: float) -> float:
    """The lowest recall over the fold's removed zones at ``threshold``."""
    return min(float((score[fold.unknown(z)] < threshold).mean()) for z in fold.excluded)


def choose_mix(inner: Fold, goal: float, mixes: Sequence[float] = MIXES) -> float:
    """The mix weight whose threshold at ``goal`` (on the inner calibration rows) catches the
    most of the inner fold's worst pseudo-unknown zone; ties go to the better mean."""
    best, key = mixes[0], (-1.0, -1.0)
    cal = inner.calibration
    for m in mixes:
        s = inner.mix.combine(inner.features, m)
        th = accuracy_threshold(s[cal], inner.routed_right[cal], goal)
        recalls = [float((s[inner.unknown(z)] < th).mean()) for z in inner.excluded]
        k = (min(recalls), float(np.mean(recalls)))
        if k > key:
            best, key = m, k
    return float(best)


def shift_accuracy(inner: Fold, score: np.ndarray, target: float, goal: float) -> float:
    """The operating point chosen for the shift: the in-scope calibration accuracy at which
    the inner fold's worst pseudo-unknown zone reaches ``target`` recall (never above what
    the goal allows; the highest such accuracy), so its cost is stated, not assumed."""
    cal = inner.calibration
    s, right = score[cal], inner.routed_right[cal]
    levels = np.sort(np.unique(np.round(np.linspace(0.5, goal, 91), 4)))[::-1]
    for acc in levels:
        th = accuracy_threshold(s, right, float(acc))
        if worst_recall(inner, score, th) >= target:
            return float(acc)
    return float(levels[-1])


@dataclass(frozen=True)
class ZoneResult:
    """One removed zone under one score: its requests and the out-of-scope arrivals, each
    judged with the fold's held-back in-scope arrivals (the zone accuracy is the same)."""

    zone: str
    unknown: GateFigures
    oos: GateFigures
    mix: float | None = None  # the mix's weight (the nested one: chosen on the inner fold)
    shift: GateFigures | None = None  # at the shift operating point (the mixes only)
    shift_accuracy: float | None = None  # the calibration accuracy aimed at for it


@dataclass(frozen=True)
class ShiftResult:
    goal: float
    target: float
    per_score: dict[str, list[ZoneResult]]  # worst recall first
    # the mix weight for a model that keeps every zone: the one whose worst outer fold
    # catches most (every zone a pseudo-unknown once; no out-of-scope arrival read)
    deployed_mix: float | None = None
    mix_worst: dict[float, float] = field(default_factory=dict)  # weight -> worst recall

    def worst(self, score: str) -> ZoneResult:
        return self.per_score[score][0]


def _figures(fold: Fold, score: np.ndarray, threshold: float, rows: np.ndarray) -> GateFigures:
    pick = rows | fold.test
    return gate_figures(
        score[pick], ~fold.test[pick], fold.routed_right[pick] & fold.test[pick], threshold
    )


def evaluate_zone(
    data: ShiftData,
    zone: int,
    fit_head: FitHead,
    *,
    goal: float = 0.95,
    target: float = 0.85,
    inner: int = 3,
    seed: int = 0,
    level: float = 0.95,
    scores: Sequence[str] = SHIFT_SCORES,
) -> tuple[Fold, Fold, dict[str, ZoneResult]]:
    """The outer fold (without ``zone``), the inner one (without it and ``inner`` more), and
    every score's figures on ``zone``. Nothing fitted or chosen reads ``zone``'s rows."""
    outer = score_fold(data, [zone], fit_head, seed=seed)
    inner_fold = score_fold(
        data, [zone, *inner_zones(zone, len(data.zone_names), inner)], fit_head, seed=seed
    )
    cal = outer.calibration
    out: dict[str, ZoneResult] = {}
    for name in scores:
        mix = shift = shift_acc = None
        if name.startswith("energy_mahalanobis"):
            nested = name == "energy_mahalanobis_nested"
            mix = choose_mix(inner_fold, goal) if nested else outer.mix.mix
            s = outer.mix.combine(outer.features, mix)
            inner_s = inner_fold.mix.combine(inner_fold.features, mix)
            shift_acc = shift_accuracy(inner_fold, inner_s, target, goal)
            th_shift = accuracy_threshold(s[cal], outer.routed_right[cal], shift_acc)
            shift = _figures(outer, s, th_shift, outer.unknown(zone))
        else:
            s = outer.scores[name]
        th = calibrated_threshold(outer, s, goal, seed, level)
        out[name] = ZoneResult(
            data.zone_names[zone],
            _figures(outer, s, th, outer.unknown(zone)),
            _figures(outer, s, th, outer.oos),
            mix,
            shift,
            shift_acc,
        )
    return outer, inner_fold, out


def leave_one_zone_out(
    data: ShiftData,
    fit_head: FitHead,
    *,
    goal: float = 0.95,
    target: float = 0.85,
    inner: int = 3,
    seed: int = 0,
    level: float = 0.95,
    zones: Sequence[int] | None = None,
    scores: Sequence[str] = SHIFT_SCORES,
) -> ShiftResult:
    """:func:`evaluate_zone` for every zone (or ``zones``), each score's zones worst first."""
    per: dict[str, list[ZoneResult]] = {s: [] for s in scores}
    worst = dict.fromkeys(MIXES, 1.0)
    for z in range(len(data.zone_names)) if zones is None else zones:
        outer, _, res = evaluate_zone(
            data,
            z,
            fit_head,
            goal=goal,
            target=target,
            inner=inner,
            seed=seed,
            level=level,
            scores=scores,
        )
        for name, r in res.items():
            per[name].append(r)
        for m in MIXES:
            s = outer.mix.combine(outer.features, m)
            th = calibrated_threshold(outer, s, goal, seed, level)
            worst[m] = min(worst[m], float((s[outer.unknown(z)] < th).mean()))
    for rows in per.values():
        rows.sort(key=lambda r: (r.unknown.recall, r.zone))
    best = max(MIXES, key=lambda m: (worst[m], -abs(m - 0.5)))
    return ShiftResult(goal, target, per, float(best), worst)


def plain_head_fitter(data: ShiftData, settings: HeadSettings = HeadSettings()) -> FitHead:
    """Heads trained in memory (:meth:`SoftmaxHead.fit`): for tests and small data."""

    def fit(rows: np.ndarray, caps: np.ndarray) -> SoftmaxHead:
        column = np.full(len(data.zone_of_cap), -1)
        column[caps] = np.arange(len(caps))
        return SoftmaxHead.fit(
            data.example_x[rows], column[data.example_cap[rows]], len(caps), settings
        )

    return fit


def scenario_shift_data(model: ArenaModel) -> tuple[ShiftData, list[str]]:
    """The rows of a built :class:`arena.model.ArenaModel` with a learned head and a fallback
    zone (examples: the head's training rows; arrivals: the labelled source), embedded by the
    model's embedder through its cache; and the example texts (head cache keys)."""
    texts, caps = model.example_rows()
    q = model.cap_quality
    home = np.where(q.max(axis=0) > 0, q.argmax(axis=0), -1)
    position = np.full(len(model.zones), -1)
    position[model.routable_zones] = np.arange(len(model.routable_zones))
    zone_of_cap = np.where(home >= 0, position[np.maximum(home, 0)], -1)
    labels = model.source_labels
    embed = model.registry.embedder.encode
    arrival_cap = np.where(model.label_is_oos[labels], -1, model.label_capability[labels])
    data = ShiftData(
        example_x=embed(texts),
        example_cap=caps,
        arrival_x=embed(list(model.source_texts)),
        arrival_cap=arrival_cap.astype(np.int64),
        arrival_label=labels.astype(np.int64),
        zone_of_cap=zone_of_cap.astype(np.int64),
        zone_names=[model.zone_names[z] for z in model.routable_zones],
    )
    return data, texts


def cached_head_fitter(model: ArenaModel, data: ShiftData, texts: Sequence[str]) -> FitHead:
    """Heads trained through the head cache (``heads/`` under the embedding cache, keyed by
    their classes and rows), so a second run of the protocol loads them."""
    emb = model.registry.embedder
    names = model.capability_names

    def fit(rows: np.ndarray, caps: np.ndarray) -> SoftmaxHead:
        column = np.full(len(data.zone_of_cap), -1)
        column[caps] = np.arange(len(caps))
        return train_or_load(
            default_cache_dir(),
            emb.name,
            [names[c] for c in caps],
            [t for t, keep in zip(texts, rows, strict=True) if keep],
            column[data.example_cap[rows]],
            emb.encode,
            model.head_settings(),
        )

    return fit
