"""Workflows: build-time contract checks, execution, concurrency, branches, nesting, context."""

from __future__ import annotations

import asyncio
import time

import pytest
from fakes import BagOfWordsEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st

from capabilities import (
    AuditStore,
    Context,
    ContractError,
    Engine,
    PermissionDenied,
    Registry,
    StepFailed,
    Workflow,
    WorkflowError,
    audit_log,
    branch,
    parallel,
    step,
)
from capabilities.composition.workflow import Condition, workflow_of


@pytest.fixture
def registry() -> Registry:
    r = Registry(embedder=BagOfWordsEmbedder())

    @r.capability(provides=["total"])
    def add(x: int, y: int) -> int:
        """Add two numbers."""
        return x + y

    @r.capability(provides=["doubled"])
    def double(total: int) -> int:
        """Double a total."""
        return total * 2

    @r.capability(provides=["squared"])
    def square(total: int) -> int:
        """Square a total."""
        return total * total

    @r.capability(provides=["report"])
    def summarise(doubled: int, squared: int, label: str = "result") -> str:
        """Summarise doubled and squared values."""
        return f"{label}: {doubled} {squared}"

    @r.capability(provides={"text": str})
    def stringify(total: int) -> str:
        """Turn a total into text."""
        return str(total)

    @r.capability(provides=["slept"])
    def nap_a(total: int) -> float:
        """Sleep a little (branch a)."""
        time.sleep(0.2)
        return time.perf_counter()

    @r.capability(provides=["napped"])
    def nap_b(total: int) -> float:
        """Sleep a little (branch b)."""
        time.sleep(0.2)
        return time.perf_counter()

    @r.capability(provides=["doubled"])
    async def double_async(total: int) -> int:
        """Double a total, asynchronously."""
        await asyncio.sleep(0.2)
        return total * 2

    @r.capability(provides=["squared"])
    async def square_async(total: int) -> int:
        """Square a total, asynchronously."""
        await asyncio.sleep(0.2)
        return total * total

    @r.capability(provides=["doubled"])
    def explode(total: int) -> int:
        """Always fails."""
        raise RuntimeError(f"cannot handle {total}")

    return r


def diamond(name: str = "diamond", **kw) -> Workflow:
    return Workflow(
        name,
        [step("add"), parallel(step("double"), step("square")), step("summarise")],
        intent="Add, then double and square in parallel, then summarise.",
        **kw,
    )


# -- the built workflow is a capability ----------------------------------------------------------


def test_built_workflow_is_a_capability_with_inferred_contract(registry):
    cap = diamond().build(registry)
    assert cap.kind == "workflow"
    assert [f.name for f in cap.requires] == ["x", "y"]
    assert {f.name for f in cap.provides} == {"total", "doubled", "squared", "report"}
    assert workflow_of(cap).name == "diamond"
    registry.register(cap)
    result = Engine(registry).run("diamond", {"x": 2, "y": 3})
    assert result.status == "ok", result.error
    assert result.outputs["report"] == "result: 10 25"


def test_declared_contract_limits_outputs_and_checks_inputs(registry):
    cap = diamond(requires=["x", "y"], provides={"report": "str"}).build(registry)
    registry.register(cap)
    engine = Engine(registry)
    assert engine.run("diamond", {"x": 1, "y": 1}).outputs == {"report": "result: 4 4"}
    with pytest.raises(ContractError) as err:
        engine.run("diamond", {"x": 1})
    assert err.value.capability == "diamond" and err.value.field == "y"


def test_workflow_is_discoverable_and_nestable(registry):
    registry.register(diamond().build(registry))
    assert registry.discover("double and square then summarise", k=1)[0].capability.name == (
        "diamond"
    )
    outer = Workflow("outer", [step("diamond"), step("stringify")], provides=["text", "report"])
    registry.register(outer.build(registry))
    result = Engine(registry).run("outer", {"x": 1, "y": 2})
    assert result.outputs == {"text": "3", "report": "result: 6 9"}
    # the trace nests: outer -> diamond -> its steps
    names = [s.name for s in result.trace.subtree(result.span)]
    assert names[:3] == ["outer", "diamond", "add"]


