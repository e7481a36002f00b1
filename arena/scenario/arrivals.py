"""The ``arrivals`` section: how many requests arrive when (a rate, a schedule, a bursty
process or a replayed trace) and what they say (a labelled source, weights per label)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..workload import parse_arrival_process, parse_duration, parse_rate, parse_trace_spec
from .reader import Reader, kind_of
from .sections import parse_dataset
from .spec import ArrivalSpec, CapabilitySpec, ZoneSpec

ARRIVAL_KEYS = (
    "rate",
    "schedule",
    "process",
    "trace",
    "source",
    "texts",
    "shuffle",
    "repeat",
    "only_labels",
    "out_of_scope_labels",
    "weights",
    "rates",
    "sojourn",
    "peak",
    "period",
    "peak_at",
)
BURST_KEYS = ("rates", "sojourn", "peak", "period", "peak_at")
ARRIVAL_PROCESSES = ("poisson", "constant", "mmpp", "diurnal")


def parse_arrivals(r: Reader, v: Any, base: Path) -> ArrivalSpec:
    """``arrivals``: a rate (``"12/s"``; a bare number is per second) or a ``schedule`` of
    ``[time, rate]`` changes, a ``process`` (or a ``trace`` to replay), and what they say."""
    if v is None:
        raise r.fail("arrivals", "required field is missing")
    m = r.mapping(v, "arrivals", ARRIVAL_KEYS)
    schedule = []
    raw_sched = m.get("schedule", [])
    if not isinstance(raw_sched, list):
        raise r.fail(
            "arrivals.schedule", f"expected a list of [time, rate], got {kind_of(raw_sched)}"
        )
    for i, item in enumerate(raw_sched):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise r.fail(f"arrivals.schedule[{i}]", f"expected [time, rate], got {kind_of(item)}")
        at = parse_duration(item[0], file=r.file, field=f"arrivals.schedule[{i}][0]")
        rate = parse_rate(item[1], file=r.file, field=f"arrivals.schedule[{i}][1]")
        schedule.append((at, rate))
    process, bursty = _process(r, m)
    source = parse_dataset(r, m["source"], "arrivals.source", base) if "source" in m else None
    texts = r.str_list(m, "texts", "arrivals")
    if source is None and not texts:
        raise r.fail("arrivals", "give a labelled 'source' file or inline 'texts'")
    trace = parse_trace_spec(m["trace"], file=r.file, base_dir=base) if "trace" in m else None
    return ArrivalSpec(
        rate=parse_rate(m.get("rate", 10.0), file=r.file, field="arrivals.rate"),
        schedule=tuple(sorted(schedule)),
        process=process,
        bursty=bursty,
        trace=trace,
        source=source,
        texts=texts,
        shuffle=r.bool(m, "shuffle", "arrivals", True),
        repeat=r.bool(m, "repeat", "arrivals", False),
        only_labels=r.str_list(m, "only_labels", "arrivals"),
        out_of_scope_labels=r.str_list(m, "out_of_scope_labels", "arrivals"),
        weights=_weights(r, m.get("weights", {}), "arrivals.weights"),
    )


def _process(r: Reader, m: Mapping[str, Any]) -> tuple[str, Any]:
    """``process: poisson | constant`` (at ``rate`` or the ``schedule``), or a bursty one
    checked by :func:`arena.workload.parse_arrival_process`: ``mmpp`` (``rates``, ``sojourn``)
    or ``diurnal`` (``rate``, ``peak``, ``period``, ``peak_at``)."""
    kind = m.get("process", "poisson")
    if kind not in ARRIVAL_PROCESSES:
        raise r.fail(
            "arrivals.process", f"expected one of {', '.join(ARRIVAL_PROCESSES)}, got {kind!r:.40}"
        )
    if kind in ("poisson", "constant"):
        extra = [k for k in BURST_KEYS if k in m]
        if extra:
            raise r.fail(
                f"arrivals.{extra[0]}", f"belongs to an mmpp or diurnal process, not {kind}"
            )
        return kind, None
    keys = {"process", *BURST_KEYS, "rate"}
    spec = {k: v for k, v in m.items() if k in keys}
    return kind, parse_arrival_process(spec, file=r.file, field="arrivals")


def _weights(r: Reader, v: Any, where: str) -> tuple[tuple[str, float], ...]:
    """``{label or zone: weight >= 0}``; the names are checked against the zones and labels
    by :func:`check_arrival_weights` once those are known."""
    if not isinstance(v, Mapping):
        raise r.fail(where, f"expected a mapping: label or zone -> weight, got {kind_of(v)}")
    out = []
    for key, w in v.items():
        if not isinstance(key, str) or not key.strip():
            raise r.fail(where, f"expected a label or zone name, got {kind_of(key)}")
        # a weight repeats source rows: 1000 times a dataset is already a very long day
        out.append((key, float(r.check_number(w, f"{where}.{key}", minimum=0, maximum=1000))))
    return tuple(out)


def check_arrival_weights(
    r: Reader, arrivals: ArrivalSpec, zones: list[ZoneSpec], caps: list[CapabilitySpec]
) -> None:
    """Every ``arrivals.weights`` key names a zone or a label (with a close match if not)."""
    known = [z.name for z in zones] + [lab for c in caps for lab in c.labels]
    known += list(arrivals.out_of_scope_labels)
    for key, _ in arrivals.weights:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise r.fail(f"arrivals.weights.{key}", f"no zone or label is called {key!r}{hint}")
