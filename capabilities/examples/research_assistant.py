"""The seed's ``ai_research_assistant``: a durable actor that answers by using capabilities.

No LLM: for each message it

1. remembers the turn (bounded history with an extractive summary of older turns),
2. grows a small knowledge graph of key terms — a node per term, an edge per pair of terms
   that occur in the same message, weighted by how often they co-occur,
3. discovers the registered capabilities closest in meaning to the question
   (``registry.discover``), and runs the best one whose contract the message's ``inputs``
   satisfy — through the engine, with the caller's context, so permissions and audit apply,
4. replies with what it ran, the outputs, the other candidates and the terms related to the
   question in its graph; or, when nothing can run yet, with the inputs it still needs.

Everything it learns is actor state, so it survives restarts like any actor.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from capabilities import Context, Engine, Registry
from capabilities.core.model import Field
from capabilities.errors import ContractError, PermissionDenied
from capabilities.runtime.memory import ConversationMemory, key_terms

MEMORY = ConversationMemory(max_turns=12, summary_sentences=4)
MAX_TERMS_PER_MESSAGE = 8


def initial_state() -> dict[str, Any]:
    return {
        "memory": ConversationMemory.empty(),
        "history": [],
        "graph": {"nodes": {}, "edges": {}},
    }


def learn_terms(graph: dict[str, Any], terms: list[str]) -> None:
    """Add one message's terms to the co-occurrence graph (edges keyed ``"a|b"``, a < b)."""
    nodes, edges = graph["nodes"], graph["edges"]
    for t in terms:
        nodes[t] = nodes.get(t, 0) + 1
    for a, b in combinations(sorted(set(terms)), 2):
        key = f"{a}|{b}"
        edges[key] = edges.get(key, 0) + 1


def related_terms(graph: dict[str, Any], terms: list[str], k: int = 5) -> list[str]:
    """Terms most often seen together with ``terms`` (excluding them), strongest first."""
    wanted = set(terms)
    weight: dict[str, int] = {}
    for key, w in graph["edges"].items():
        a, b = key.split("|", 1)
        if a in wanted and b not in wanted:
            weight[b] = weight.get(b, 0) + w
        elif b in wanted and a not in wanted:
            weight[a] = weight.get(a, 0) + w
    return sorted(weight, key=lambda t: (-weight[t], t))[:k]


async def ai_research_assistant(
    message: dict, state: dict, engine: Engine, context: Context
) -> tuple[dict, dict]:
    """Research assistant: answers questions by discovering and running registered
    capabilities, remembering the conversation and a knowledge graph of its terms."""
    question: str = message["text"]
    inputs: dict[str, Any] = message["inputs"] or {}
    terms = key_terms(question, MAX_TERMS_PER_MESSAGE)
    learn_terms(state["graph"], terms)
    state["memory"] = MEMORY.add(state["memory"], "user", question)

    candidates = [
        m
        for m in engine.registry.discover(question, k=5)
        if m.capability.kind != "actor" and engine.permitted(m.capability, context)
    ]
    ran, outputs, missing, error = None, None, {}, None
    for match in candidates:
        cap = match.capability
        need = sorted(cap.required_inputs - set(inputs))
        if need:
            missing[cap.name] = need
            continue
        try:
            result = await engine.run_async(
                cap, {k: v for k, v in inputs.items() if k in cap.input_names}, context
            )
        except (ContractError, PermissionDenied) as exc:
            error = str(exc)
            continue
        ran, outputs = cap.name, result.outputs if result.ok else None
        error = None if result.ok else f"{type(result.error).__name__}: {result.error}"
        break

    if ran is not None and outputs is not None:
        answer = f"I used {ran}: " + ", ".join(f"{k}={v!r}" for k, v in outputs.items())
    elif ran is not None:
        answer = f"I tried {ran} but it failed ({error})"
    elif missing:
        best, need = next(iter(missing.items()))
        answer = f"{best} could answer that; I need: {', '.join(need)}"
    else:
        answer = "I found no capability I may use for that" + (f" ({error})" if error else "")
    state["memory"] = MEMORY.add(state["memory"], "assistant", answer)
    state["history"].append({"question": question, "capability": ran, "ok": outputs is not None})
    reply = {
        "answer": answer,
        "capability": ran,
        "outputs": outputs,
        "candidates": [{"name": m.capability.name, "score": round(m.score, 4)} for m in candidates],
        "missing_inputs": missing,
        "related_terms": related_terms(state["graph"], terms),
    }
    return reply, state


def register(registry: Registry) -> Registry:
    """Add the assistant (an actor) to ``registry``."""
    registry.actor(
        ai_research_assistant,
        requires=[
            Field("text", str),
            Field("inputs", dict | None, required=False, default=None),
        ],
        provides=[
            "answer",
            "capability",
            "outputs",
            "candidates",
            "missing_inputs",
            "related_terms",
        ],
        initial_state=initial_state,
        examples=["help me research this", "what do we know about", "find out for me"],
    )
    return registry


def build_registry(registry: Registry | None = None) -> Registry:
    """The customer-service examples plus the assistant (``mcp serve --registry`` target)."""
    from capabilities.examples.customer import build_registry as customer

    return register(customer(registry))
