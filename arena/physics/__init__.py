"""The routing physics and the routers: the lowest layer of the arena (NumPy, numba; no Mesa).

``params`` (:class:`Physics`), ``step`` (the NumPy reference step), ``fast`` (the fused numba
step and :func:`select_kernel`), ``swarm`` (in-flight intents as arrays), ``attraction`` (the
learned softmax head), ``out_of_scope`` (the gate's scores, threshold choice, intervals),
``shift_scores`` (scores that hold on new kinds of request: energy, Mahalanobis distances,
nearest neighbour, their mix), ``routers`` (the :class:`Router` interface, its registry and built-ins),
``baselines`` (power of d, join-shortest-queue and argmax-then-spill among eligible zones),
``llm_routers`` (the practitioners' LLM routers: ``llm_d``, ``prefix_affinity``, ``category``),
``board`` (stale load information), ``plugins`` (routers by dotted path or entry point).
"""

from typing import Any

from .attraction import HeadSettings, SoftmaxHead, train_or_load
from .baselines import (
    ArgmaxSpillRouter,
    JoinShortestQueueRouter,
    PowerOfDRouter,
    eligible_zones,
    join_least_loaded,
    top_candidates,
)
from .board import LOAD_INFO_MODES, LoadBoard, LoadInfo
from .llm_routers import (
    LLM_D_DEFAULT_WEIGHTS,
    CategoryRouter,
    HashRing,
    LlmDRouter,
    PrefixAffinityRouter,
    affinity_keys,
    llm_d_scores,
)
from .out_of_scope import (
    OUT_OF_SCOPE_SCORES,
    GateFigures,
    accuracy_threshold,
    binomial_interval,
    choose_threshold,
    cross_validated_margin,
    gate_figures,
    in_scope_score,
    out_of_fold_proba,
    stratified_folds,
    stratified_holdout,
    zone_attraction,
)
from .params import Physics
from .plugins import ENTRY_POINT_GROUP, make_router, router_class, unknown_router_problem
from .routers import (
    HEAD_BLOCKS,
    ROUTER_TYPES,
    PrefixView,
    Router,
    RouterView,
    ZoneState,
    checked_choice,
    register_router,
    router_names,
)
from .shift_scores import (
    ENERGY_MAHALANOBIS_MIX,
    EnergyMahalanobis,
    GaussianReference,
    energy,
    knn_similarity,
    mix_or_fit,
    zone_margin,
)
from .step import SwarmArrays, Workspace, step_swarm
from .swarm import Swarm, choice_bias

__all__ = [
    "ENERGY_MAHALANOBIS_MIX",
    "ENTRY_POINT_GROUP",
    "HAVE_NUMBA",
    "HEAD_BLOCKS",
    "LLM_D_DEFAULT_WEIGHTS",
    "LOAD_INFO_MODES",
    "OUT_OF_SCOPE_SCORES",
    "ROUTER_TYPES",
    "ArgmaxSpillRouter",
    "CategoryRouter",
    "EnergyMahalanobis",
    "GateFigures",
    "GaussianReference",
    "HashRing",
    "HeadSettings",
    "JoinShortestQueueRouter",
    "LlmDRouter",
    "LoadBoard",
    "LoadInfo",
    "Physics",
    "PowerOfDRouter",
    "PrefixAffinityRouter",
    "PrefixView",
    "Router",
    "RouterView",
    "SoftmaxHead",
    "Swarm",
    "SwarmArrays",
    "Workspace",
    "ZoneState",
    "accuracy_threshold",
    "affinity_keys",
    "binomial_interval",
    "checked_choice",
    "choice_bias",
    "choose_threshold",
    "cross_validated_margin",
    "eligible_zones",
    "energy",
    "gate_figures",
    "in_scope_score",
    "join_least_loaded",
    "knn_similarity",
    "llm_d_scores",
    "make_router",
    "mix_or_fit",
    "out_of_fold_proba",
    "register_router",
    "router_class",
    "router_names",
    "select_kernel",
    "step_swarm",
    "step_swarm_numba",
    "stratified_folds",
    "stratified_holdout",
    "top_candidates",
    "train_or_load",
    "unknown_router_problem",
    "zone_attraction",
    "zone_margin",
]

# the numba kernel module imports numba (~0.3 s): loaded on first use, so `import arena` stays light
_LAZY = {"HAVE_NUMBA", "select_kernel", "step_swarm_numba"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import fast

        return getattr(fast, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
