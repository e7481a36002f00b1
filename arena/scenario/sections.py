"""The parsers of a scenario's sections (zones, capabilities, grouping files, datasets,
arrivals, attraction, physics): raw data in, checked spec dataclasses out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from capabilities import PacketFlowError, Policy

from ..errors import ScenarioError
from ..physics import OUT_OF_SCOPE_SCORES, Physics
from ..workload import ServiceModel, parse_service_model
from .datasets import DatasetSpec
from .reader import Bounds, Reader, duration_field, kind_of
from .spec import (
    DEFAULT_HANDLER,
    AttractionSpec,
    CapabilitySpec,
    FaultSpec,
)


def parse_point(r: Reader, v: Any, where: str, width: float, height: float) -> tuple[float, float]:
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise r.fail(where, f"expected [x, y], got {kind_of(v)}")
    x = r.check_number(v[0], f"{where}[0]", minimum=0, maximum=width)
    y = r.check_number(v[1], f"{where}[1]", minimum=0, maximum=height)
    return float(x), float(y)


def parse_service_time(r: Reader, v: Any, where: str, base: Path | None = None) -> ServiceModel:
    """A service-time model in seconds (see :func:`arena.workload.parse_service_model`): a
    duration, ``{distribution: lognormal, median: 120ms, p99: 2s}``, ``per_token``..."""
    return parse_service_model(v, file=r.file, field=where, base_dir=base)


CAP_KEYS = (
    "name",
    "intent",
    "function",
    "requires",
    "provides",
    "labels",
    "examples",
    "service_time",
    "faults",
    "policy",
    "permissions",
)


def parse_capability(r: Reader, c: Any, where: str, base: Path | None = None) -> CapabilitySpec:
    m = r.mapping(c, where, CAP_KEYS)
    name = r.str(m, "name", where)
    if not name.isidentifier():
        raise r.fail(f"{where}.name", f"{name!r} must be an identifier (letters, digits, _)")
    faults = None
    if "faults" in m:
        f = r.mapping(m["faults"], f"{where}.faults", ("failure_rate", "extra", "extra_steps"))
        extra_key = "extra_steps" if "extra_steps" in f else "extra"  # old name: 1 step = 1 s
        faults = FaultSpec(
            float(r.number(f, "failure_rate", f"{where}.faults", 0.0, minimum=0, maximum=1)),
            duration_field(r, f, extra_key, f"{where}.faults", 0.0),
        )
    policy = m.get("policy")
    if policy is not None:
        parse_policy(r, policy, f"{where}.policy")
    return CapabilitySpec(
        name=name,
        intent=r.str(m, "intent", where, name.replace("_", " ")),
        function=r.str(m, "function", where, DEFAULT_HANDLER),
        requires=m.get("requires"),
        provides=m.get("provides"),
        labels=r.str_list(m, "labels", where) or (name,),
        examples=r.str_list(m, "examples", where),
        service_time=parse_service_time(r, m.get("service_time", 1), f"{where}.service_time", base),
        faults=faults,
        policy=policy,
        permissions=r.str_list(m, "permissions", where),
    )


RETRY_KEYS = ("attempts", "backoff", "max_backoff", "multiplier", "jitter", "on")
BREAKER_KEYS = ("failure_threshold", "reset_timeout", "success_threshold")


def parse_policy(r: Reader, v: Any, where: str) -> Policy:
    """A capability's resilience policy, its numbers bounded here (``retry: 10**9`` would retry
    a failing call for ever) and the rest checked by :meth:`capabilities.Policy.from_data`.
    In the arena its times are steps (see ``docs/input_validation.md``)."""
    m = r.mapping(v, where, ("retry", "timeout", "breaker", "fallback", "seed"))
    retry = m.get("retry")
    if isinstance(retry, Mapping):
        rm = r.mapping(retry, f"{where}.retry", RETRY_KEYS)
        for key in RETRY_KEYS[:-1]:
            if key in rm and key == "attempts":
                r.number(
                    rm, key, f"{where}.retry", minimum=1, maximum=Bounds.ATTEMPTS, integer=True
                )
            elif key in rm:
                r.number(rm, key, f"{where}.retry", minimum=0, maximum=Bounds.POLICY)
    elif retry is not None:
        r.check_number(retry, f"{where}.retry", minimum=1, maximum=Bounds.ATTEMPTS, integer=True)
    r.number(m, "timeout", where, None, minimum=0, exclusive_min=True, maximum=Bounds.POLICY)
    if m.get("breaker") is not None:
        b = r.mapping(m["breaker"], f"{where}.breaker", BREAKER_KEYS)
        r.number(b, "reset_timeout", f"{where}.breaker", 0, minimum=0, maximum=Bounds.POLICY)
        for key in ("failure_threshold", "success_threshold"):
            r.number(b, key, f"{where}.breaker", 1, minimum=1, maximum=Bounds.COUNT, integer=True)
    r.number(m, "seed", where, None, minimum=0, maximum=Bounds.SEED, integer=True)
    r.str(m, "fallback", where, None)
    return build_policy(m, r.file, where)


def build_policy(data: Mapping[str, Any], file: str | None, where: str) -> Policy:
    """:meth:`capabilities.Policy.from_data`, its errors as a :class:`ScenarioError`."""
    try:
        return Policy.from_data(data)
    except (PacketFlowError, ValueError, TypeError) as exc:
        raise ScenarioError(file, where, str(exc).removeprefix("policy.")) from None


def parse_dataset(r: Reader, v: Any, where: str, base: Path) -> DatasetSpec:
    m = r.mapping(v, where, ("file", "format", "split", "text_column", "label_column", "limit"))
    file = base / r.str(m, "file", where)
    fmt = r.str(m, "format", where, "csv" if file.suffix.lower() == ".csv" else "json")
    if fmt not in ("json", "csv"):
        raise r.fail(f"{where}.format", f"expected 'json' or 'csv', got {fmt!r}")
    split = r.str_list(m, "split", where)
    label_col = m.get("label_column", "label")
    if label_col is not None and not isinstance(label_col, str):
        raise r.fail(
            f"{where}.label_column", f"expected a column name or null, got {kind_of(label_col)}"
        )
    limit = r.number(m, "limit", where, None, minimum=1, maximum=Bounds.STEPS, integer=True)
    if not file.exists():
        raise r.fail(f"{where}.file", f"file not found: {file}")
    return DatasetSpec(
        file=file,
        format=fmt,
        split=split,
        text_column=r.str(m, "text_column", where, "text"),
        label_column=label_col,
        limit=limit,
    )


def parse_attraction(r: Reader, v: Any) -> AttractionSpec:
    keys = ("kind", "out_of_scope_score", "epochs", "learning_rate", "l2", "momentum")
    m = r.mapping(v, "attraction", keys)
    kind = r.str(m, "kind", "attraction", "cosine")
    if kind not in ("cosine", "learned"):
        raise r.fail("attraction.kind", f"expected 'cosine' or 'learned', got {kind!r}")
    score = r.str(m, "out_of_scope_score", "attraction", "best_zone")
    if score not in OUT_OF_SCOPE_SCORES:
        raise r.fail(
            "attraction.out_of_scope_score",
            f"expected one of {', '.join(map(repr, OUT_OF_SCOPE_SCORES))}, got {score!r}",
        )
    return AttractionSpec(
        kind=kind,
        out_of_scope_score=score,
        epochs=int(
            r.number(m, "epochs", "attraction", 300, minimum=1, maximum=Bounds.EPOCHS, integer=True)
        ),
        learning_rate=float(
            r.number(
                m,
                "learning_rate",
                "attraction",
                50.0,
                minimum=0,
                exclusive_min=True,
                maximum=Bounds.TRAINING,
            )
        ),
        l2=float(r.number(m, "l2", "attraction", 0.0, minimum=0, maximum=Bounds.TRAINING)),
        momentum=float(r.number(m, "momentum", "attraction", 0.9, minimum=0, maximum=0.99)),
    )


def parse_physics(r: Reader, v: Any) -> Physics:
    fields = Physics.describe()
    m = r.mapping(v, "physics", tuple(fields))
    values = {}
    for key, val in m.items():
        meta = fields[key]
        values[key] = r.check_number(
            val, f"physics.{key}", minimum=meta["min"], maximum=meta["max"], integer=meta["integer"]
        )
    return Physics(**values)
