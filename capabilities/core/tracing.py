"""Trace spans: every execution records one, nested under the span of whoever called it."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_span_ids = itertools.count(1)


@dataclass(slots=True)
class Span:
    """One timed piece of work. Times are seconds on the engine's clock."""

    name: str
    span_id: int
    parent_id: int | None
    start: float
    end: float | None = None
    status: str = "running"
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return 0.0 if self.end is None else self.end - self.start


class Trace:
    """The spans of one request, in the order they started. Thread-safe to append to."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self._lock = threading.Lock()

    def start(self, name: str, parent_id: int | None, now: float, **attributes: Any) -> Span:
        span = Span(name, next(_span_ids), parent_id, now, attributes=attributes)
        with self._lock:
            self.spans.append(span)
        return span

    def children(self, span_id: int | None) -> list[Span]:
        return [s for s in self.spans if s.parent_id == span_id]

    def subtree(self, root: Span) -> list[Span]:
        """``root`` and every span below it, depth first."""
        out = [root]
        for child in self.children(root.span_id):
            out.extend(self.subtree(child))
        return out

    def render(self, root: Span | None = None) -> str:
        """The span tree as indented text with durations in milliseconds."""
        lines: list[str] = []

        def walk(span: Span, depth: int) -> None:
            line = f"{'  ' * depth}{span.name} [{span.status}] {span.duration * 1e3:.2f} ms"
            if "context" in span.attributes:  # the propagation chain of a child context
                line += f"  ctx: {span.attributes['context']}"
            lines.append(line)
            for child in self.children(span.span_id):
                walk(child, depth + 1)

        roots = [root] if root is not None else self.children(None)
        for r in roots:
            walk(r, 0)
        return "\n".join(lines)

    def __len__(self) -> int:
        return len(self.spans)

    def __iter__(self) -> Iterator[Span]:
        return iter(self.spans)
