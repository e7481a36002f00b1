"""What a capability *is* — nothing here runs anything.

``field`` / ``typecheck`` < ``data`` (shared data helpers) < ``effects`` < ``audit`` (the
SQLite audit log) < ``model``
(Capability) < ``contracts``; ``security`` < ``context``; ``protocols`` names what the runtime
offers the layers below it (EngineHandle, RegistryHandle, ExecutionPolicy, EffectSink).
"""

from capabilities.core.audit import AUDIT_MODES, AuditStore
from capabilities.core.context import Context
from capabilities.core.contracts import check_inputs, check_outputs
from capabilities.core.data import (
    INJECT_MARKER,
    as_list,
    check_keys,
    import_dotted,
    injected_service,
    parse_fields,
)
from capabilities.core.effects import (
    AuditLog,
    AuditWriter,
    EffectSink,
    Execution,
    Metric,
    MetricsRegistry,
    audit_log,
    effect_from_data,
    metric,
)
from capabilities.core.field import Field
from capabilities.core.model import Capability, CapabilityOptions, DeclarationOptions
from capabilities.core.protocols import (
    ATTEMPTS_ATTRIBUTE,
    EngineHandle,
    ExecutionPolicy,
    PolicyOutcome,
    RegistryHandle,
)
from capabilities.core.security import DEFAULT_HIERARCHY, Permission, PermissionHierarchy
from capabilities.core.tracing import Span, Trace

__all__ = [
    "ATTEMPTS_ATTRIBUTE",
    "AUDIT_MODES",
    "DEFAULT_HIERARCHY",
    "INJECT_MARKER",
    "AuditLog",
    "AuditStore",
    "AuditWriter",
    "Capability",
    "CapabilityOptions",
    "Context",
    "DeclarationOptions",
    "EffectSink",
    "EngineHandle",
    "Execution",
    "ExecutionPolicy",
    "Field",
    "Metric",
    "MetricsRegistry",
    "Permission",
    "PermissionHierarchy",
    "PolicyOutcome",
    "RegistryHandle",
    "Span",
    "Trace",
    "as_list",
    "audit_log",
    "check_inputs",
    "check_keys",
    "check_outputs",
    "effect_from_data",
    "import_dotted",
    "injected_service",
    "metric",
    "parse_fields",
]
