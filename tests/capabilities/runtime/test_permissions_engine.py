"""Permissions enforced by the engine: denials raise, are audited with principal and permission;
implied and scoped grants run; authority flows through nested calls and workflow steps."""

from __future__ import annotations

import pytest

from capabilities import (
    Context,
    Engine,
    PermissionDenied,
    PermissionHierarchy,
    Registry,
    Workflow,
    audit_log,
    metric,
    step,
)


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def registry(calls) -> Registry:
    reg = Registry()

    @reg.capability(provides=["report"], permissions=["files:read:/reports/*"])
    def read_report(path: str) -> str:
        """Read one quarterly report."""
        calls.append("read_report")
        return f"contents of {path}"

    @reg.capability(
        provides=["receipt"],
        permissions=["files:write:/archive/*"],
        effects=[audit_log(), metric("archive_calls")],
    )
    def archive_report(report: str) -> str:
        """Archive a report."""
        calls.append("archive_report")
        return f"archived {len(report)} chars"

    @reg.capability(provides=["approved"], permissions=["deploy:approve"])
    def approve_release(version: str) -> bool:
        """Approve a release for production."""
        calls.append("approve_release")
        return True

    @reg.capability(provides=["summary"])
    def summarise(path: str, context: Context, engine: Engine) -> str:
        """Read a report on the caller's behalf, with only read authority, and summarise it."""
        reader = context.child("restrict", grants=["files:read:/reports/*"], label="summarise")
        return engine.run("read_report", {"path": path}, reader).unwrap()["report"][:12]

    return reg


@pytest.fixture
def engine(registry):
    with Engine(registry) as e:
        yield e


def test_denial_names_capability_permission_and_principal(engine, calls):
    with pytest.raises(PermissionDenied) as info:
        engine.run("archive_report", {"report": "q1"}, Context("bob", ["files:read"]))
    err = info.value
    assert err.capability == "archive_report"
    assert err.permission == "files:write:/archive/*"
    assert err.principal == "bob"
    assert "'archive_report'" in str(err) and "'files:write:/archive/*'" in str(err)
    assert calls == []  # never executed


def test_denials_are_audited_with_principal_and_missing_permission(engine):
    ctx = Context("bob", ["files:read"])
    with pytest.raises(PermissionDenied):
        engine.run("archive_report", {"report": "q1"}, ctx)
    (row,) = engine.audit.rows("archive_report", status="denied")
    assert row["principal"] == "bob" and row["request_id"] == ctx.request_id
    assert "files:write:/archive/*" in row["error"]
    assert engine.metrics.count("archive_calls", "archive_report", "denied") == 1


def test_denials_are_audited_even_without_a_declared_audit_effect(engine):
    with pytest.raises(PermissionDenied):
        engine.run("approve_release", {"version": "1.2"}, Context("mallory", ["deploy:read"]))
    (row,) = engine.audit.rows("approve_release")
    assert row["status"] == "denied" and row["principal"] == "mallory"
    assert "deploy:approve" in row["error"] and row["level"] == "warning"


def test_anonymous_callers_are_denied(engine):
    with pytest.raises(PermissionDenied) as info:
        engine.run("read_report", {"path": "/reports/q1"})
    assert info.value.principal == "anonymous"


def test_grants_implying_the_need_run(engine, calls):
    admin = Context("carol", ["files:admin"])
    assert engine.run("archive_report", {"report": "q1"}, admin).status == "ok"
    scoped = Context("dave", ["files:write:/archive/*"])
    assert engine.run("archive_report", {"report": "q1"}, scoped).status == "ok"
    assert engine.run("read_report", {"path": "/reports/q1"}, admin).status == "ok"
    assert calls == ["archive_report", "archive_report", "read_report"]


def test_a_scoped_grant_for_other_resources_is_denied(engine):
    with pytest.raises(PermissionDenied):
        engine.run("read_report", {"path": "/r"}, Context("erin", ["files:admin:/archive/*"]))


def test_engine_uses_its_own_hierarchy(registry, calls):
    h = PermissionHierarchy.from_data({"namespaces": {"deploy": {"release_manager": ["approve"]}}})
    ctx = Context("rm", ["deploy:release_manager"])
    with Engine(registry) as default_engine, pytest.raises(PermissionDenied):
        default_engine.run("approve_release", {"version": "2.0"}, ctx)
    with Engine(registry, hierarchy=h) as custom:
        assert custom.run("approve_release", {"version": "2.0"}, ctx).outputs == {"approved": True}


def test_nested_call_runs_with_a_restricted_child_and_the_trace_shows_the_chain(engine):
    ctx = Context("alice", ["files:admin"])
    result = engine.run("summarise", {"path": "/reports/q1"}, ctx)
    assert result.status == "ok" and result.outputs == {"summary": "contents of "}
    outer, inner = result.trace.spans
    assert inner.name == "read_report" and inner.parent_id == outer.span_id
    assert inner.attributes["context"] == "alice[root] -> alice[restrict:summarise]"
    assert "ctx: alice[root] -> alice[restrict:summarise]" in result.trace.render()


def test_nested_denial_fails_the_outer_capability_and_is_audited(engine):
    result = engine.run("summarise", {"path": "/reports/q1"}, Context("bob", ["db:read"]))
    assert result.status == "failed" and isinstance(result.error, PermissionDenied)
    assert result.error.capability == "summarise"  # the restrict asked for more than bob holds
    assert result.error.permission == "files:read:/reports/*"


@pytest.fixture
def flow(registry) -> str:
    wf = Workflow(
        "archive_quarter",
        steps=[step("read_report", grants=["files:read:/reports/*"]), step("archive_report")],
        intent="Read a quarterly report and archive it",
    )
    registry.register(wf.build(registry))
    return "archive_quarter"


def test_workflow_steps_run_under_implied_grants_in_child_contexts(engine, flow, calls):
    ctx = Context("alice", ["files:admin"])
    result = engine.run(flow, {"path": "/reports/q1"}, ctx)
    assert result.status == "ok" and calls == ["read_report", "archive_report"]
    spans = {s.name: s for s in result.trace}
    assert (
        spans["read_report"].attributes["context"] == "alice[root] -> alice[restrict:read_report]"
    )
    assert spans["archive_report"].attributes["context"].startswith("alice[root] -> alice[inherit")


def test_workflow_step_denial_names_the_step_capability_and_is_audited(engine, flow, calls):
    ctx = Context("bob", ["files:read"])
    result = engine.run(flow, {"path": "/reports/q1"}, ctx)
    assert result.status == "failed"
    denied = result.error
    while not isinstance(denied, PermissionDenied):  # a workflow may wrap the step's error
        denied = getattr(denied, "cause", None) or denied.__cause__
        assert denied is not None, f"no PermissionDenied in {result.error!r}"
    assert denied.capability == "archive_report" and denied.permission == "files:write:/archive/*"
    assert calls == ["read_report"]  # the step before ran, the denied one did not
    (row,) = engine.audit.rows("archive_report", status="denied")
    assert row["principal"] == "bob" and row["request_id"] == ctx.request_id
