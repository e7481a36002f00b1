"""Permissions: parsing, implication hierarchies, wildcards, resource scopes, hierarchies from data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capabilities import DEFAULT_HIERARCHY, PacketFlowError, Permission, PermissionHierarchy

H = DEFAULT_HIERARCHY


# -- parsing -------------------------------------------------------------------------------------
def test_parse_forms_and_round_trip():
    assert Permission.parse("files:read") == Permission("files", "read")
    scoped = Permission.parse("files:read:/reports/*")
    assert scoped == Permission("files", "read", "/reports/*")
    assert str(scoped) == "files:read:/reports/*"
    assert Permission.parse("db:read:host:5432") == Permission("db", "read", "host:5432")
    assert Permission.parse("files:read:").resource is None
    assert Permission.parse(scoped) is scoped


@pytest.mark.parametrize("bad", ["files", "", ":read", "files:", "fi les:read", "files:re ad", "a"])
def test_malformed_permissions_are_rejected_with_the_text(bad):
    with pytest.raises(PacketFlowError, match="permission"):
        Permission.parse(bad)


def test_a_non_string_permission_is_rejected_by_type():
    with pytest.raises(PacketFlowError, match="must be a string"):
        Permission.parse(42)  # type: ignore[arg-type]


# -- implication ---------------------------------------------------------------------------------
def test_default_chain_admin_write_read():
    assert H.implies("files:admin", "files:write")
    assert H.implies("files:admin", "files:read")  # transitive
    assert H.implies("files:write", "files:read")
    assert not H.implies("files:read", "files:write")
    assert not H.implies("files:write", "files:admin")
    assert not H.implies("files:admin", "files:delete")  # unrelated action
    assert not H.implies("files:admin", "db:read")  # other namespace


def test_wildcards():
    assert H.implies("files:*", "files:delete")
    assert H.implies("files:*", "files:read:/any/thing")
    assert not H.implies("files:*", "db:read")
    assert H.implies("*:admin", "db:read")
    assert not H.implies("*:read", "db:write")
    assert H.implies("*:*", "anything:at_all:/x")


def test_resource_scoping():
    grant = "files:read:/reports/*"
    assert H.implies(grant, "files:read:/reports/q1.pdf")
    assert H.implies(grant, "files:read:/reports/2024/q1.pdf")  # '*' covers the subtree
    assert not H.implies(grant, "files:read:/secrets/key")
    assert not H.implies(grant, "files:read")  # scoped grant never covers every resource
    assert not H.implies(grant, "files:write:/reports/q1.pdf")  # read does not imply write
    assert H.implies("files:admin:/reports/*", "files:read:/reports/q1.pdf")
    assert H.implies("files:read", "files:read:/secrets/key")  # unscoped covers all resources


def test_path_traversal_cannot_escape_a_scoped_grant():
    assert not H.implies("files:read:/reports/*", "files:read:/reports/../secrets/key")
    assert H.implies("files:read:/reports/*", "files:read:/reports/./q1.pdf")


def test_missing_lists_uncovered_needs_in_order():
    grants = ["files:write", "db:read:/orders/*"]
    needs = ["files:read", "db:write:/orders/1", "files:admin", "db:read:/orders/7"]
    assert H.missing(grants, needs) == ["db:write:/orders/1", "files:admin"]
    assert H.missing(grants, []) == []
    assert H.missing([], ["files:read"]) == ["files:read"]
    assert H.covering(grants, "db:read:/orders/7") == "db:read:/orders/*"
    assert H.covering(grants, "db:admin") is None


def test_per_namespace_rules_add_to_global_ones():
    h = PermissionHierarchy()
    h.imply("approve", "request", namespace="deploy")
    assert h.implies("deploy:approve", "deploy:request")
    assert not h.implies("billing:approve", "billing:request")
    assert h.implies("deploy:admin", "deploy:read")  # global rules still apply


def test_new_rules_take_effect_after_earlier_checks():
    h = PermissionHierarchy()
    assert not h.implies("files:owner", "files:read")
    h.imply("owner", "admin")
    assert h.implies("files:owner", "files:read")


def test_an_empty_hierarchy_implies_only_itself():
    h = PermissionHierarchy({})
    assert h.implies("files:admin", "files:admin")
    assert not h.implies("files:admin", "files:read")


@pytest.mark.parametrize("bad", ["", "a:b", "*"])
def test_imply_rejects_malformed_action_names(bad):
    with pytest.raises(PacketFlowError, match="action"):
        PermissionHierarchy().imply(bad, "read")


# -- hierarchies from data -----------------------------------------------------------------------
def test_hierarchy_from_data():
    h = PermissionHierarchy.from_data(
        {"actions": {"owner": ["admin"]}, "namespaces": {"deploy": {"approve": "request"}}}
    )
    assert h.implies("files:owner", "files:read")
    assert h.implies("deploy:approve", "deploy:request")
    assert not h.implies("files:approve", "files:request")
    bare = PermissionHierarchy.from_data({"defaults": False, "actions": {"write": ["read"]}})
    assert bare.implies("files:write", "files:read")
    assert not bare.implies("files:admin", "files:write")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"roles": {}}, "permissions: unknown key(s) ['roles']"),
        ({"defaults": "yes"}, "permissions.defaults"),
        ({"actions": ["admin"]}, "permissions.actions"),
        ({"actions": {"owner": [1]}}, "permissions.actions.owner"),
        ({"actions": {"owner": ["a:b"]}}, "permissions.actions.owner"),
        ({"namespaces": {"deploy": {"approve": 3}}}, "permissions.namespaces.deploy.approve"),
        ({"namespaces": {"de:ploy": {}}}, "permissions.namespaces"),
        ({"namespaces": []}, "permissions.namespaces"),
    ],
)
def test_hierarchy_from_data_errors_name_the_field(data, field):
    with pytest.raises(PacketFlowError) as info:
        PermissionHierarchy.from_data(data)
    assert str(info.value).startswith(field)


# -- invariants ----------------------------------------------------------------------------------
ACTIONS = st.sampled_from(["read", "write", "admin", "delete", "*"])
NAMESPACES = st.sampled_from(["files", "db", "*"])
RESOURCES = st.sampled_from([None, "/reports/*", "/reports/q1", "/secrets/k", "/*"])


@st.composite
def permissions(draw, wildcard: bool = True) -> str:
    ns = draw(NAMESPACES if wildcard else st.sampled_from(["files", "db"]))
    action = draw(ACTIONS if wildcard else st.sampled_from(["read", "write", "admin", "delete"]))
    resource = draw(RESOURCES)
    return f"{ns}:{action}" + ("" if resource is None else f":{resource}")


@given(permissions())
def test_every_permission_covers_itself(p):
    assert H.implies(p, p)


@given(permissions(), permissions(), permissions())
def test_implication_is_transitive(a, b, c):
    if H.implies(a, b) and H.implies(b, c):
        assert H.implies(a, c)


@given(st.lists(permissions(), max_size=4), st.lists(permissions(), max_size=6))
def test_missing_is_exactly_the_needs_no_grant_covers(grants, needs):
    missing = H.missing(grants, needs)
    assert missing == [n for n in needs if not any(H.implies(g, n) for g in grants)]
    assert H.missing([*grants, *needs], needs) == []  # granting the needs themselves suffices
