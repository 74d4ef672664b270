"""``--html FILE``: one self-contained page an admin can send to a colleague.

Rendered with jinja2 (autoescaped) from ``templates/report.html.j2``, shipped in the package: inline CSS and
JavaScript, no network. Summary counts per status and per finding code, filters by status, by finding code
and by "has blockers", and per host its steps, errors, findings and the jcfix command that fixes each.

The filter state lives in the URL hash (``report.html#status=failed&code=CASE_MISMATCH``), so a filtered
view is a link one can send, and the page can be checked by loading two URLs in a headless browser.

Streaming: each host's section is rendered (``templates/host.html.j2``) and spooled as the
host finishes, hosts with blockers to one spool and the others to another, so the page lists hosts with
blockers first while memory stays flat in the number of hosts; the page shell is rendered at ``finish``.

A host "has blockers" as the console recap counts it: its *last* diagnosis found one (a later diagnosis,
after the fixes, supersedes an earlier one). ``STEP_SKIPPED`` rows (steps skipped by their condition) are
hidden unless the reader asks for them (a checkbox, or the ``STEP_SKIPPED`` code filter).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import jinja2
from markupsafe import Markup

from toolkit.facts import HostFacts
from toolkit.models import SKIPPED_FINDING, HostReport
from toolkit.recorder import HOST_STATUSES, RunMeta, RunSummary
from toolkit.report.spool import Spool
from toolkit.report.view import (
    FindingsFor,
    StepView,
    blocked_by_last_diagnosis,
    changed_then_failed,
    default_findings,
    host_label,
    host_reason,
    last_diagnosis,
    step_views,
)
from toolkit.rules import Finding
from toolkit.textvalues import printable

PAGE_TEMPLATE = "report.html.j2"
HOST_TEMPLATE = "host.html.j2"
# Where the hosts go in the rendered page shell. Autoescaping turns every "<" of the run's data into "&lt;",
# so this comment can only come from the template itself.
HOSTS_SLOT = Markup("<!-- jcfix:hosts -->")
CHUNK = 1024 * 1024


def _printable(value: object) -> object:
    """Every value the templates print, before HTML escaping: control characters escaped (markup kept as is).

    The jinja2 ``finalize`` hook: every ``{{ }}`` of both templates, attributes included, passes through it, so a
    host's name, message or error can neither forge a line nor hide text (``\\x1b``, ``\\u202e`` show as such).
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("toolkit.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_printable,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


ENVIRONMENT = _environment()


@dataclass(frozen=True)
class StepRow:
    """One step in a host's table; ``skipped_by_condition``: it carries a ``STEP_SKIPPED`` finding."""

    name: str
    action: str
    state: str
    error: str
    skipped_by_condition: bool


@dataclass(frozen=True)
class FindingRow:
    """One finding in a host's table; ``superseded``: a later diagnosis of the host replaced it."""

    finding: Finding
    superseded: bool

    @property
    def step_skipped(self) -> bool:
        return self.finding.code == SKIPPED_FINDING


@dataclass(frozen=True)
class HostView:
    """What ``templates/host.html.j2`` shows of one host."""

    anchor: str
    name: str
    status: str
    label: str
    reason: str | None
    blocked: bool
    codes: list[str]
    steps: list[StepRow]
    findings: list[FindingRow]


def _step_row(view: StepView) -> StepRow:
    # "failed (changed)": the host was changed before the step failed (it may need jcfix undo).
    state = view.label + (" (check mode)" if view.whatif else "")
    state += ", changed" if view.changed and view.status != "failed" else ""
    error = f"{view.error_category}: {view.error_message}" if view.error_category else ""
    skipped = view.status == "skipped" and any(f.code == SKIPPED_FINDING for f in view.findings)
    return StepRow(view.name, view.action, state, error, skipped)


def current_findings(report: HostReport, views: Sequence[StepView]) -> list[Finding]:
    """The findings that stand at the host's end: every step's, but only the last diagnosis's of the diagnoses."""
    last = last_diagnosis(report)
    return [
        f
        for view in views
        if view.position == last or not isinstance(report.results[view.position][1].data, HostFacts)
        for f in view.findings
    ]


def host_view(report: HostReport, anchor: str, findings_for: FindingsFor = default_findings) -> HostView:
    """``report`` as the template shows it."""
    views = list(step_views(report, findings_for))
    last = last_diagnosis(report)
    findings = [
        FindingRow(f, superseded=isinstance(report.results[v.position][1].data, HostFacts) and v.position != last)
        for v in views
        for f in v.findings
    ]
    return HostView(
        anchor=anchor,
        name=report.target.name,
        status=report.status,
        label=host_label(report),
        reason=host_reason(report),
        blocked=blocked_by_last_diagnosis(report, views),
        codes=sorted({f.code for f in current_findings(report, views)}),
        steps=[_step_row(view) for view in views],
        findings=findings,
    )


def _severities(view: HostView) -> dict[str, str]:
    """Each current code's severity on the host (the first finding's)."""
    severities: dict[str, str] = {}
    for row in view.findings:
        if not row.superseded:
            severities.setdefault(row.finding.code, row.finding.severity)
    return severities


class HtmlRecorder:
    """Writes a run as one self-contained HTML page to ``path`` at ``finish``."""

    def __init__(self, path: Path, findings_for: FindingsFor = default_findings) -> None:
        self.path = path
        self.findings_for = findings_for
        self.meta: RunMeta | None = None
        self.hosts = 0
        self.hosts_with_blockers = 0
        self.changed_then_failed = 0
        # code -> (severity, hosts with it): small, bounded by the rules' codes, not by the fleet.
        self.codes: dict[str, tuple[str, int]] = {}
        self._blocked: Spool | None = None  # hosts with blockers: first on the page, then the rest
        self._rest: IO[str] | None = None
        self._host_template: jinja2.Template | None = None

    def start(self, meta: RunMeta) -> None:
        """Open the spools."""
        self.meta = meta
        self._blocked = Spool(self.path)
        # Open from start to finish (closed there); anonymous, so it never outlives the process.
        self._rest = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="jcfix-html-")  # noqa: SIM115
        self._host_template = ENVIRONMENT.get_template(HOST_TEMPLATE)

    def host_done(self, report: HostReport) -> None:
        """Render the host's section and spool it: status, reason, steps, findings and fix commands."""
        assert self._blocked is not None and self._rest is not None and self._host_template is not None, "start() first"
        self.hosts += 1
        view = host_view(report, f"host-{self.hosts}", self.findings_for)
        for code, severity in _severities(view).items():
            self.codes[code] = (severity, self.codes.get(code, (severity, 0))[1] + 1)
        self.hosts_with_blockers += view.blocked
        self.changed_then_failed += changed_then_failed(report)
        section = self._host_template.render(host=view)
        if view.blocked:
            self._blocked.write(section)
        else:
            self._rest.write(section)

    def finish(self, summary: RunSummary) -> None:
        """Write the page: header, summary, filters, the hosts with blockers, the other hosts, the script."""
        assert self._blocked is not None and self._rest is not None and self.meta is not None, "start() first"
        try:
            # Behind the hosts with blockers, in chunks: the other hosts never sit in memory all at once.
            self._rest.seek(0)
            while chunk := self._rest.read(CHUNK):
                self._blocked.write(chunk)
            head, foot = self.shell(summary).split(HOSTS_SLOT)
            self._blocked.assemble(head, foot)
        finally:  # whatever failed, no spool is left beside the report
            self._rest.close()
            self._blocked.discard()

    def shell(self, summary: RunSummary) -> str:
        """The page without its hosts: :data:`HOSTS_SLOT` marks where they go."""
        assert self.meta is not None, "start() first"
        page = ENVIRONMENT.get_template(PAGE_TEMPLATE).render(
            meta=self.meta,
            summary=summary,
            statuses=HOST_STATUSES,
            hosts=self.hosts,
            hosts_with_blockers=self.hosts_with_blockers,
            changed_then_failed=self.changed_then_failed,
            codes=[(code, severity, n) for code, (severity, n) in sorted(self.codes.items())],
            hosts_slot=HOSTS_SLOT,
        )
        assert page.count(HOSTS_SLOT) == 1, "the template places the hosts exactly once"
        return page
