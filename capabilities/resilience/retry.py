"""Retry settings and their backoff (exponential, capped, with seeded jitter)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenacity.wait import wait_base

from capabilities.errors import (
    CircuitOpen,
    RegistrationError,
)

if TYPE_CHECKING:
    pass
from capabilities.resilience.checks import check_int, check_number


# -- retry -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Retry:
    """Retry settings: up to ``attempts`` tries in total, waiting between tries

    ``min(max_backoff, backoff * multiplier ** (n - 1)) + uniform(0, jitter)`` seconds before
    try ``n + 1``. Only exceptions that are instances of ``on`` are retried; a refused call
    (:class:`CircuitOpen`) never is.
    """

    attempts: int = 3
    backoff: float = 0.1
    max_backoff: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.1
    on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        if isinstance(self.on, type):
            object.__setattr__(self, "on", (self.on,))
        else:
            object.__setattr__(self, "on", tuple(self.on))
        check_int(self.attempts, "retry.attempts", minimum=1)
        for name in ("backoff", "max_backoff", "jitter"):
            check_number(getattr(self, name), f"retry.{name}", minimum=0.0)
        check_number(self.multiplier, "retry.multiplier", minimum=1.0)
        for exc in self.on:
            if not (isinstance(exc, type) and issubclass(exc, BaseException)):
                raise RegistrationError(f"retry.on: {exc!r} is not an exception class")

    def retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, self.on) and not isinstance(exc, CircuitOpen)

    def base_wait(self, attempt_number: int) -> float:
        """The wait after try ``attempt_number`` before jitter (what the tests bound)."""
        return min(self.max_backoff, self.backoff * self.multiplier ** (attempt_number - 1))


def retry(
    attempts: int = 3,
    *,
    backoff: float = 0.1,
    max_backoff: float = 10.0,
    multiplier: float = 2.0,
    jitter: float = 0.1,
    on: type[BaseException] | Iterable[type[BaseException]] = (Exception,),
) -> Retry:
    """Build :class:`Retry` settings (exponential backoff with bounded jitter)."""
    return Retry(attempts, backoff, max_backoff, multiplier, jitter, on)  # type: ignore[arg-type]


class Backoff(wait_base):
    """Tenacity wait strategy: :meth:`Retry.base_wait` plus jitter from the policy's seedable RNG.

    Tenacity numbers the tries it drives from 1, but it only takes over after our first try
    failed, so its try ``n`` is our try ``n + 1``.
    """

    def __init__(self, settings: Retry, rng: random.Random):
        self.settings = settings
        self.rng = rng

    def after(self, attempt_number: int) -> float:
        """Seconds to wait after try ``attempt_number`` failed."""
        jitter = self.settings.jitter
        extra = self.rng.uniform(0.0, jitter) if jitter else 0.0
        return self.settings.base_wait(attempt_number) + extra

    def __call__(self, retry_state: Any) -> float:
        return self.after(retry_state.attempt_number + 1)
