"""Where log records go when ``packetflow-arena`` runs: the one place logging is configured.

Library code (``capabilities``, ``arena``) only logs to its module's logger
(``logging.getLogger(__name__)``) and never configures logging: an application embedding it
decides. The command line is such an application: our records at ``--log-level`` (default
``$PACKETFLOW_LOG_LEVEL``, else ``info``) and other libraries' at ``warning`` or above, all on
stderr, so stdout stays the command's output. An info line reads as its message alone (they
are written for the user); anything else also names its level and logger.
"""

from __future__ import annotations

import logging
import os
import sys

LOG_LEVEL_ENV = "PACKETFLOW_LOG_LEVEL"
LEVELS = ("debug", "info", "warning", "error", "critical")
OURS = ("capabilities", "arena", "packetflow")  # packetflow.*: the audit, metrics and MCP logs


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


def configure_logging(level: str) -> None:
    """Send our loggers' records at ``level`` and others' at warning or above to stderr."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, UserFormatter)]:
        root.removeHandler(old)  # configured again (main called twice in one process)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(UserFormatter())
    root.addHandler(handler)
    ours = getattr(logging, level.upper())
    root.setLevel(max(ours, logging.WARNING))
    for name in OURS:
        logging.getLogger(name).setLevel(ours)