def test_optional_input_passes_when_present_and_defaults_otherwise(registry):
    wf = Workflow(
        "labelled",
        [step("add"), parallel(step("double"), step("square")), step("summarise")],
        requires=["x", "y", "label"],
        provides=["report"],
    )
    registry.register(wf.build(registry))
    engine = Engine(registry)
    assert engine.run("labelled", {"x": 1, "y": 0, "label": "L"}).outputs["report"] == "L: 2 1"


# -- renaming (the seed's from= / to=) -------------------------------------------------------------


def test_input_and_output_renaming(registry):
    wf = Workflow(
        "renamed",
        [
            step("add", inputs={"x": "a", "y": "b"}, outputs={"total": "sum"}),
            step("stringify", inputs={"total": "sum"}, outputs={"text": "sum_text"}),
        ],
    )
    cap = wf.build(registry)
    assert {f.name for f in cap.requires} == {"a", "b"}
    assert {f.name for f in cap.provides} == {"sum", "sum_text"}
    registry.register(cap)
    assert Engine(registry).run("renamed", {"a": 4, "b": 5}).outputs == {
        "sum": 9,
        "sum_text": "9",
    }


# -- invalid definitions: each error names workflow, field, step and place -------------------------


def check_error(err: WorkflowError, *, field, step, path_part):
    assert isinstance(err, ContractError)
    assert err.field == field
    assert err.step == step
    assert path_part in err.path
    text = str(err)
    assert repr(field) in text or field is None


def test_missing_input_names_step_and_field(registry):
    wf = Workflow("bad", [step("double"), step("add")], requires=["x", "y"], provides=["doubled"])
    with pytest.raises(WorkflowError) as err:
        wf.build(registry)
    check_error(err.value, field="total", step="double", path_part="steps[0]")
    assert err.value.capability == "bad"


def test_step_order_matters(registry):
    wf = Workflow("bad", [step("summarise"), step("add")], requires=["x", "y"])
    with pytest.raises(WorkflowError) as err:
        wf.build(registry)
    check_error(err.value, field="doubled", step="summarise", path_part="steps[0]")


def test_parallel_branches_must_not_write_the_same_field(registry):
    wf = Workflow("bad", [step("add"), parallel(step("double"), step("double_async"))])
    with pytest.raises(WorkflowError) as err:
        wf.build(registry)
    check_error(err.value, field="doubled", step="double_async", path_part="steps[1]")
    assert "branches[0]" in str(err.value) and "branches[1]" in str(err.value)


def test_parallel_branches_do_not_see_each_other(registry):
    wf = Workflow(
        "bad",
        [step("add"), parallel(step("double"), [step("square"), step("summarise")])],
        requires=["x", "y"],
    )
    with pytest.raises(WorkflowError) as err:
        wf.build(registry)
    check_error(err.value, field="doubled", step="summarise", path_part="steps[1].branches[1][1]")


def test_provides_must_be_produced_on_every_path(registry):
    wf = Workflow(
        "bad",
        [step("add"), branch("total > 3", step("double"), step("square"))],
        provides=["doubled"],
    )
    with pytest.raises(WorkflowError) as err:
        wf.build(registry)
    check_error(err.value, field="doubled", step=None, path_part="provides")
    assert "'then' path of steps[1]" in str(err.value)


def test_unknown_capability_and_bad_renames(registry):
    with pytest.raises(WorkflowError) as err:
        Workflow("bad", [step("ad")]).build(registry)
    assert err.value.step == "ad" and "did you mean 'add'" in str(err.value)
    with pytest.raises(WorkflowError) as err:
        Workflow("bad", [step("add", inputs={"z": "x"})]).build(registry)
    check_error(err.value, field="z", step="add", path_part="steps[0].inputs")
    with pytest.raises(WorkflowError) as err:
        Workflow("bad", [step("add", outputs={"sum": "s"})]).build(registry)
    check_error(err.value, field="sum", step="add", path_part="steps[0].outputs")


