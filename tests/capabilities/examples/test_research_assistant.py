"""The ai_research_assistant actor: discovers and runs capabilities, remembers, learns terms."""

from __future__ import annotations

from fakes import BagOfWordsEmbedder

from capabilities import ActorRuntime, Context, Engine, Registry
from capabilities.examples.research_assistant import build_registry, related_terms


def registry() -> Registry:
    reg = build_registry(Registry(embedder=BagOfWordsEmbedder()))

    @reg.capability(provides=["report"], permissions=["reports:read"])
    def quarterly_report(quarter: str) -> str:
        """Produce the quarterly revenue report for a quarter."""
        return f"report for {quarter}"

    return reg


def ask(runtime: ActorRuntime, text: str, inputs=None, context=None, actor_id="r1") -> dict:
    message = {"text": text} if inputs is None else {"text": text, "inputs": inputs}
    return runtime.send_sync("ai_research_assistant", actor_id, message, context=context).unwrap()


def test_answers_by_discovering_and_running_a_capability(tmp_path):
    with Engine(registry(), store=str(tmp_path / "ra.sqlite")) as engine:
        runtime = ActorRuntime(engine)
        reply = ask(runtime, "what is the balance of bank account acc-7?", {"account_id": "acc-7"})
        assert reply["capability"] == "account_balance"
        assert reply["outputs"] == engine.run("account_balance", {"account_id": "acc-7"}).outputs
        assert reply["candidates"][0]["name"] == "account_balance"
        assert "ai_research_assistant" not in {c["name"] for c in reply["candidates"]}

        need = ask(runtime, "refund money to a customer for a disputed charge")
        assert need["capability"] is None
        assert need["missing_inputs"]["issue_refund"] == ["amount", "customer_id"]
        assert "I need: amount, customer_id" in need["answer"]

        failed = ask(
            runtime,
            "refund money to a customer for a disputed charge",
            {"customer_id": "c1", "amount": -5.0},
        )
        assert failed["capability"] == "issue_refund" and failed["outputs"] is None
        assert "must be positive" in failed["answer"]
        runtime.close()


def test_uses_only_what_the_callers_context_permits():
    with Engine(registry()) as engine:
        runtime = ActorRuntime(engine)
        question = "produce the quarterly revenue report"
        anon = ask(runtime, question, {"quarter": "Q1"})
        assert "quarterly_report" not in {c["name"] for c in anon["candidates"]}
        assert anon["capability"] != "quarterly_report"
        analyst = Context("ann", ["reports:read"])
        allowed = ask(runtime, question, {"quarter": "Q1"}, context=analyst)
        assert allowed["capability"] == "quarterly_report"
        assert allowed["outputs"] == {"report": "report for Q1"}


def test_history_memory_and_knowledge_graph_persist_across_restarts(tmp_path):
    store = str(tmp_path / "ra.sqlite")
    with Engine(registry(), store=store) as engine:
        runtime = ActorRuntime(engine)
        ask(runtime, "bank account balance for savings", {"account_id": "s1"})
        ask(runtime, "savings account interest rates")
        reply = ask(runtime, "bank account fees")
        assert "savings" in reply["related_terms"]
        runtime.close()
    with Engine(registry(), store=store) as engine:
        runtime = ActorRuntime(engine)
        state = runtime.state("ai_research_assistant", "r1")
        assert [h["question"] for h in state["history"]] == [
            "bank account balance for savings",
            "savings account interest rates",
            "bank account fees",
        ]
        graph = state["graph"]
        assert graph["nodes"]["account"] == 3
        assert graph["edges"]["account|savings"] == 2
        assert related_terms(graph, ["savings"])[0] == "account"
        assert state["memory"]["total_turns"] == 6  # a user and an assistant turn per message
        for i in range(10):
            ask(runtime, f"question number {i} about topic{i}")
        memory = runtime.state("ai_research_assistant", "r1")["memory"]
        assert len(memory["turns"]) == 12 and memory["total_turns"] == 26
        assert memory["summary"], "older turns are summarised, not dropped silently"
        # another conversation has its own state
        assert runtime.state("ai_research_assistant", "other")["history"] == []
        runtime.close()


def test_bad_message_names_the_field():
    with Engine(registry()) as engine:
        result = engine.run(
            "ai_research_assistant", {"actor_id": "r", "message": {"question": "hi"}}
        )
        assert result.status == "failed"
        assert "message.question" in str(result.error)
