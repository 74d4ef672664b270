"""Ctrl-C in the middle of a single-action command: the hosts that finished are in the history, and the
JUnit and HTML reports are complete files saying the run was interrupted."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_support import sample_reports

from toolkit.actions import get_action
from toolkit.cli import execute
from toolkit.cli.connection import Connection
from toolkit.history import History
from toolkit.report import ReportOptions
from toolkit.runner import HostReport
from toolkit.services import run_action as run_action_service
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget


def test_ctrl_c_mid_run_leaves_history_and_complete_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = sample_reports()[:2]

    def two_hosts_then_ctrl_c(*args: Any, **kwargs: Any) -> Iterator[HostReport]:
        yield first
        yield second
        raise KeyboardInterrupt

    monkeypatch.setattr(run_action_service, "run_fleet", two_hosts_then_ctrl_c)
    monkeypatch.setenv("JCFIX_PASSWORD", "not-used")
    reports = ReportOptions(junit=tmp_path / "j.xml", html=tmp_path / "r.html", history=tmp_path / "h.sqlite3")
    targets = [first.target, second.target, HostTarget("pc-never")]
    connection = Connection(targets, ConnectionSettings(user="u"), forks=2, dry_run=False, reports=reports)
    with pytest.raises(KeyboardInterrupt):
        execute.run_action(connection, get_action("collect_facts"), run_id="r-interrupted")

    with History(tmp_path / "h.sqlite3") as history:
        (run,) = history.attempts("r-interrupted")
        assert run.interrupted is True and run.exit_code == 130 and run.planned_hosts == 3
        assert [h.host for h in history.hosts(run.seq)] == ["pc-ready", "pc-case"]
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["interrupted"] == "true"
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.rstrip().endswith("</html>") and ", interrupted" in page
