"""``jcfix runs show RUN --format``: any report of a past run, rebuilt from the run history.

The history keeps each host's status and reason and each step's name, action, mode, parameters and result
document. :func:`replay` turns those rows back into the runner's :class:`~toolkit.models.HostReport` objects
and feeds them, one host at a time, to the same recorders a live run uses (JSON Lines, JUnit, HTML), so a
report made later has the shape of the one the run would have written. :class:`CsvRecorder` adds a CSV
form: one row per host step and finding.

Each step's diagnosis is the one the run showed (stored with the step since history schema 3, as
``report.diagnoses``), so findings that need the users the run expected (``CASE_MISMATCH``...) come back.
What history does not keep cannot come back: a run recorded by an older jcfix has no stored diagnosis, so
the rules run again over its stored facts without expected JumpCloud users (only account-level findings);
the JUnit ``hostname`` is the machine that exports.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict

from toolkit.actions import Action, get_action
from toolkit.errors import UsageError
from toolkit.history import History, HostRow, RunRow, StepRow
from toolkit.models import HOST_STATUSES, HostReport, Step
from toolkit.recorder import RunMeta, RunRecorder, RunSummary
from toolkit.report.html import HtmlRecorder
from toolkit.report.jsonstream import JsonLinesRecorder
from toolkit.report.junit import JUnitRecorder
from toolkit.report.view import FindingsFor, default_findings, host_label, host_reason, step_views
from toolkit.results import ResultDocument
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget

EXPORT_FORMATS = ("csv", "json", "junit", "html")
CSV_COLUMNS = (
    "run_id", "host", "host_status", "host_reason", "step", "action", "whatif", "step_status", "changed",
    "error_category", "error_message", "finding_code", "severity", "subject", "message", "fix",
)  # fmt: skip


class _StoredData(BaseModel):
    """The ``data`` of a stored document whose action's model no longer reads it: kept as it was."""

    model_config = ConfigDict(extra="allow")


def _action(name: str) -> Action:
    """The declared action, or a stand-in carrying only the name (an action since removed or renamed)."""
    try:
        return get_action(name)
    except UsageError:
        return Action(
            name=name, template="", version=0, summary="(not declared)", params=(), result_model=_StoredData,
            changes_state=False,
        )  # fmt: skip


