"""Context propagation: inherit, restrict (never escalate), merge; chain, request id and trace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capabilities import (
    DEFAULT_HIERARCHY,
    Context,
    PacketFlowError,
    PermissionDenied,
    PermissionHierarchy,
)


@pytest.fixture
def root() -> Context:
    return Context("alice", ["files:admin", "db:read:/orders/*"])


def test_inherit_keeps_principal_grants_request_and_trace(root):
    child = root.child(label="step_a")
    assert child.principal == "alice" and child.grants == root.grants
    assert child.request_id == root.request_id
    assert child.trace is root.trace
    assert child.parent is root and child.strategy == "inherit" and child.label == "step_a"
    assert child.span_id == root.span_id


def test_restrict_keeps_only_a_covered_subset(root):
    child = root.child("restrict", grants=["files:read:/reports/*"], label="reader")
    assert child.grants == {"files:read:/reports/*"}
    assert DEFAULT_HIERARCHY.allows(child.grants, "files:read:/reports/q1")
    assert not DEFAULT_HIERARCHY.allows(child.grants, "files:write:/reports/q1")
    assert child.request_id == root.request_id and child.trace is root.trace


def test_restrict_cannot_escalate(root):
    with pytest.raises(PermissionDenied) as info:
        root.child("restrict", grants=["files:read", "db:write:/orders/*"], label="sneaky")
    err = info.value
    assert err.capability == "sneaky" and err.permission == "db:write:/orders/*"
    assert err.principal == "alice"
    assert any("restrict cannot add grants" in note for note in err.__notes__)


def test_a_restricted_child_cannot_regain_what_it_gave_up(root):
    reader = root.child("restrict", grants=["files:read"])
    with pytest.raises(PermissionDenied):
        reader.child("restrict", grants=["files:write"])
    assert reader.child().grants == {"files:read"}  # inheriting keeps the restriction


def test_restrict_needs_grants(root):
    with pytest.raises(PacketFlowError, match="restrict needs grants"):
        root.child("restrict")


def test_restrict_uses_the_given_hierarchy():
    h = PermissionHierarchy.from_data({"namespaces": {"deploy": {"approve": ["request"]}}})
    approver = Context("ops", ["deploy:approve"])
    assert approver.child("restrict", grants=["deploy:request"], hierarchy=h).grants == {
        "deploy:request"
    }
    with pytest.raises(PermissionDenied):
        approver.child("restrict", grants=["deploy:request"])  # not under the default rules


def test_merge_unites_two_callers_authority(root):
    bob = Context("bob", ["billing:write"])
    merged = root.child("merge", other=bob, label="joint")
    assert merged.grants == root.grants | bob.grants
    assert merged.principal == "alice+bob"
    assert merged.request_id == root.request_id and merged.trace is root.trace
    assert merged.parent is root and merged.strategy == "merge"
    assert root.child("merge", other=Context("alice", ["x:read"])).principal == "alice"


def test_merge_needs_another_context(root):
    with pytest.raises(PacketFlowError, match="merge needs other"):
        root.child("merge", other=["billing:write"])  # type: ignore[arg-type]


def test_unknown_strategy_is_rejected(root):
    with pytest.raises(PacketFlowError, match="unknown propagation strategy 'borrow'"):
        root.child("borrow")


def test_chain_and_describe_show_how_authority_flowed(root):
    leaf = (
        root.child(label="workflow")
        .child("restrict", grants=["files:read"], label="read_step")
        .child(label="nested")
    )
    chain = leaf.chain()
    assert chain[0] is root and chain[-1] is leaf and len(chain) == 4
    assert [c.strategy for c in chain] == ["root", "inherit", "restrict", "inherit"]
    assert leaf.describe() == (
        "alice[root] -> alice[inherit:workflow] -> alice[restrict:read_step] -> alice[inherit:nested]"
    )
    assert {c.request_id for c in chain} == {root.request_id}
    assert all(c.trace is root.trace for c in chain)


def test_at_span_keeps_authority_and_chain(root):
    child = root.child("restrict", grants=["files:read"])
    moved = child.at_span(42)
    assert moved.span_id == 42 and moved.grants == child.grants and moved.parent is root


def test_one_string_is_one_grant():
    assert Context("a", "files:read").grants == {"files:read"}
    assert Context("a", ["files:admin"]).child("restrict", grants="files:read").grants == {
        "files:read"
    }


def test_malformed_grants_are_rejected_when_the_context_is_made():
    with pytest.raises(PacketFlowError, match=r"Context\(principal='eve'\).grants"):
        Context("eve", ["files:read", "superuser"])


def test_every_root_context_gets_its_own_request_id_and_trace():
    a, b = Context(), Context()
    assert a.request_id != b.request_id and a.trace is not b.trace


GRANTS = st.sampled_from(
    ["files:admin", "files:read", "files:write:/reports/*", "db:read", "db:*", "billing:read:/x/*"]
)
NEEDS = st.sampled_from(
    [
        "files:read",
        "files:write",
        "files:admin",
        "files:read:/reports/q",
        "files:write:/reports/q",
        "db:read",
        "db:delete",
        "billing:read:/x/1",
        "billing:write:/x/1",
    ]
)


@given(st.sets(GRANTS, max_size=4), st.sets(GRANTS, max_size=4), st.lists(NEEDS, max_size=6))
def test_no_child_ever_holds_more_than_its_parent(parent_grants, wanted, needs):
    parent = Context("p", parent_grants)
    try:
        child = parent.child("restrict", grants=wanted)
    except PermissionDenied as exc:
        assert not DEFAULT_HIERARCHY.allows(parent.grants, exc.permission)
        return
    for need in needs:
        if DEFAULT_HIERARCHY.allows(child.grants, need):
            assert DEFAULT_HIERARCHY.allows(parent.grants, need)
