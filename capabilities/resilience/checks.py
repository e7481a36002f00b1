"""Number checks shared by the resilience settings (each error names its field)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capabilities.errors import (
    RegistrationError,
)

if TYPE_CHECKING:
    pass


def check_int(value: Any, where: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RegistrationError(f"{where}: expected an integer >= {minimum}, got {value!r}")


def check_number(value: Any, where: str, *, minimum: float, exclusive: bool = False) -> None:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and (value > minimum if exclusive else value >= minimum)
        and value == value  # not NaN
    )
    if not ok:
        bound = f"> {minimum}" if exclusive else f">= {minimum}"
        raise RegistrationError(f"{where}: expected a number {bound}, got {value!r}")
