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

from .actors import ActorRuntime, ActorSpec
from .compose import compose
from .context import Context
from .contracts import check_inputs, check_outputs
from .effects import (
    AuditLog,
    AuditStore,
    Execution,
    Metric,
    MetricsRegistry,
    audit_log,
    effect_from_data,
    metric,
)
from .embeddings import (
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    default_cache_dir,
    default_embedder,
    normalise_rows,
)
from .engine import Engine, ExecutionPolicy, PolicyOutcome, Result
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
from .fast_embeddings import OnnxMiniLMEmbedder, build_onnx_model
from .memory import ConversationMemory
from .model import Capability, Field, import_dotted
from .planner import Plan, Planner, PlanningError, SemanticPlanner
from .registry import Match, Registry, capability_vectors
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
from .security import DEFAULT_HIERARCHY, Permission, PermissionHierarchy
from .tracing import Span, Trace
from .workflow import Workflow, branch, parallel, step
from .workflow_yaml import load_workflows

__all__ = [
    "DEFAULT_HIERARCHY",
    "ActorRuntime",
    "ActorSpec",
    "AuditLog",
    "AuditStore",
    "CachedEmbedder",
    "Capability",
    "CapabilityNotFound",
    "CircuitBreaker",
    "CircuitOpen",
    "Clock",
    "CompositionError",
    "Context",
    "ContractError",
    "ConversationMemory",
    "Embedder",
    "EmbeddingCache",
    "EmbeddingError",
    "Engine",
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
    "capability_vectors",
    "check_inputs",
    "check_outputs",
    "compose",
    "default_cache_dir",
    "default_embedder",
    "effect_from_data",
    "import_dotted",
    "load_workflows",
    "metric",
    "normalise_rows",
    "parallel",
    "resilience_counts",
    "retry",
    "step",
    "with_faults",
]
