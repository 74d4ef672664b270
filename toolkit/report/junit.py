"""``--junit FILE``: the run as JUnit XML, for CI dashboards.

One ``<testsuite>`` per run (inside ``<testsuites>``), one ``<testcase>`` per host and step
(``classname`` the host, ``name`` the step). Statuses map to JUnit's outcomes:

* ``ok``, ``changed``, ``pending``: passed (the status, and for ``pending`` why, in ``<system-out>``);
* ``skipped``: ``<skipped>``;
* ``failed`` because the host could not be worked with (``unreachable``, ``auth_failed``, ``protocol``):
  ``<error>``, the category as ``type``; any other ``failed`` (the script failed, refused, did not verify):
  ``<failure>``. A step that changed the host and then failed says so first: its message starts with
  ``changed, then failed:`` and its output reads ``status: failed (changed)``;
* a step that passed but whose findings hold a ``blocker`` (a readiness check that found one):
  ``<failure type="blocker">`` listing them: CI should go red on a fleet that is not ready.

A host that ran no step (skipped before it started) is one ``<testcase name="(host)">`` with ``<skipped>``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from toolkit.models import HostReport
from toolkit.recorder import RunMeta, RunSummary
from toolkit.report.spool import Spool
from toolkit.report.view import (
    TRANSPORT_CATEGORIES,
    FindingsFor,
    StepView,
    changed_then_failed,
    default_findings,
    host_reason,
    step_views,
)
from toolkit.textvalues import plural, printable


def _value(text: object) -> str:
    """One value (a host's message, a name) for the XML: control characters escaped (``\\x0a``), so a newline in
    it never starts a line of its own; and what XML 1.0 cannot hold at all (surrogates, U+FFFE/U+FFFF) too."""
    return "".join(
        f"\\u{ord(ch):04x}" if 0xD800 <= ord(ch) <= 0xDFFF or ord(ch) in (0xFFFE, 0xFFFF) else ch
        for ch in printable(text)
    )


def _attr(text: object) -> str:
    return quoteattr(_value(text))


def _text(lines: list[str]) -> str:
    """Element text of several lines, each one value (escaped): only jcfix's own line breaks remain."""
    return escape("\n".join(_value(line) for line in lines))


class JUnitRecorder:
    """Writes a run as JUnit XML to ``path`` at ``finish`` (testcases spooled as hosts finish)."""

    def __init__(self, path: Path, findings_for: FindingsFor = default_findings) -> None:
        self.path = path
        self.findings_for = findings_for
        self.meta: RunMeta | None = None
        self.tests = self.failures = self.errors = self.skipped = 0
        self.changed_then_failed = 0
        self._spool: Spool | None = None

    def start(self, meta: RunMeta) -> None:
        """Open the spool."""
        self.meta = meta
        self._spool = Spool(self.path)

    def _outcome(self, view: StepView) -> str:
        """The testcase's child element (empty when it passed), counting it."""
        if view.status == "skipped":
            self.skipped += 1
            return f"<skipped message={_attr(view.error_message or 'skipped')}/>"
        if view.status == "failed":
            category = view.error_category or "failed"
            message = view.error_message or "failed"
            if view.changed and not view.whatif:
                # The failure must not hide that the host was changed (and may need jcfix undo).
                message = f"changed, then failed: {message}"
            tag = "error" if category in TRANSPORT_CATEGORIES else "failure"
            if tag == "error":
                self.errors += 1
            else:
                self.failures += 1
            return f"<{tag} type={_attr(category)} message={_attr(message)}>{_text([message])}</{tag}>"
        blockers = view.blockers
        if blockers:
            self.failures += 1
            lines = [f"{f.code}: {f.message}" + (f" (fix: {f.fix})" if f.fix else "") for f in blockers]
            message = f"{plural(len(blockers), 'blocker')}: " + ", ".join(sorted({f.code for f in blockers}))
            return f"<failure type='blocker' message={_attr(message)}>{_text(lines)}</failure>"
        return ""

    def host_done(self, report: HostReport) -> None:
        """Spool one testcase per step of the host (or one skipped testcase for a host that ran none)."""
        assert self._spool is not None, "start() first"
        host = report.target.name
        parts: list[str] = []
        views = list(step_views(report, self.findings_for))
        self.changed_then_failed += changed_then_failed(report)
        if not views:
            self.tests += 1
            self.skipped += report.status == "skipped"
            reason = host_reason(report) or report.status
            inner = f"<skipped message={_attr(reason)}/>" if report.status == "skipped" else ""
            parts.append(f'    <testcase classname={_attr(host)} name="(host)">{inner}</testcase>\n')
        for view in views:
            self.tests += 1
            outcome = self._outcome(view)
            out = [f"status: {view.label}" + (" (check mode)" if view.whatif else "")]
            out += [f"{f.severity} {f.code}: {f.message}" for f in view.findings]
            parts.append(
                f"    <testcase classname={_attr(host)} name={_attr(view.name)}>{outcome}"
                f"<system-out>{_text(out)}</system-out></testcase>\n"
            )
        self._spool.write("".join(parts))

    def finish(self, summary: RunSummary) -> None:
        """Write the XML file: the suite's counts and properties, then every testcase."""
        assert self._spool is not None and self.meta is not None, "start() first"
        meta = self.meta
        seconds = max(0.0, (summary.ended - meta.started).total_seconds())
        counts = f'tests="{self.tests}" failures="{self.failures}" errors="{self.errors}" skipped="{self.skipped}"'
        properties = {
            "run_id": meta.run_id,
            "command": meta.command,
            "playbook": meta.playbook or "",
            "user": meta.user,
            "check_mode": str(meta.check_mode).lower(),
            "interrupted": str(summary.interrupted).lower(),
            "exit_code": str(summary.exit_code),
            **{f"hosts_{status}": str(n) for status, n in summary.counts.items()},
            "hosts_changed_then_failed": str(self.changed_then_failed),
        }
        header = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites name="jcfix" {counts} time="{seconds:.3f}">\n'
            f"  <testsuite name={_attr(meta.playbook or meta.command)} id={_attr(meta.run_id)} "
            f'{counts} time="{seconds:.3f}" timestamp={_attr(meta.started.isoformat(timespec="seconds"))} '
            f"hostname={_attr(socket.gethostname())}>\n"
            "    <properties>\n"
            + "".join(f"      <property name={_attr(k)} value={_attr(v)}/>\n" for k, v in properties.items())
            + "    </properties>\n"
        )
        self._spool.assemble(header, "  </testsuite>\n</testsuites>\n")
