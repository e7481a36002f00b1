"""Durations and rates as a user writes them ("250ms", "1.5s", "12/s"), seconds inside.

Time is a float number of seconds everywhere in the workload layer; units exist only at the
edges: a scenario or a command line is parsed here into seconds, and an output or a label is
written by :func:`format_duration` / :func:`format_rate`. A bare number keeps the arena's old
meaning of one step = one second, so old scenarios still read the same.

Every refusal is one :class:`~arena.errors.ScenarioError` naming the file and field and stating
the bound that was broken (``must be at most 30d, got 40d``); NaN, infinities, negative and
absurd values never get through.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable

from ..errors import ScenarioError

#: seconds per unit; the spellings a user is likely to write (matched case-insensitively)
DURATION_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}

#: the default ceiling of a duration: a month is longer than any simulated run or service
MAX_DURATION_S = 30 * 86400.0
#: the default ceiling of a rate: a million requests a second is beyond any one arena
MAX_RATE_PER_S = 1e6

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*([^\W\d_]*)\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:/\s*([^\W\d_]+))?\s*$")
# the units format_duration writes, largest first
_FORMAT_UNITS = (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 1e-3), ("us", 1e-6))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: object) -> float | None:
    """A real number (bool refused: ``true`` is no duration), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except (OverflowError, ValueError):  # a huge int
        return math.inf


def _check_bounds(
    amount: float,
    *,
    file: str | None,
    field: str,
    minimum: float,
    maximum: float,
    allow_zero: bool,
    show: Callable[[float], str],
    what: str,
) -> float:
    if math.isnan(amount):
        raise ScenarioError(file, field, f"must be a finite {what}, got NaN")
    if amount > maximum:
        shown = show(amount) if math.isfinite(amount) else "infinity"
        raise ScenarioError(file, field, f"must be at most {show(maximum)}, got {shown}")
    if amount < minimum:
        shown = show(amount) if math.isfinite(amount) else "-infinity"
        raise ScenarioError(file, field, f"must be at least {show(minimum)}, got {shown}")
    if amount == 0 and not allow_zero:
        raise ScenarioError(file, field, f"must be above {show(0.0)}, got {show(0.0)}")
    return amount


def parse_duration(
    value: object,
    *,
    file: str | None,
    field: str,
    minimum: float = 0.0,
    maximum: float = MAX_DURATION_S,
    allow_zero: bool = True,
) -> float:
    """Seconds from ``"250ms"``, ``"1.5s"``, ``"10m"``, ``"2h"``, ``"500us"``, ``"1d"`` or a
    bare number (seconds). Refuses NaN, infinities, values outside ``[minimum, maximum]``, zero
    when ``allow_zero`` is false, and anything else, with one line naming ``file: field``."""
    amount = _number(value)
    if amount is None:
        match = _DURATION_RE.match(value) if isinstance(value, str) else None
        unit = match.group(2).lower() if match else None
        if match is None or (unit and unit not in DURATION_UNITS):
            raise ScenarioError(
                file, field, f'expected a duration like "250ms" or "1.5s", got {_shown(value)}'
            )
        amount = float(match.group(1)) * (DURATION_UNITS[unit] if unit else 1.0)
    return _check_bounds(
        amount,
        file=file,
        field=field,
        minimum=minimum,
        maximum=maximum,
        allow_zero=allow_zero,
        show=format_duration,
        what="duration",
    )


def parse_rate(
    value: object,
    *,
    file: str | None,
    field: str,
    minimum: float = 0.0,
    maximum: float = MAX_RATE_PER_S,
    allow_zero: bool = True,
) -> float:
    """Events per second from ``"12/s"``, ``"720/m"``, ``"3/h"``, ``"0.5/ms"`` or a bare number
    (per second). Same refusals as :func:`parse_duration`."""
    amount = _number(value)
    if amount is None:
        match = _RATE_RE.match(value) if isinstance(value, str) else None
        unit = match.group(2).lower() if match and match.group(2) else None
        if match is None or (unit and unit not in DURATION_UNITS):
            raise ScenarioError(
                file, field, f'expected a rate like "12/s" or "720/m", got {_shown(value)}'
            )
        amount = float(match.group(1)) / (DURATION_UNITS[unit] if unit else 1.0)
    return _check_bounds(
        amount,
        file=file,
        field=field,
        minimum=minimum,
        maximum=maximum,
        allow_zero=allow_zero,
        show=format_rate,
        what="rate",
    )


def _significant(number: float, digits: int) -> str:
    return f"{number:.{digits}g}"  # an exponent (rare: below 1us, above 1e6 d) still parses


def format_duration(seconds: float, digits: int = 6) -> str:
    """``0.118 -> "118ms"``, ``90 -> "1.5m"``: the largest unit that keeps the number >= 1, to
    ``digits`` significant digits. :func:`parse_duration` reads it back (to that precision)."""
    seconds = float(seconds)
    if not math.isfinite(seconds):
        return "inf" if seconds > 0 else ("-inf" if seconds < 0 else "nan")
    if seconds == 0:
        return "0s"
    size = abs(seconds)
    for unit, scale in _FORMAT_UNITS:
        if size >= scale * (1 - 0.5 * 10.0**-digits):
            return f"{_significant(seconds / scale, digits)}{unit}"
    return f"{_significant(seconds / 1e-6, digits)}us"


def format_rate(per_second: float, digits: int = 6) -> str:
    """``12 -> "12/s"``, ``0.05 -> "3/m"``: per second when at least one a second, else per
    minute or per hour. :func:`parse_rate` reads it back."""
    per_second = float(per_second)
    if not math.isfinite(per_second):
        return "inf/s" if per_second > 0 else ("-inf/s" if per_second < 0 else "nan/s")
    size = abs(per_second)
    if size == 0 or size >= 1:
        return f"{_significant(per_second, digits)}/s"
    if size * 60 >= 1:
        return f"{_significant(per_second * 60, digits)}/m"
    return f"{_significant(per_second * 3600, digits)}/h"
