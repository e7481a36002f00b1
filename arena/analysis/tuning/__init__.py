"""Tuning the routing physics against an objective the user states: ``objective`` (a tiny
expression grammar over summary metrics, and constraints), ``space`` (which physics fields,
within which bounds), ``evaluate`` (a population scored as one batch on a sweep backend),
``search`` (:func:`tune`: differential evolution), ``result`` (:class:`TuneResult` and its
files: the best settings as a scenario overlay, every evaluated point as CSV)."""

from .evaluate import Evaluator
from .objective import DERIVED, Constraint, Expression, Objective, metric_names
from .result import TuneResult
from .search import tune
from .space import ParamRange, SearchSpace, parse_param

__all__ = [
    "DERIVED",
    "Constraint",
    "Evaluator",
    "Expression",
    "Objective",
    "ParamRange",
    "SearchSpace",
    "TuneResult",
    "metric_names",
    "parse_param",
    "tune",
]
