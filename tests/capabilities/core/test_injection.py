"""Injected services are recognised by a marker, so moving a module cannot switch injection off."""

from __future__ import annotations

from capabilities import Context, Engine, EngineHandle, Registry
from capabilities.core.data import INJECT_MARKER, injected_service


def test_the_engine_and_the_context_carry_the_injection_marker():
    assert injected_service(Context) == "context"
    assert injected_service(Engine) == "engine"
    assert injected_service(EngineHandle) == "engine"
    assert getattr(Context, INJECT_MARKER) == "context"
    assert injected_service(dict) is None and injected_service("Engine") is None


def test_injected_parameters_are_filled_in_not_required():
    registry = Registry()

    @registry.capability(provides=["who", "same_engine"])
    def whoami(text: str, context: Context, engine: Engine, handle: EngineHandle) -> dict:
        """Say who called."""
        return {"who": context.principal, "same_engine": engine is handle}

    cap = registry.get("whoami")
    assert cap.input_names == {"text"}
    assert dict(cap.inject) == {"context": "context", "engine": "engine", "handle": "engine"}
    engine = Engine(registry)
    out = engine.run("whoami", {"text": "hi"}, Context(principal="ada")).outputs
    assert out == {"who": "ada", "same_engine": True}
