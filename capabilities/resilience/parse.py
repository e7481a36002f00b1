"""Policies from plain data: the checks and parsers behind ``Policy.from_data``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from capabilities.core.data import check_keys, import_dotted
from capabilities.errors import (
    RegistrationError,
)

if TYPE_CHECKING:
    pass
from capabilities.resilience.breaker import CircuitBreaker
from capabilities.resilience.checks import check_int
from capabilities.resilience.retry import Retry


def exception_class(name: Any, where: str) -> type[BaseException]:
    if isinstance(name, type) and issubclass(name, BaseException):
        return name
    if not isinstance(name, str) or not name:
        raise RegistrationError(f"{where}: {name!r} is not an exception class name")
    found = getattr(builtins, name, None)
    if found is None:
        if "." not in name and ":" not in name:
            raise RegistrationError(
                f"{where}: {name!r} is neither a builtin exception nor a dotted path "
                "like 'package.module:Error'"
            )
        found = import_dotted(name, where=where)
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        raise RegistrationError(f"{where}: {name!r} is not an exception class")
    return found


def retry_from_data(spec: Any, where: str) -> Retry | None:
    if spec is None:
        return None
    if isinstance(spec, int) and not isinstance(spec, bool):
        check_int(spec, where, minimum=1)
        return Retry(attempts=spec)
    if not isinstance(spec, Mapping):
        raise RegistrationError(f"{where}: expected a number of attempts or a mapping")
    known = {"attempts", "backoff", "max_backoff", "multiplier", "jitter", "on"}
    check_keys(spec, known, where)
    kwargs = {k: spec[k] for k in known - {"on"} if k in spec}
    if "on" in spec:
        on = spec["on"]
        on = [on] if isinstance(on, str) else on
        if not isinstance(on, list | tuple) or not on:
            raise RegistrationError(f"{where}.on: expected a list of exception class names")
        kwargs["on"] = tuple(exception_class(n, f"{where}.on") for n in on)
    try:
        return Retry(**kwargs)
    except RegistrationError as exc:
        raise RegistrationError(f"{where}.{str(exc).removeprefix('retry.')}") from None


def breaker_from_data(spec: Any, where: str) -> CircuitBreaker | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise RegistrationError(f"{where}: expected a mapping of breaker settings")
    known = {"failure_threshold", "reset_timeout", "success_threshold"}
    check_keys(spec, known, where)
    try:
        return CircuitBreaker(**{k: spec[k] for k in known if k in spec})
    except RegistrationError as exc:
        raise RegistrationError(f"{where}.{str(exc).removeprefix('breaker.')}") from None


def policy_from_data(
    policy_class: Any,
    data: Mapping[str, Any],
    *,
    where: str,
    clock: Any = None,
    sleep: Any = None,
    async_sleep: Any = None,
) -> Any:
    """``Policy.from_data``'s work: ``policy_class`` is :class:`Policy` (which imports this
    module, so it is passed in rather than imported back)."""
    if not isinstance(data, Mapping):
        raise RegistrationError(f"{where}: expected a mapping, got {type(data).__name__}")
    check_keys(data, {"retry", "timeout", "breaker", "fallback", "seed"}, where)
    try:
        retry_settings = retry_from_data(data.get("retry"), f"{where}.retry")
        breaker = breaker_from_data(data.get("breaker"), f"{where}.breaker")
        seed = data.get("seed")
        if seed is not None:
            check_int(seed, "seed", minimum=0)
        return policy_class(
            retry_settings,
            data.get("timeout"),
            breaker,
            data.get("fallback"),
            clock=clock,
            sleep=sleep,
            async_sleep=async_sleep,
            seed=seed,
        )
    except RegistrationError as exc:
        message = str(exc)
        if message.startswith(("policy.", "retry.", "breaker.", "seed")):
            message = message.removeprefix("policy.")
            raise RegistrationError(f"{where}.{message}") from None
        raise