def test_condition_must_read_available_fields(registry):
    wf = Workflow("bad", [step("add"), branch("totl > 1", step("double"))], requires=["x", "y"])
    with pytest.raises(WorkflowError) as err:
        wf.build(registry)
    check_error(err.value, field="totl", step=None, path_part="steps[1].when")


def test_type_mismatch_between_steps_is_caught(registry):
    wf = Workflow("bad", [step("add"), step("stringify"), step("double", inputs={"total": "text"})])
    with pytest.raises(WorkflowError) as err:
        wf.build(registry)
    check_error(err.value, field="text", step="double", path_part="steps[2]")
    assert "expects int" in str(err.value)


def test_unused_declared_input_is_an_error(registry):
    wf = Workflow("bad", [step("add")], requires=["x", "y", "typo"])
    with pytest.raises(WorkflowError) as err:
        wf.build(registry)
    assert err.value.field == "typo" and err.value.path == "requires"


def test_a_declared_input_passed_through_to_a_declared_output_is_used(registry):
    """It is compared by name with the outputs (it used to be compared with Field objects,
    never equal, so every pass-through input was refused as unused)."""
    wf = Workflow("carry", [step("add")], requires=["x", "y", "note"], provides=["total", "note"])
    registry.register(wf.build(registry))
    result = Engine(registry).run("carry", {"x": 1, "y": 2, "note": "n"})
    assert result.status == "ok", result.error
    assert result.outputs["note"] == "n"


# -- concurrency and traces ----------------------------------------------------------------------


def test_parallel_sync_branches_overlap_in_time(registry):
    wf = Workflow("naps", [step("add"), parallel(step("nap_a"), step("nap_b"))])
    registry.register(wf.build(registry))
    assert not registry.get("naps").is_async  # all-sync: no event loop, branches on threads
    started = time.perf_counter()
    result = Engine(registry).run("naps", {"x": 1, "y": 1})
    elapsed = time.perf_counter() - started
    assert result.status == "ok", result.error
    assert elapsed < 0.35, f"branches ran one after the other ({elapsed:.3f}s)"
    spans = {s.name: s for s in result.trace.spans}
    a, b = spans["nap_a"], spans["nap_b"]
    assert a.start < b.end and b.start < a.end  # the spans overlap
    assert a.parent_id == b.parent_id == spans["parallel"].span_id
    assert spans["parallel"].parent_id == result.span.span_id
    tree = result.trace.render(result.span)
    assert "naps [ok]" in tree and "\n    nap_a [ok]" in tree


async def test_parallel_async_branches_overlap(registry):
    wf = Workflow(
        "async_diamond",
        [step("add"), parallel(step("double_async"), step("square_async")), step("summarise")],
    )
    registry.register(wf.build(registry))
    assert registry.get("async_diamond").is_async
    started = time.perf_counter()
    result = await Engine(registry).run_async("async_diamond", {"x": 1, "y": 2})
    assert time.perf_counter() - started < 0.35
    assert result.outputs["report"] == "result: 6 9"


def test_failed_step_fails_the_workflow_naming_the_step(registry):
    wf = Workflow("fragile", [step("add"), parallel(step("explode"), step("square"))])
    registry.register(wf.build(registry))
    result = Engine(registry).run("fragile", {"x": 1, "y": 1})
    assert result.status == "failed"
    assert isinstance(result.error, StepFailed)
    assert result.error.step == "explode" and isinstance(result.error.cause, RuntimeError)
    assert {s.name: s.status for s in result.trace.spans}["parallel"] == "failed"


# -- branches ------------------------------------------------------------------------------------


