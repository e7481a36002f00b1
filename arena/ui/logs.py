"""Where log records go when ``packetflow-arena`` runs: the one place logging is configured.

Library code (``capabilities``, ``arena``) only logs to its module's logger
(``logging.getLogger(__name__)``) and never configures logging: an application embedding it
decides. The command line is such an application: our records at ``--log-level`` (default
``$PACKETFLOW_LOG_LEVEL``, else ``info``) and other libraries' at ``warning`` or above, all on
stderr, so stdout stays the command's output; the engine's audit and metric records only at
``debug``. An info line reads as its message alone (they
are written for the user); anything else also names its level and logger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

LOG_LEVEL_ENV = "PACKETFLOW_LOG_LEVEL"
LEVELS = ("debug", "info", "warning", "error", "critical")
OURS = ("capabilities", "arena", "packetflow")  # packetflow.mcp: the MCP server's log
DATA_STREAMS = ("packetflow.audit", "packetflow.metrics")  # records, not messages
QUIET = logging.CRITICAL + 1


class UserFormatter(logging.Formatter):
    """``message`` for info, ``LEVEL logger: message`` otherwise (a traceback if attached)."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.INFO and not record.exc_info:
            return record.getMessage()
        return super().format(record)


def default_level() -> str:
    """``$PACKETFLOW_LOG_LEVEL`` if it names a level, else ``info``."""
    level = os.environ.get(LOG_LEVEL_ENV, "").strip().lower()
    return level if level in LEVELS else "info"


@contextlib.contextmanager
def logging_to_stderr(level: str) -> Iterator[None]:
    """While the command runs: our loggers' records at ``level`` and others' at warning or
    above on stderr; the engine's audit and metric streams (SQLite has the audit trail) only
    at debug. Undone on exit, so a command run in-process (tests, notebooks) leaves nothing."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(UserFormatter())
    ours = getattr(logging, level.upper())
    settings = {name: ours for name in OURS}
    settings.update({name: ours if ours == logging.DEBUG else QUIET for name in DATA_STREAMS})
    settings[""] = max(ours, logging.WARNING)  # the root: other libraries
    before = {name: logging.getLogger(name or None).level for name in settings}
    root.addHandler(handler)
    for name, value in settings.items():
        logging.getLogger(name or None).setLevel(value)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for name, value in before.items():
            logging.getLogger(name or None).setLevel(value)
