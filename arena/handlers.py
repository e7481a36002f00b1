"""Default execute functions for capabilities a scenario declares without code.

A scenario that models a system before it is built has no implementation for most of its
capabilities; this handler stands for "the service did its work" and returns a response the
summary and traces can show. Scenarios point ``function:`` at real code when they have it.
"""

from __future__ import annotations

import hashlib
from typing import TypedDict


class Answer(TypedDict):
    response: str


def answer_request(text: str) -> Answer:
    """Answer a request: a short acknowledgement and a stable ticket reference."""
    ref = hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()
    words = text.split()
    return {
        "response": f"handled: {' '.join(words[:8])}{' …' if len(words) > 8 else ''} [ref {ref}]"
    }
