"""How routers see the arena: ``load_info`` (how fresh the load figures are) and ``router`` /
``router_params`` (which router, built once here so a bad parameter fails at load)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..physics import LOAD_INFO_MODES, LoadInfo, make_router
from .reader import Reader, duration_field, kind_of


def parse_load_info(r: Reader, v: Any) -> LoadInfo:
    """``load_info: {mode: instant | board | delayed, period: T, delay: D}``.

    Defaults: ``mode: instant`` (routers see every zone's load as it is). ``board`` needs its
    ``period`` (how often the board is posted) and ``delayed`` its ``delay`` (how old the
    figures are) stated, as durations (``"500ms"``; a bare number is seconds): a silent default
    would make them ``instant`` again at a fine tick."""
    m = r.mapping(v, "load_info", ("mode", "period", "delay"))
    mode = r.str(m, "mode", "load_info", "instant")
    if mode not in LOAD_INFO_MODES:
        raise r.fail(
            "load_info.mode", f"expected one of {', '.join(LOAD_INFO_MODES)}, got {mode!r}"
        )
    needed = {
        "board": ("period", "time between postings, e.g. 5s"),
        "delayed": ("delay", "how old the figures are, e.g. 500ms"),
    }
    if mode in needed and needed[mode][0] not in m:
        key, what = needed[mode]
        raise r.fail(
            f"load_info.{key}",
            f"mode {mode!r} needs a {key} ({what}); without one it would be mode 'instant'",
        )
    return LoadInfo(
        mode=mode,
        period=duration_field(r, m, "period", "load_info", 1.0, positive=True),
        delay=duration_field(r, m, "delay", "load_info", 0.0),
    )


def parse_router(r: Reader, top: Mapping[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    """The router's name and ``router_params`` (router name -> constructor keywords), checked by
    building the selected router once."""
    router = r.str(top, "router", "", "physics")
    raw = top.get("router_params", {})
    if not isinstance(raw, Mapping):
        raise r.fail(
            "router_params", f"expected a mapping router -> parameters, got {kind_of(raw)}"
        )
    params: dict[str, dict[str, Any]] = {}
    for name, p in raw.items():
        if not isinstance(p, Mapping):
            raise r.fail(
                f"router_params.{name}", f"expected a mapping of parameters, got {kind_of(p)}"
            )
        params[str(name)] = dict(p)
    make_router(router, params.get(router), file=r.file, field="router")
    return router, params
