"""The command line configures logging in one place: our records at --log-level, others'
from warning on, all on stderr, for the command's duration; library code only logs to its
module's logger."""

from __future__ import annotations

import logging
import re

import pytest
from paths import REPO_ROOT

from arena.ui import logs
from arena.ui.cli import COMMANDS, main


def emit_all() -> None:
    logging.getLogger("arena.analysis.thing").info("ran 3 seeds")
    logging.getLogger("capabilities.discovery.x").warning("using the plain model")
    logging.getLogger("distributed.worker").info("chatter nobody asked for")
    logging.getLogger("distributed.worker").warning("worker lost")
    logging.getLogger("packetflow.audit").error("double rejected request=1")


def test_our_info_is_its_message_others_name_level_and_logger(capsys):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with logs.logging_to_stderr("info"):
        emit_all()
    assert capsys.readouterr().err.splitlines() == [
        "ran 3 seeds",
        "WARNING capabilities.discovery.x: using the plain model",
        "WARNING distributed.worker: worker lost",
    ]  # the audit stream stays out of the way
    assert root.handlers == handlers and root.level == level  # undone
    emit_all()
    assert "ran 3 seeds" not in capsys.readouterr().err


def test_debug_shows_the_audit_stream_and_error_hides_warnings(capsys):
    with logs.logging_to_stderr("debug"):
        emit_all()
    assert "ERROR packetflow.audit: double rejected request=1" in capsys.readouterr().err
    with logs.logging_to_stderr("error"):
        emit_all()
    assert capsys.readouterr().err == ""


def test_the_level_comes_from_the_option_else_the_environment(monkeypatch, capsys):
    monkeypatch.setenv(logs.LOG_LEVEL_ENV, "DEBUG")
    assert logs.default_level() == "debug"
    monkeypatch.setenv(logs.LOG_LEVEL_ENV, "loud")
    assert logs.default_level() == "info"  # not a level: the default

    def chatty(args):
        logging.getLogger("arena.x").info("hello from the library")
        return 0

    monkeypatch.setitem(COMMANDS, "chatty", ("log something", None, chatty))
    assert main(["chatty"]) == 0
    assert capsys.readouterr().err == "hello from the library\n"
    assert main(["--log-level", "warning", "chatty"]) == 0
    assert capsys.readouterr().err == ""


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
