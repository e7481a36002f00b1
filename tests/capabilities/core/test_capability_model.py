"""Declaring capabilities: from a decorated function (the signature is the contract) or from data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import pytest
from fakes import BagOfWordsEmbedder

from capabilities import (
    AuditLog,
    Capability,
    Context,
    Engine,
    Metric,
    RegistrationError,
    Registry,
    audit_log,
    metric,
)


@pytest.fixture
def registry() -> Registry:
    return Registry(BagOfWordsEmbedder())


def fields(cap: Capability, group: str = "requires") -> dict[str, tuple[Any, bool, Any]]:
    return {f.name: (f.type, f.required, f.default) for f in getattr(cap, group)}


def test_signature_is_the_contract(registry):
    @registry.capability(provides=["ticket_id"])
    def open_ticket(customer_id: str, tags: list[str], urgent: bool = False, note=None) -> str:
        """Open a support ticket."""
        return "T-1"

    cap = registry.get("open_ticket")
    assert fields(cap) == {
        "customer_id": (str, True, None),
        "tags": (list[str], True, None),
        "urgent": (bool, False, False),
        "note": (Any, False, None),
    }
    assert cap.required_inputs == {"customer_id", "tags"}
    assert cap.input_names == {"customer_id", "tags", "urgent", "note"}
    assert cap.output_names == {"ticket_id"}
    assert cap.intent == "Open a support ticket."
    assert cap.is_async is False
    assert cap.permissions == ()


def test_decorator_returns_the_function_unchanged_and_usable(registry):
    @registry.capability(provides=["y"])
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    assert double(4) == 8
    assert registry.get("double").execute is double


# Return types live at module level: with postponed annotations a hint can only name types the
# function's module can see.
class Summary(TypedDict):
    total: float
    items: list[str]


@dataclass
class Quote:
    price: float
    currency: str


class PairOut(TypedDict):
    a: int
    b: str


def test_bare_decorator_with_typed_dict_return(registry):
    @registry.capability
    def summarise(order_id: str) -> Summary:
        """Summarise an order."""
        return {"total": 1.0, "items": []}

    assert fields(registry.get("summarise"), "provides") == {
        "total": (float, True, None),
        "items": (list[str], True, None),
    }


def test_dataclass_return_type_declares_the_outputs(registry):
    @registry.capability
    def quote(item: str) -> Quote:
        """Quote a price."""
        return Quote(1.0, "EUR")

    assert [f.name for f in registry.get("quote").provides] == ["price", "currency"]
    assert fields(registry.get("quote"), "provides")["price"][0] is float


def test_intent_argument_overrides_the_docstring_and_names_can_be_given(registry):
    @registry.capability(name="lookup", intent="Find an account by id", provides=["account"])
    def f(account_id: str) -> dict:
        """Internal docstring that is not the intent."""
        return {}

    cap = registry.get("lookup")
    assert cap.intent == "Find an account by id"
    assert "f" not in registry
    assert cap.description_text == "lookup: Find an account by id"


def test_provides_as_mapping_of_type_names_is_checked(registry):
    @registry.capability(provides={"score": "float", "labels": "list[str]"})
    def classify(text: str) -> dict:
        """Classify a text."""
        return {}

    assert fields(registry.get("classify"), "provides") == {
        "score": (float, True, None),
        "labels": (list[str], True, None),
    }


def test_provides_as_a_single_string_is_one_output(registry):
    @registry.capability(provides="greeting")
    def greet(name: str) -> str:
        """Greet someone."""
        return name

    assert registry.get("greet").output_names == {"greeting"}


def test_provides_narrows_a_typed_dict_with_its_types(registry):
    @registry.capability(provides=["a"])
    def only_a(x: int) -> PairOut:
        """Return a."""
        return {"a": 1, "b": ""}

    assert fields(registry.get("only_a"), "provides") == {"a": (int, True, None)}


def test_async_functions_are_capabilities(registry):
    @registry.capability(provides=["y"])
    async def fetch(url: str) -> str:
        """Fetch a page."""
        return url

    assert registry.get("fetch").is_async


def test_context_and_engine_parameters_are_injected_not_required(registry):
    @registry.capability(provides=["y"])
    def nested(x: int, ctx: Context, engine: Engine) -> int:
        """Call others."""
        return x

    cap = registry.get("nested")
    assert cap.input_names == {"x"}
    assert dict(cap.inject) == {"ctx": "context", "engine": "engine"}


def test_effects_permissions_examples_metadata_are_kept(registry):
    @registry.capability(
        provides=["y"],
        effects=[audit_log(level="warning"), metric("calls")],
        permissions=["orders:read"],
        examples=["where is my order"],
        metadata={"service_time": 0.5},
    )
    def track(order_id: str) -> str:
        """Track an order."""
        return ""

    cap = registry.get("track")
    assert cap.effects == (AuditLog("warning"), Metric("calls", "counter"))
    assert cap.permissions == ("orders:read",)
    assert cap.examples == ("where is my order",)
    assert cap.metadata["service_time"] == 0.5
    described = cap.describe()
    assert described["requires"] == [{"name": "order_id", "type": "str", "required": True}]
    assert described["permissions"] == ["orders:read"]


# -- bad declarations ---------------------------------------------------------------------------
def _declare(registry, fn, **kw):
    registry.capability(**kw)(fn)


def _star_args(*items: str) -> str:
    """Join."""
    return ""


def _star_kwargs(**options: str) -> str:
    """Options."""
    return ""


def _positional_only(a: int, /) -> int:
    """Positional."""
    return a


def _no_docstring(x: int) -> int:
    return x


def _bad_hint(x: NoSuchType) -> int:  # type: ignore[name-defined]  # noqa: F821
    """Unresolvable."""
    return 0


@pytest.mark.parametrize(
    ("fn", "kw", "message"),
    [
        (_star_args, {"provides": ["y"]}, "parameter 'items' must be a plain named"),
        (_star_kwargs, {"provides": ["y"]}, "parameter 'options' must be a plain named"),
        (_positional_only, {"provides": ["y"]}, "parameter 'a' must be a plain named"),
        (_no_docstring, {"provides": ["y"]}, "intent is empty"),
        (_no_docstring, {"intent": "x"}, "say what it provides"),
        (_bad_hint, {"provides": ["y"]}, "cannot resolve type hints"),
        (_no_docstring, {"intent": "x", "provides": ["y", "y"]}, "provides names 'y' twice"),
        (_no_docstring, {"intent": "x", "provides": {"y": "strng"}}, "unknown type 'strng'"),
        (_no_docstring, {"intent": "x", "provides": {"y": 3}}, "3 is not a type"),
        (_no_docstring, {"intent": "x", "provides": ["not valid"]}, "not a valid identifier"),
        (_no_docstring, {"intent": "x", "provides": ["y"], "name": "bad-name"}, "valid identifier"),
        (_no_docstring, {"intent": "x", "provides": ["y"], "effects": ["audit"]}, "not an effect"),
    ],
)
def test_bad_declarations_raise_registration_error_naming_the_capability(registry, fn, kw, message):
    with pytest.raises(RegistrationError, match=message) as info:
        _declare(registry, fn, **kw)
    assert repr(kw.get("name", fn.__name__)) in str(info.value)
    assert len(registry) == 0


def test_duplicate_names_are_refused_unless_replaced(registry):
    registry.capability(provides=["y"], intent="one")(_no_docstring)
    with pytest.raises(RegistrationError, match="'_no_docstring' is already registered"):
        registry.capability(provides=["y"], intent="two")(_no_docstring)
    assert registry.get("_no_docstring").intent == "one"
    registry.register(
        Capability.from_function(_no_docstring, intent="two", provides=["y"]), replace=True
    )
    assert registry.get("_no_docstring").intent == "two"


def test_register_refuses_non_capabilities(registry):
    with pytest.raises(RegistrationError, match="got function"):
        registry.register(_no_docstring)  # type: ignore[arg-type]


# -- from plain data ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["fakes:word_count", "fakes.word_count"])
def test_from_data_imports_the_function_by_dotted_path(path):
    cap = Capability.from_data({"name": "count_words", "function": path, "provides": ["words"]})
    assert cap.execute.__name__ == "word_count"
    assert cap.intent.startswith("Count the words")  # docstring when no intent is given
    assert fields(cap) == {"text": (str, True, None), "minimum_length": (int, False, 1)}


def test_from_data_types_strings_and_effects(registry):
    cap = registry.register_data(
        {
            "name": "join",
            "intent": "Join words into a sentence",
            "function": "fakes:untyped_join",
            "requires": {"parts": "list[str]", "separator": "str"},
            "provides": {"sentence": "str"},
            "permissions": ["text:read"],
            "examples": ["glue these words"],
            "effects": ["audit_log", {"metric": {"name": "joins", "kind": "histogram"}}],
        }
    )
    assert fields(cap) == {"parts": (list[str], True, None), "separator": (str, False, " ")}
    assert fields(cap, "provides") == {"sentence": (str, True, None)}
    assert cap.effects == (AuditLog("info"), Metric("joins", "histogram"))
    assert cap.examples == ("glue these words",)
    with Engine(registry) as engine:
        ctx = Context(principal="ada", grants=["text:write"])  # write implies read
        assert engine.run("join", {"parts": ["a", "b"]}, ctx).outputs == {"sentence": "a b"}
        assert engine.metrics.summary("joins", "join").count == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "x", "function": "fakes:word_count", "provides": ["w"], "colour": 1},
            "unknown key",
        ),
        ({"name": "x", "provides": ["w"]}, "missing required key 'function'"),
        ({"function": "fakes:word_count", "provides": ["w"]}, "missing required key 'name'"),
        ({"name": "x", "function": "no_such_module_xyz:f", "provides": ["w"]}, "cannot import"),
        ({"name": "x", "function": "fakes:nope", "provides": ["w"]}, "has no 'nope'"),
        ({"name": "x", "function": "fakes:NOT_CALLABLE", "provides": ["w"]}, "not callable"),
        ({"name": "x", "function": "word_count", "provides": ["w"]}, "not a dotted path"),
        (
            {"name": "x", "function": "fakes:word_count", "provides": ["w"], "requires": ["txt"]},
            "'txt' is not a parameter",
        ),
        (
            {
                "name": "x",
                "function": "fakes:word_count",
                "provides": ["w"],
                "requires": ["minimum_length"],
            },
            "also needs 'text'",
        ),
        (
            {
                "name": "x",
                "function": "fakes:word_count",
                "provides": ["w"],
                "requires": {"text": "list[strr]"},
            },
            r"scenario\.yaml#3\.requires\.text: unknown type 'strr'",
        ),
        (
            {"name": "x", "function": "fakes:word_count", "provides": ["w"], "effects": ["log"]},
            r"effects\[0\]: unknown effect 'log'",
        ),
        (
            {
                "name": "x",
                "function": "fakes:word_count",
                "provides": ["w"],
                "effects": [{"audit_log": {"level": "loud"}}],
            },
            "level 'loud'",
        ),
        (
            {"name": "x", "function": "fakes:word_count", "provides": ["w"], "examples": "hi"},
            "examples: expected a list",
        ),
    ],
)
def test_from_data_errors_name_where_and_what(data, message):
    with pytest.raises(RegistrationError, match=message) as info:
        Capability.from_data(data, where="scenario.yaml#3")
    assert str(info.value).startswith("scenario.yaml#3") or "'x'" in str(info.value)


# -- other callables ----------------------------------------------------------------------------
def _add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


class Greeter:
    """Greet people politely."""

    def __init__(self, greeting: str):
        self.greeting = greeting

    def __call__(self, name: str) -> str:
        return f"{self.greeting} {name}"


class AsyncEcho:
    async def __call__(self, text: str) -> str:
        """Echo a text back."""
        return text


def test_partials_and_callable_objects_are_capabilities(registry):
    import functools

    registry.capability(name="add_ten", provides={"sum": "int"})(functools.partial(_add, b=10))
    registry.capability(name="greet", provides=["greeting"])(Greeter("hello"))
    registry.capability(name="echo", provides=["text"])(AsyncEcho())
    add_ten, greet, echo = (registry.get(n) for n in ("add_ten", "greet", "echo"))
    assert fields(add_ten) == {"a": (int, True, None), "b": (int, False, 10)}
    assert add_ten.intent == "Add two numbers."
    assert fields(greet) == {"name": (str, True, None)}
    assert greet.intent == "Greet people politely."
    assert echo.is_async and echo.intent == "Echo a text back."
    with Engine(registry) as engine:
        assert engine.run("add_ten", {"a": 5}).outputs == {"sum": 15}
        assert engine.run("greet", {"name": "ada"}).outputs == {"greeting": "hello ada"}
        assert engine.run("echo", {"text": "hi"}).outputs == {"text": "hi"}


def test_a_nameless_callable_needs_a_name(registry):
    import functools

    with pytest.raises(RegistrationError, match="give the capability a name="):
        registry.capability(provides=["sum"])(functools.partial(_add, b=1))
