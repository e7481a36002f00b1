"""What arrives and how long it takes, independent of the arena.

Units at the edges (:mod:`.units`), service-time models (:mod:`.service`), arrival processes
(:mod:`.arrivals`), real traces (:mod:`.traces`), latency fitting (:mod:`.fit`), and LLM replicas: prefix caches
(:mod:`.prefix_cache`) and their service time (:mod:`.llm_service`). Time is a
float number of seconds inside. This layer imports only ``arena.errors``, ``capabilities`` and
third-party libraries, so the scenario and the model can both build on it.
"""

from .arrival_spec import (
    ARRIVAL_PROCESSES,
    ArrivalProcess,
    DiurnalProcess,
    MMPPProcess,
    PoissonProcess,
    parse_arrival_process,
)
from .arrivals import (
    MAX_ARRIVALS,
    diurnal_times,
    mmpp_times,
    piecewise_times,
    poisson_times,
    schedule_times,
)
from .fit import CANDIDATES, Candidate, FitReport, fit_latencies
from .fit_plot import plot_fit
from .keyed import keyed_service_time, keyed_uniform, keyed_uniforms
from .latencies import read_latency_column
from .llm_service import LLMService
from .per_token import PerToken
from .prefix_cache import MAX_FLEET_REPLICAS, PrefixCache, PrefixFleet
from .service import (
    MIN_SERVICE_S,
    Constant,
    Empirical,
    Exponential,
    Gamma,
    Geometric,
    LogNormal,
    Pareto,
    ServiceModel,
    Uniform,
    Weibull,
)
from .service_parse import SERVICE_DISTRIBUTIONS, parse_service_model
from .trace import Trace
from .trace_spec import TraceSpec, parse_trace_spec
from .traces import TRACE_FORMATS, read_trace
from .units import (
    DURATION_UNITS,
    MAX_DURATION_S,
    MAX_RATE_PER_S,
    format_duration,
    format_rate,
    parse_duration,
    parse_rate,
)

__all__ = [
    "ARRIVAL_PROCESSES",
    "CANDIDATES",
    "DURATION_UNITS",
    "MAX_ARRIVALS",
    "MAX_DURATION_S",
    "MAX_FLEET_REPLICAS",
    "MAX_RATE_PER_S",
    "MIN_SERVICE_S",
    "SERVICE_DISTRIBUTIONS",
    "TRACE_FORMATS",
    "ArrivalProcess",
    "Candidate",
    "Constant",
    "DiurnalProcess",
    "Empirical",
    "Exponential",
    "FitReport",
    "Gamma",
    "Geometric",
    "LLMService",
    "LogNormal",
    "MMPPProcess",
    "Pareto",
    "PerToken",
    "PoissonProcess",
    "PrefixCache",
    "PrefixFleet",
    "ServiceModel",
    "Trace",
    "TraceSpec",
    "Uniform",
    "Weibull",
    "diurnal_times",
    "fit_latencies",
    "format_duration",
    "format_rate",
    "keyed_service_time",
    "keyed_uniform",
    "keyed_uniforms",
    "mmpp_times",
    "parse_arrival_process",
    "parse_duration",
    "parse_rate",
    "parse_service_model",
    "parse_trace_spec",
    "piecewise_times",
    "plot_fit",
    "poisson_times",
    "read_latency_column",
    "read_trace",
    "schedule_times",
]
