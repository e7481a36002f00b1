"""Workflows declared as data: a YAML file (or a scenario's ``workflows:`` section).

The shape mirrors the Python constructors, so one reads like the other::

    capabilities:                       # optional: declared by dotted path (Capability.from_data)
      - name: validate_customer
        function: capabilities.examples.onboarding:validate_customer
    workflows:
      - name: customer_onboarding_flow
        intent: Onboard a new customer
        requires: {customer: dict}      # optional; names or name -> type
        provides: [status, outcome]     # optional
        steps:
          - validate_customer           # a bare name is a step
          - branch:
              when: not errors          # safe expression over the data so far
              then:
                - parallel: [assess_risk, analyse_preferences]
                - step: create_onboarding_plan
                  outputs: {onboarding_plan: outcome}   # the seed's to=
              otherwise:
                - step: request_correction
                  inputs: {customer: customer}          # the seed's from=
                  outputs: {correction_request: outcome}

Every error names the file and the field path (``workflows[0].steps[1].branch.then``), whether
the data is malformed or the graph breaks a contract when it is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from capabilities.composition.workflow import Node, Workflow, branch, parallel, step
from capabilities.core.data import check_keys
from capabilities.core.model import Capability
from capabilities.errors import RegistrationError, WorkflowError

if TYPE_CHECKING:
    from capabilities.core.protocols import RegistryHandle as Registry

_WORKFLOW_KEYS = {"name", "intent", "requires", "provides", "steps", "permissions", "examples"}
_STEP_KEYS = {"step", "inputs", "outputs", "grants", "name"}
_BRANCH_KEYS = {"when", "then", "otherwise"}


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing file or bad syntax is an error naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistrationError(f"{p}: cannot read workflow file ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistrationError(f"{p}: invalid YAML ({exc})") from None


def load_workflows(
    source: str | Path | Mapping[str, Any], registry: Registry, *, where: str | None = None
) -> list[Capability]:
    """Declare the file's capabilities, then build and register its workflows, in order.

    ``source`` is a path or already-parsed data (e.g. a scenario mapping). A workflow may use
    the ones declared before it as steps. Returns the registered workflow capabilities.
    """
    if isinstance(source, Mapping):
        data, origin = source, where or "workflows"
    else:
        data, origin = read_yaml(source), where or str(source)
    if not isinstance(data, Mapping):
        raise RegistrationError(f"{origin}: expected a mapping with 'workflows:' at the top")
    unknown = set(data) - {"capabilities", "workflows"}
    if "workflows" not in data:
        if "steps" in data:  # a file holding a single workflow
            data = {"workflows": [data]}
        else:
            found = f" (unknown top-level key(s) {sorted(unknown)})" if unknown else ""
            raise RegistrationError(f"{origin}: no 'workflows:' section{found}")
    elif unknown and not isinstance(source, Mapping):
        raise RegistrationError(
            f"{origin}: unknown top-level key(s) {sorted(unknown)}; "
            "expected 'capabilities' and 'workflows'"
        )
    for i, entry in enumerate(
        _as_list(data.get("capabilities", []), f"{origin}: capabilities", None)
    ):
        field_path = f"{origin}: capabilities[{i}]"
        if not isinstance(entry, Mapping):
            raise RegistrationError(f"{field_path}: expected a mapping with name and function")
        try:
            registry.register_data(entry, where=field_path)
        except RegistrationError as exc:
            if str(exc).startswith(field_path):
                raise
            raise RegistrationError(f"{field_path}: {exc}") from None
    built = []
    for i, entry in enumerate(_as_list(data["workflows"], f"{origin}: workflows", None)):
        field_path = f"workflows[{i}]"
        wf = workflow_from_data(entry, where=f"{origin}: {field_path}")
        try:
            cap = wf.build(registry)
        except WorkflowError as exc:
            raise WorkflowError(
                exc.capability,
                exc.field,
                exc.detail,
                step=exc.step,
                path=f"{origin}: {field_path}.{exc.path}",
            ) from None
        try:
            registry.register(cap)
        except RegistrationError as exc:
            raise RegistrationError(f"{origin}: {field_path}: {exc}") from None
        built.append(cap)
    return built


def workflow_from_data(data: Any, *, where: str = "workflow") -> Workflow:
    """Turn one workflow mapping into a :class:`Workflow` (not yet checked against a registry)."""
    if not isinstance(data, Mapping):
        raise RegistrationError(f"{where}: expected a mapping with name and steps")
    check_keys(data, _WORKFLOW_KEYS, where)
    for key in ("name", "steps"):
        if key not in data:
            raise RegistrationError(f"{where}: missing required key {key!r}")
    steps = _nodes(data["steps"], f"{where}.steps")
    try:
        return Workflow(
            name=str(data["name"]),
            steps=steps,
            intent=str(data.get("intent", "")),
            requires=data.get("requires"),
            provides=data.get("provides"),
            permissions=tuple(_as_list(data.get("permissions", []), where, "permissions")),
            examples=tuple(_as_list(data.get("examples", []), where, "examples")),
        )
    except RegistrationError as exc:
        raise RegistrationError(f"{where}: {exc}") from None


def _nodes(data: Any, where: str) -> tuple[Node, ...]:
    items = _as_list(data, where, None)
    if not items:
        raise RegistrationError(f"{where}: expected a non-empty list of steps")
    return tuple(_node(item, f"{where}[{i}]") for i, item in enumerate(items))


def _node(data: Any, where: str) -> Node:
    if isinstance(data, str):
        return step(data)
    if isinstance(data, list):
        return _nodes(data, where)
    if not isinstance(data, Mapping):
        raise RegistrationError(
            f"{where}: expected a capability name or a mapping with step/parallel/branch"
        )
    if "parallel" in data:
        check_keys(data, {"parallel"}, where)
        branches = _as_list(data["parallel"], where, "parallel")
        if len(branches) < 2:
            raise RegistrationError(f"{where}.parallel: needs at least two branches")
        return parallel(*(_node(b, f"{where}.parallel[{i}]") for i, b in enumerate(branches)))
    if "branch" in data:
        check_keys(data, {"branch"}, where)
        spec = data["branch"]
        bwhere = f"{where}.branch"
        if not isinstance(spec, Mapping):
            raise RegistrationError(f"{bwhere}: expected a mapping with when, then, otherwise")
        check_keys(spec, _BRANCH_KEYS, bwhere)
        for key in ("when", "then"):
            if key not in spec:
                raise RegistrationError(f"{bwhere}: missing required key {key!r}")
        if not isinstance(spec["when"], str):
            raise RegistrationError(f"{bwhere}.when: expected an expression such as 'not errors'")
        otherwise = _nodes(spec["otherwise"], f"{bwhere}.otherwise") if "otherwise" in spec else ()
        try:
            return branch(spec["when"], _nodes(spec["then"], f"{bwhere}.then"), otherwise)
        except RegistrationError as exc:
            raise RegistrationError(f"{bwhere}.when: {exc}") from None
    if "step" in data:
        check_keys(data, _STEP_KEYS, where)
        for key in ("inputs", "outputs"):
            mapping = data.get(key, {})
            if not isinstance(mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                raise RegistrationError(
                    f"{where}.{key}: expected a mapping of names, e.g. {{param: field}}"
                )
        if not isinstance(data["step"], str):
            raise RegistrationError(f"{where}.step: expected a capability name")
        grants = data.get("grants")
        return step(
            data["step"],
            inputs=data.get("inputs"),
            outputs=data.get("outputs"),
            grants=None if grants is None else _as_list(grants, where, "grants"),
            name=data.get("name"),
        )
    raise RegistrationError(f"{where}: expected one of the keys 'step', 'parallel', 'branch'")


def _as_list(value: Any, where: str, key: str | None) -> list[Any]:
    path = f"{where}.{key}" if key else where
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise RegistrationError(f"{path}: expected a list")
    return list(value)
