"""Who may call: principals, their grants, bearer tokens (an AccessConfig from data)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.server.auth.provider import AccessToken

from capabilities.core.context import Context
from capabilities.core.security import validate_grants
from capabilities.errors import PacketFlowError


# -- who is calling ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Principal:
    """A caller identity and the grants it holds (``["profile:read", "tickets:*"]``)."""

    name: str
    grants: frozenset[str] = frozenset()

    def context(self, label: str | None = None) -> Context:
        return Context(principal=self.name, grants=self.grants, label=label)


@dataclass(frozen=True, slots=True)
class AccessConfig:
    """Who a session is: ``principal`` for stdio (and HTTP when no tokens are configured);
    over HTTP with ``tokens``, each bearer token maps to its principal and others are refused."""

    principal: Principal = Principal("local")
    tokens: Mapping[str, Principal] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Any, where: str = "mcp config") -> AccessConfig:
        """``{principal: NAME, grants: [...], tokens: {TOKEN: {principal: NAME, grants: [...]}}}``."""
        if not isinstance(data, Mapping):
            raise PacketFlowError(f"{where}: expected a mapping, got {type(data).__name__}")
        unknown = set(data) - {"principal", "grants", "tokens"}
        if unknown:
            raise PacketFlowError(
                f"{where}: unknown key(s) {sorted(unknown)}; expected principal, grants, tokens"
            )
        default = principal_from_data(data, where, default_name="local")
        tokens_data = data.get("tokens", {}) or {}
        if not isinstance(tokens_data, Mapping):
            raise PacketFlowError(f"{where}.tokens: expected a mapping token -> principal")
        tokens = {}
        for token, entry in tokens_data.items():
            if not isinstance(token, str) or len(token) < 8:
                raise PacketFlowError(f"{where}.tokens: token {token!r} must be a string of >= 8")
            tokens[token] = principal_from_data(entry, f"{where}.tokens[{token[:4]}…]", None)
        return cls(default, tokens)

    @classmethod
    def load(cls, path: str | Path) -> AccessConfig:
        """Read a YAML or JSON config file (see :meth:`from_data`)."""
        import yaml

        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text())
        except OSError as exc:
            raise PacketFlowError(f"mcp config {str(p)!r}: cannot read ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise PacketFlowError(f"mcp config {str(p)!r}: not valid YAML/JSON ({exc})") from None
        return cls.from_data(data or {}, where=f"mcp config {str(p)!r}")


def principal_from_data(data: Any, where: str, default_name: str | None) -> Principal:
    if isinstance(data, str):
        data = {"principal": data}
    if not isinstance(data, Mapping):
        raise PacketFlowError(f"{where}: expected {{principal: NAME, grants: [...]}}")
    name = data.get("principal", default_name)
    if not isinstance(name, str) or not name:
        raise PacketFlowError(f"{where}.principal: a non-empty name is required")
    grants = data.get("grants", []) or []
    if isinstance(grants, str) or not isinstance(grants, Sequence):
        raise PacketFlowError(f"{where}.grants: expected a list of permissions")
    validate_grants(grants, where=f"{where}.grants")
    return Principal(name, frozenset(grants))


class TokenTable:
    """``TokenVerifier`` for the SDK's bearer-auth middleware: a fixed token -> principal table."""

    def __init__(self, tokens: Mapping[str, Principal]):
        self.tokens = dict(tokens)

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = self.tokens.get(token)
        if principal is None:
            return None
        return AccessToken(token=token, client_id=principal.name, scopes=sorted(principal.grants))
