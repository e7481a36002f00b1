"""The command line configures logging in one place: our records at --log-level, others'
from warning on, all on stderr; library code only logs to its module's logger."""

from __future__ import annotations

import logging
import re

import pytest
from paths import REPO_ROOT

from arena.ui import logs
from arena.ui.cli import main


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = {name: logging.getLogger(name).level for name in logs.OURS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in ours.items():
        logging.getLogger(name).setLevel(old)


def test_our_info_is_its_message_others_name_level_and_logger(restore_logging, capsys):
    logs.configure_logging("info")
    logs.configure_logging("info")  # again: still one handler of ours
    logging.getLogger("arena.analysis.thing").info("ran 3 seeds")
    logging.getLogger("capabilities.discovery.x").warning("using the plain model")
    logging.getLogger("distributed.worker").info("chatter nobody asked for")
    logging.getLogger("distributed.worker").warning("worker lost")
    assert capsys.readouterr().err.splitlines() == [
        "ran 3 seeds",
        "WARNING capabilities.discovery.x: using the plain model",
        "WARNING distributed.worker: worker lost",
    ]


def test_the_level_comes_from_the_option_else_the_environment(restore_logging, monkeypatch):
    monkeypatch.setenv(logs.LOG_LEVEL_ENV, "DEBUG")
    assert logs.default_level() == "debug"
    monkeypatch.setenv(logs.LOG_LEVEL_ENV, "loud")
    assert logs.default_level() == "info"  # not a level: the default
    logs.configure_logging("error")
    assert not logging.getLogger("arena.x").isEnabledFor(logging.WARNING)
    assert logging.getLogger("arena.x").isEnabledFor(logging.ERROR)


def test_a_bad_log_level_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--log-level", "loud", "demo"])
    assert exc.value.code == 2
    assert "--log-level" in capsys.readouterr().err


def test_library_code_never_prints_to_stderr():
    """Only the command lines (arena/ui, the MCP serve command) write to stderr themselves."""
    cli = {REPO_ROOT / "capabilities" / "interfaces" / "mcp" / "cli.py"}
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{n}"
        for package in ("capabilities", "arena")
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if "ui" not in path.relative_to(REPO_ROOT).parts[1:2] and path not in cli
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bprint\(.*file=sys\.stderr|sys\.stderr\.write", line)
        or re.fullmatch(r"\s*print\(.*", line)
    ]
    assert not offenders, offenders
