"""The recorders a run gets from its options: history always, JSON Lines, JUnit and HTML on request."""

from __future__ import annotations

import getpass
import shlex
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TextIO

from toolkit.history import HistoryRecorder, history_path
from toolkit.recorder import HOST_STATUSES, MultiRecorder, RunMeta, RunRecorder, RunSummary
from toolkit.report import ReportOptions
from toolkit.report.html import HtmlRecorder
from toolkit.report.jsonstream import JsonLinesRecorder
from toolkit.report.junit import JUnitRecorder
from toolkit.report.view import FindingsFor, default_findings
from toolkit.settings import ConnectionSettings


def command_line(argv: list[str] | None = None) -> str:
    """The jcfix command line of this process, for history and reports (secrets never travel as flags)."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["jcfix", *args])


def local_user() -> str:
    """Who runs jcfix: the local OS account."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still record something
        return "unknown"


def run_meta(
    run_id: str, *, hosts: int, check_mode: bool, command: str | None = None, playbook: str | None = None
) -> RunMeta:
    """A :class:`RunMeta` for a run starting now, by the local user."""
    return RunMeta(
        run_id=run_id,
        command=command or command_line(),
        playbook=playbook,
        user=local_user(),
        started=datetime.now(timezone.utc),
        check_mode=check_mode,
        hosts=hosts,
    )


def run_summary(statuses: Mapping[str, int], *, exit_code: int, interrupted: bool = False) -> RunSummary:
    """A :class:`RunSummary` ending now, with every status key present."""
    counts: dict[str, int] = {status: int(statuses.get(status, 0)) for status in HOST_STATUSES}
    return RunSummary(counts=counts, interrupted=interrupted, ended=datetime.now(timezone.utc), exit_code=exit_code)


def report_recorders(
    options: ReportOptions,
    *,
    settings: ConnectionSettings | None = None,
    parameters: Mapping[str, Any] | None = None,
    json_stream: TextIO | None = None,
    findings_for: FindingsFor = default_findings,
) -> MultiRecorder:
    """Every recorder ``options`` ask for, plus the run history, fanned out as one recorder.

    Args:
        options: ``--junit``, ``--html``, ``--history``.
        settings: the run's connection settings (history stores how each host was reached).
        parameters: the run's parameters (history stores them redacted).
        json_stream: where to stream JSON Lines (``--output json`` of ``jcfix play``), if anywhere.
        findings_for: the diagnosis over a host's facts, for reports that show findings.
    """
    recorders: list[RunRecorder] = [HistoryRecorder(history_path(options.history), settings, parameters)]
    if json_stream is not None:
        recorders.append(JsonLinesRecorder(json_stream, findings_for))
    if options.junit is not None:
        recorders.append(JUnitRecorder(options.junit, findings_for))
    if options.html is not None:
        recorders.append(HtmlRecorder(options.html, findings_for))
    return MultiRecorder(recorders)
