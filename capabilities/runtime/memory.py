"""Conversation memory for actors: a bounded window of recent turns plus an extractive summary.

Actor state must stay small (it is rewritten on every message) and JSON-ready (it is committed
to SQLite), so memory is plain data — ``{"turns": [...], "summary": [...], "total_turns": n}`` —
and :class:`ConversationMemory` is the policy that updates it. When the window overflows, the
oldest turns are folded into the summary: their sentences compete with the current summary's
for a fixed number of slots, scored by how many of the conversation's key terms they carry.
Extractive on purpose: deterministic, no model needed, and every summary sentence is something
that was actually said.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from capabilities.errors import PacketFlowError

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "i'm",
        "i've",
        "can't",
        "don't",
        "want",
        "need",
        "tell",
        "show",
        "give",
        "get",
        "let",
        "like",
        "know",
        "make",
        "find",
    ]
)


def key_terms(text: str, limit: int | None = None) -> list[str]:
    """Content words of ``text`` (lower-cased, stopwords and very short words removed), most
    frequent first, ties in order of appearance."""
    words = [w.lower().strip("'-") for w in _WORD.findall(text)]
    counts = Counter(w for w in words if len(w) > 2 and w not in STOPWORDS)
    ranked = sorted(counts, key=lambda w: -counts[w])  # stable: first appearance breaks ties
    return ranked if limit is None else ranked[:limit]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


@dataclass(frozen=True, slots=True)
class ConversationMemory:
    """How much to remember: ``max_turns`` verbatim, ``summary_sentences`` from older turns."""

    max_turns: int = 20
    summary_sentences: int = 5

    def __post_init__(self) -> None:
        if self.max_turns < 1 or self.summary_sentences < 0:
            raise PacketFlowError(
                "ConversationMemory: max_turns must be >= 1 and summary_sentences >= 0, got "
                f"{self.max_turns} and {self.summary_sentences}"
            )

    @staticmethod
    def empty() -> dict[str, Any]:
        return {"turns": [], "summary": [], "total_turns": 0}

    def add(self, memory: Mapping[str, Any] | None, role: str, text: str) -> dict[str, Any]:
        """A new memory with the turn appended (the old one is not modified)."""
        if not isinstance(text, str):
            raise PacketFlowError(f"memory: turn text must be a string, got {type(text).__name__}")
        current = self._valid(memory)
        turns = [*current["turns"], {"role": str(role), "text": text}]
        summary = list(current["summary"])
        if len(turns) > self.max_turns:
            evicted, turns = turns[: -self.max_turns], turns[-self.max_turns :]
            summary = self._fold(summary, evicted, turns)
        return {"turns": turns, "summary": summary, "total_turns": current["total_turns"] + 1}

    def recent(self, memory: Mapping[str, Any] | None, n: int | None = None) -> list[dict]:
        turns = self._valid(memory)["turns"]
        return list(turns if n is None else turns[-n:])

    def render(self, memory: Mapping[str, Any] | None) -> str:
        """The memory as text for a prompt or a reply: summary first, then recent turns."""
        m = self._valid(memory)
        parts = []
        if m["summary"]:
            parts.append("Earlier: " + " ".join(m["summary"]))
        parts.extend(f"{t['role']}: {t['text']}" for t in m["turns"])
        return "\n".join(parts)

    def _fold(self, summary: list[str], evicted: Iterable[Mapping[str, Any]], kept: list) -> list:
        if self.summary_sentences == 0:
            return []
        candidates = list(summary)
        for turn in evicted:
            candidates.extend(s for s in sentences(turn["text"]) if s not in candidates)
        # Terms that matter across the whole conversation decide which sentences survive.
        weight = Counter(
            t for text in [*candidates, *(k["text"] for k in kept)] for t in set(key_terms(text))
        )
        scored = [
            (sum(weight[t] for t in set(key_terms(s))) / (1 + len(key_terms(s))) ** 0.5, -i, s)
            for i, s in enumerate(candidates)
        ]
        best = sorted(scored, reverse=True)[: self.summary_sentences]
        return [s for _, _, s in sorted(best, key=lambda x: -x[1])]  # original order

    @staticmethod
    def _valid(memory: Mapping[str, Any] | None) -> dict[str, Any]:
        if memory is None:
            return ConversationMemory.empty()
        if not isinstance(memory, Mapping) or not {"turns", "summary", "total_turns"} <= set(
            memory
        ):
            raise PacketFlowError(
                "memory: expected {'turns': [...], 'summary': [...], 'total_turns': n} "
                "(start from ConversationMemory.empty())"
            )
        return dict(memory)
