"""Scenarios: what a run of the arena is made of, loaded from YAML and checked first.

``spec`` (the frozen dataclasses), ``datasets`` (labelled intent files), ``reader`` (typed access
to raw YAML, overrides), ``overlay`` (partial scenario documents merged over a file),
``sections`` (one parser per section), ``parse`` (:func:`load_scenario`,
:func:`parse_scenario`), ``bind`` (scenario -> :class:`capabilities.Registry`).
"""

from .bind import build_registry, load_registry
from .datasets import DatasetSpec, LabelledTexts, load_dataset
from .files import MAX_DATA_BYTES, MAX_DEPTH, MAX_SCENARIO_BYTES
from .overlay import merge_overlay, read_overlay, write_overlay
from .parse import TOP_KEYS, load_scenario, parse_scenario, with_overrides
from .reader import Bounds, Reader, check_run_options, parse_override_value, parse_overrides
from .sections import build_policy
from .shadowed import shadowed_by
from .spec import (
    DEFAULT_HANDLER,
    ArrivalSpec,
    AttractionSpec,
    CapabilitySpec,
    ClockSpec,
    ExamplesSpec,
    FaultSpec,
    NetworkSpec,
    Scenario,
    ZoneSpec,
)

__all__ = [
    "DEFAULT_HANDLER",
    "MAX_DATA_BYTES",
    "MAX_DEPTH",
    "MAX_SCENARIO_BYTES",
    "TOP_KEYS",
    "ArrivalSpec",
    "AttractionSpec",
    "Bounds",
    "CapabilitySpec",
    "ClockSpec",
    "DatasetSpec",
    "ExamplesSpec",
    "FaultSpec",
    "LabelledTexts",
    "NetworkSpec",
    "Reader",
    "Scenario",
    "ZoneSpec",
    "build_policy",
    "build_registry",
    "check_run_options",
    "load_dataset",
    "load_registry",
    "load_scenario",
    "merge_overlay",
    "parse_override_value",
    "parse_overrides",
    "parse_scenario",
    "read_overlay",
    "shadowed_by",
    "with_overrides",
    "write_overlay",
]