def test_branch_takes_the_path_the_condition_chooses(registry):
    wf = Workflow(
        "choose",
        [
            step("add"),
            branch(
                "total > 10",
                step("double", outputs={"doubled": "answer"}),
                step("square", outputs={"squared": "answer"}),
            ),
        ],
        provides=["answer"],
    )
    registry.register(wf.build(registry))
    engine = Engine(registry)
    big = engine.run("choose", {"x": 10, "y": 5})
    small = engine.run("choose", {"x": 1, "y": 2})
    assert big.outputs == {"answer": 30} and small.outputs == {"answer": 9}
    assert any(s.name == "branch[then]" for s in big.trace.spans)
    assert any(s.name == "branch[otherwise]" for s in small.trace.spans)


def test_callable_condition(registry):
    wf = Workflow(
        "choose",
        [step("add"), branch(lambda d: d["total"] % 2 == 0, step("double"), step("double_async"))],
        provides=["doubled"],
    )
    registry.register(wf.build(registry))
    assert Engine(registry).run("choose", {"x": 2, "y": 2}).outputs == {"doubled": 8}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "x.__class__",
        "open('f')",
        "lambda: 1",
        "[i for i in x]",
        "x if y else z",
    ],
)
def test_condition_rejects_anything_outside_the_whitelist(text):
    with pytest.raises(Exception, match="condition"):
        Condition.parse(text)


@settings(max_examples=60, deadline=None)
@given(
    x=st.integers(-100, 100),
    y=st.integers(-100, 100),
    items=st.lists(st.integers(-5, 5), max_size=5),
)
def test_condition_agrees_with_python(x, y, items):
    data = {"x": x, "y": y, "items": items}
    cases = {
        "x > y and not items": x > y and not items,
        "x + y >= 0 or len(items) == 3": x + y >= 0 or len(items) == 3,
        "x in items or -y in [1, 2]": x in items or -y in [1, 2],
        "0 <= x < 50": 0 <= x < 50,
        "abs(x - y) % 7 == 1": abs(x - y) % 7 == 1,
    }
    for text, expected in cases.items():
        cond = Condition.parse(text)
        assert cond(data) == bool(expected), text
        assert cond.names <= {"x", "y", "items"}


# -- permissions and context per step -------------------------------------------------------------


def test_each_step_runs_in_a_child_context_and_denials_name_the_step(tmp_path):
    r = Registry(embedder=BagOfWordsEmbedder())
    seen: dict[str, Context] = {}

    @r.capability(provides=["report_id"], permissions=["files:read:/reports/*"])
    def read_report(path: str, context: Context) -> str:
        """Read a report file."""
        seen["read"] = context
        return path.rsplit("/", 1)[-1]

    @r.capability(provides=["archived"], permissions=["files:write"], effects=[audit_log()])
    def archive_report(report_id: str) -> bool:
        """Archive a report."""
        return True

    wf = Workflow(
        "archive",
        [
            step("read_report", grants=["files:read:/reports/*"], name="read"),
            step("archive_report"),
        ],
    )
    r.register(wf.build(r))
    store = str(tmp_path / "audit.sqlite")
    engine = Engine(r, store=store)
    admin = Context(principal="alice", grants=["files:admin"])
    ok = engine.run("archive", {"path": "/reports/q1.pdf"}, admin)
    assert ok.outputs == {"report_id": "q1.pdf", "archived": True}
    chain = seen["read"].chain()
    assert [c.strategy for c in chain] == ["root", "restrict"]
    assert chain[-1].grants == {"files:read:/reports/*"} and chain[-1].label == "read"

    reader = Context(principal="bob", grants=["files:read"])
    denied = engine.run("archive", {"path": "/reports/q1.pdf"}, reader)
    assert denied.status == "failed"
    assert isinstance(denied.error, PermissionDenied)
    assert denied.error.capability == "archive_report"
    assert denied.error.permission == "files:write"
    engine.close()
    rows = AuditStore(store).rows(capability="archive_report")
    assert any(row["status"] == "denied" and row["principal"] == "bob" for row in rows)
