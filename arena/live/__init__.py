"""The live deployment: a scenario run as real processes on this machine (docs/live.md).

``worker`` (a zone: slots, queue, the capability engine, load reports), ``gateway`` (board,
micro-batched routing with the simulation's router, breaker, forwarding), ``routing`` (the
simulation's model as the gateway's router), ``client`` (replays the arrivals), ``rows``
(SQLite), ``view`` (the rows as an ArenaView, so the summary is the simulation's),
``deployment`` (starting and stopping processes), ``run`` (:func:`run_live`).
"""

from .deployment import Deployment, DeploymentError, report_period
from .rows import COLUMNS, RowStore
from .run import LiveResult, parse_kill, run_live
from .view import LiveView, ledger_from_rows

__all__ = [
    "COLUMNS",
    "Deployment",
    "DeploymentError",
    "LiveResult",
    "LiveView",
    "RowStore",
    "ledger_from_rows",
    "parse_kill",
    "report_period",
    "run_live",
]
