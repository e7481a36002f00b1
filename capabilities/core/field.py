"""A field: one named, typed input or output of a capability."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from capabilities.core.typecheck import Predicate, compile_hint, describe
from capabilities.errors import RegistrationError


@dataclass(frozen=True, slots=True)
class Field:
    """One input or output of a capability: a name, a type hint and, for inputs, a default."""

    name: str
    type: Any = Any
    required: bool = True
    default: Any = None
    description: str = ""
    check: Predicate = dataclasses.field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise RegistrationError(f"field name {self.name!r} is not a valid identifier")
        object.__setattr__(self, "check", compile_hint(self.type))

    @property
    def type_name(self) -> str:
        return describe(self.type)
