"""PacketFlow capabilities: declare units of work with contracts, find them by meaning, run them.

>>> from capabilities import Registry, Engine, audit_log, metric
>>> registry = Registry()
>>> @registry.capability(provides=["greeting"], effects=[audit_log(), metric("calls")])
... def greet(name: str) -> str:
...     '''Say hello to someone by name.'''
...     return f"hello {name}"
>>> Engine(registry).run("greet", {"name": "ada"}).outputs
{'greeting': 'hello ada'}
"""

from .composition.auto import compose
from .composition.planner import Plan, Planner, PlanningError, SemanticPlanner
from .composition.workflow import Workflow, branch, parallel, step
from .composition.workflow_yaml import load_workflows
from .core.audit import AuditStore
from .core.context import Context
from .core.contracts import check_inputs, check_outputs
from .core.effects import (
    AuditLog,
    Execution,
    Metric,
    MetricsRegistry,
    audit_log,
    effect_from_data,
    metric,
)
from .core.model import Capability, CapabilityOptions, Field, import_dotted
from .core.protocols import EffectSink, EngineHandle, ExecutionPolicy, PolicyOutcome
from .core.security import DEFAULT_HIERARCHY, Permission, PermissionHierarchy
from .core.tracing import Span, Trace
from .discovery.choice import choose_embedder, default_embedder
from .discovery.embeddings import (
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    default_cache_dir,
    normalise_rows,
)
from .discovery.fast_embeddings import OnnxMiniLMEmbedder
from .discovery.onnx_build import build_onnx_model
from .errors import (
    CapabilityNotFound,
    CircuitOpen,
    CompositionError,
    ContractError,
    EmbeddingError,
    ExecutionTimeout,
    PacketFlowError,
    PermissionDenied,
    RegistrationError,
    StepFailed,
    WorkflowError,
)
from .interfaces.mcp import cli as mcp_cli
from .resilience import (
    CircuitBreaker,
    Clock,
    InjectedFault,
    ManualClock,
    Policy,
    Retry,
    resilience_counts,
    retry,
    with_faults,
)
from .runtime.actors import ActorRuntime, ActorSpec
from .runtime.declare import capability_from_data
from .runtime.engine import Engine, Result
from .runtime.memory import ConversationMemory
from .runtime.registry import Match, Registry, capability_vectors

__all__ = [
    "DEFAULT_HIERARCHY",
    "ActorRuntime",
    "ActorSpec",
    "AuditLog",
    "AuditStore",
    "CachedEmbedder",
    "Capability",
    "CapabilityNotFound",
    "CapabilityOptions",
    "CircuitBreaker",
    "CircuitOpen",
    "Clock",
    "CompositionError",
    "Context",
    "ContractError",
    "ConversationMemory",
    "EffectSink",
    "Embedder",
    "EmbeddingCache",
    "EmbeddingError",
    "Engine",
    "EngineHandle",
    "Execution",
    "ExecutionPolicy",
    "ExecutionTimeout",
    "Field",
    "InjectedFault",
    "ManualClock",
    "Match",
    "Metric",
    "MetricsRegistry",
    "OnnxMiniLMEmbedder",
    "PacketFlowError",
    "Permission",
    "PermissionDenied",
    "PermissionHierarchy",
    "Plan",
    "Planner",
    "PlanningError",
    "Policy",
    "PolicyOutcome",
    "RegistrationError",
    "Registry",
    "Result",
    "Retry",
    "SemanticPlanner",
    "SentenceTransformerEmbedder",
    "Span",
    "StepFailed",
    "Trace",
    "Workflow",
    "WorkflowError",
    "audit_log",
    "branch",
    "build_onnx_model",
    "capability_from_data",
    "capability_vectors",
    "check_inputs",
    "check_outputs",
    "choose_embedder",
    "compose",
    "default_cache_dir",
    "default_embedder",
    "effect_from_data",
    "import_dotted",
    "load_workflows",
    "mcp_cli",
    "metric",
    "normalise_rows",
    "parallel",
    "resilience_counts",
    "retry",
    "step",
    "with_faults",
]