def _without_omitted(value: Any) -> Any:
    """``value`` without the history's ``base64_omitted_chars`` markers (a raw file too large to store reads
    back as one whose content was not sent), so the action's own model still reads the document."""
    if isinstance(value, list):
        return [_without_omitted(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_omitted(v) for k, v in value.items() if k != "base64_omitted_chars"}
    return value


def _document(action: Action, stored: dict[str, Any]) -> ResultDocument[Any]:
    """The stored result document as a :class:`ResultDocument` (validated as the run validated it)."""
    document = dict(stored)
    partial = document.pop("data_partial", False)
    data = document.get("data")
    if partial:
        document["data"] = None
    declared = action.data_model()
    for model in (declared, _StoredData):
        readable = _without_omitted(document) if model is declared else document
        try:
            result: ResultDocument[Any] = ResultDocument[model].model_validate(readable)  # type: ignore[valid-type]
        except ValueError:
            continue
        if partial and isinstance(data, dict):
            result._partial_data = data
        return result
    raise UsageError(f"history: a stored {action.name} result does not read back as a result document")


def rebuild_host(row: HostRow, steps: list[StepRow]) -> HostReport:
    """One recorded host as the runner's :class:`HostReport`: same steps, results, status and reason."""
    results = []
    for step in steps:
        action = _action(step.action)
        rendered = RenderedScript(action.name, action.version, "", step.parameters)
        results.append((Step(action, rendered, step.whatif, step.name), _document(action, step.document)))
    report = HostReport(HostTarget(row.host), results)
    # The diagnosis each step showed in the run; a step without one (an older file) gets the rules again.
    report.diagnoses = {i: list(step.findings) for i, step in enumerate(steps) if step.findings is not None}
    if row.status == "skipped" and not results:  # never started: the reason is the host's, not a step's
        report.skipped_reason = row.reason or "skipped"
    elif row.reason:
        report.note = row.reason
    if report.status != row.status and row.status in ("failed", "unreachable"):
        # Failed as a whole (worker lost, past the deadline): no step says so, the host row does.
        report.failure_category = "unreachable" if row.status == "unreachable" else "protocol"
    return report


def _when(text: str | None) -> datetime:
    stamp = datetime.fromisoformat(text) if text else datetime.now(timezone.utc)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def run_meta(run: RunRow) -> RunMeta:
    """The recorded run's :class:`RunMeta`."""
    return RunMeta(
        run_id=run.run_id, command=run.command, playbook=run.playbook, user=run.user, started=_when(run.started),
        check_mode=run.check_mode, hosts=run.planned_hosts,
    )  # fmt: skip


def run_summary(run: RunRow, statuses: dict[str, int]) -> RunSummary:
    """How the recorded run ended; a run with no end recorded is reported as interrupted, with why."""
    if run.ended is None:
        return RunSummary(
            counts=statuses, interrupted=True, ended=_when(run.started), exit_code=run.exit_code or 1,
            stopped_reason="the run never recorded its end (killed, or still running)",
        )  # fmt: skip
    counts: dict[str, int] = {status: int((run.counts or statuses).get(status, 0)) for status in HOST_STATUSES}
    return RunSummary(
        counts=counts, interrupted=bool(run.interrupted), ended=_when(run.ended), exit_code=run.exit_code or 0,
        stopped_reason=run.stopped_reason,
    )  # fmt: skip


def replay(db: History, run: RunRow, recorder: RunRecorder) -> int:
    """Feed the recorded ``run`` to ``recorder`` as the live run did (start, each host, finish); host count."""
    recorder.start(run_meta(run))
    statuses: dict[str, int] = dict.fromkeys(HOST_STATUSES, 0)
    for row in db.hosts(run.seq):  # one host at a time: a 10,000-host run is never all in memory
        report = rebuild_host(row, db.steps(run.seq, row.host))
        statuses[report.status] = statuses.get(report.status, 0) + 1
        recorder.host_done(report)
    recorder.finish(run_summary(run, statuses))
    return sum(statuses.values())


class CsvRecorder:
    """Writes a run as CSV (:data:`CSV_COLUMNS`): one row per host step and finding.

    A step with no finding is one row with the finding columns empty; a host that ran no step is one row
    with only its status and reason. Info findings are included (``severity`` says so).
    """

    def __init__(self, stream: TextIO, findings_for: FindingsFor = default_findings) -> None:
        self.writer = csv.writer(stream, lineterminator="\n")
        self.stream = stream
        self.findings_for = findings_for
        self.run_id = ""

    def start(self, meta: RunMeta) -> None:
        """Write the header row."""
        self.run_id = meta.run_id
        self.writer.writerow(CSV_COLUMNS)

    def _rows(self, report: HostReport) -> Iterator[list[Any]]:
        host = [self.run_id, report.target.name, host_label(report), host_reason(report) or ""]
        views = list(step_views(report, self.findings_for))
        if not views:
            yield host + [""] * (len(CSV_COLUMNS) - len(host))
        for view in views:
            step = [view.name, view.action, str(view.whatif).lower(), view.label, str(view.changed).lower()]
            step += [view.error_category or "", view.error_message or ""]
            if not view.findings:
                yield host + step + [""] * 5
            for finding in view.findings:
                about = [finding.code, finding.severity, finding.subject or "", finding.message, finding.fix or ""]
                yield host + step + about

    def host_done(self, report: HostReport) -> None:
        """Write the host's rows."""
        self.writer.writerows(self._rows(report))
        self.stream.flush()

    def finish(self, summary: RunSummary) -> None:
        """Nothing more: CSV has no footer."""


def export_run(db: History, run: RunRow, fmt: str, out: Path | None, stream: TextIO | None = None) -> int:
    """Write the ``fmt`` report of the recorded ``run`` to ``out`` (None: ``stream``, default stdout).

    Returns the number of hosts exported.
    """
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    target = stream or sys.stdout
    if fmt in ("csv", "json"):
        if out is None:
            return replay(db, run, _stream_recorder(fmt, target))
        with out.open("w", encoding="utf-8", newline="") as handle:
            return replay(db, run, _stream_recorder(fmt, handle))
    if out is not None:
        return replay(db, run, _file_recorder(fmt, out))
    # JUnit and HTML write a file (spooled, assembled at finish): to stdout, through a temporary one.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="jcfix-export-") as work:
        path = Path(work) / f"report.{'xml' if fmt == 'junit' else 'html'}"
        count = replay(db, run, _file_recorder(fmt, path))
        target.write(path.read_text(encoding="utf-8"))
        target.flush()
    return count


def _stream_recorder(fmt: str, stream: TextIO) -> RunRecorder:
    return CsvRecorder(stream) if fmt == "csv" else JsonLinesRecorder(stream)


def _file_recorder(fmt: str, path: Path) -> RunRecorder:
    return JUnitRecorder(path) if fmt == "junit" else HtmlRecorder(path)
