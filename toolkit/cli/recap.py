"""The end of ``jcfix play``: one line per host with its worst finding, a count per finding code with the
next command to run for it, and the totals.

A host is judged by its *last* diagnosis (:func:`toolkit.report.view.has_blockers`, the rule the exit code
and the HTML report use): a host whose steps all ran but whose diagnosis still finds a blocker is
``blocked``, never ``ok``. ``-q`` hides only the hosts with nothing to do (``ok`` and no blocker).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text

from toolkit.cli.layout import INDENT, Column, Row, print_lines, render_rows, wrap
from toolkit.cli.output import STATUS_STYLE
from toolkit.models import HostReport
from toolkit.report.view import diagnosis_findings, host_reason, worst_findings
from toolkit.rules import Finding
from toolkit.textvalues import plural

BLOCKED = "blocked"
SEVERITY_STYLE = {"blocker": "bold red", "warning": "yellow", "info": "dim"}


@dataclass(frozen=True)
class RecapEntry:
    """What the recap keeps of one host (small: 10,000 hosts stay cheap)."""

    host: str
    status: str
    label: str
    batch: int | None
    worst: Finding | None
    more: int
    reason: str

    @property
    def blocked(self) -> bool:
        return self.worst is not None and self.worst.severity == "blocker"

    @property
    def shown_status(self) -> str:
        """``blocked`` for a host that ran fine but whose last diagnosis found a blocker, else its label."""
        return BLOCKED if self.status == "ok" and self.blocked else self.label

    @property
    def nothing_to_do(self) -> bool:
        return self.status == "ok" and not self.blocked


@dataclass
class CodeCount:
    """One finding code across the run: its severity, how many hosts have it, and one host's fix."""

    severity: str
    hosts: int = 0
    next_command: str | None = None


@dataclass
class Recap:
    """The recap, filled as hosts finish."""

    entries: list[RecapEntry] = field(default_factory=list)
    codes: dict[str, CodeCount] = field(default_factory=dict)

    def add(self, report: HostReport) -> RecapEntry:
        """Keep ``report``'s line and count its last diagnosis's codes."""
        findings = worst_findings(diagnosis_findings(report))
        notable = [f for f in findings if f.severity != "info"]
        for finding in {f.code: f for f in reversed(findings)}.values():  # each code once per host, first wins
            count = self.codes.setdefault(finding.code, CodeCount(finding.severity))
            count.hosts += 1
            count.next_command = count.next_command or finding.fix
        entry = RecapEntry(
            host=report.target.name,
            status=report.status,
            label=report.label,
            batch=getattr(report, "batch", None),
            worst=notable[0] if notable else None,
            more=len(notable) - 1 if notable else 0,
            reason=_reason(report),
        )
        self.entries.append(entry)
        return entry

    @property
    def blocked_hosts(self) -> int:
        return sum(entry.blocked for entry in self.entries)


def _reason(report: HostReport) -> str:
    reason = host_reason(report)
    if reason:
        return reason
    for _, result in report.results:
        if result.status == "failed" and result.error is not None:
            return f"{result.error.category}: {result.error.message}"
    return ""


def _detail(entry: RecapEntry) -> Text:
    """The worst finding (``CASE_MISMATCH Jonathan (+2 more)``), why it failed or stopped, or "nothing to do"."""
    text = Text()
    if entry.worst is not None:
        text.append(entry.worst.code, style=SEVERITY_STYLE.get(entry.worst.severity, ""))
        text.append(f" {entry.worst.subject}" if entry.worst.subject else "")
        text.append(f" (+{entry.more} more)" if entry.more else "")
    if entry.reason:
        text.append("; " if text.plain else "").append(entry.reason)
    if text.plain:
        return text
    return Text("nothing left to do" if entry.status == "changed" else "nothing to do", style="dim")


def print_recap(
    recap: Recap,
    counts: Mapping[str, int],
    out: Console,
    *,
    quiet: bool = False,
    check_mode: bool = False,
    stopped: str | None = None,
    command: Callable[[str], str] = str,
) -> None:
    """The host lines (``-q``: only hosts with something to do), the codes with their next command, the totals.

    ``command`` rewrites a fix command so that it runs as printed (the run's inventory and options).
    """
    entries = [e for e in recap.entries if not (quiet and e.nothing_to_do)]
    batches = any(e.batch is not None for e in recap.entries)
    if entries:
        out.print("RECAP" + (" (check mode: nothing was changed)" if check_mode else ""), highlight=False)
        columns = [Column("Host"), Column("Status", labelled=False)]
        columns += [Column("Batch")] if batches else []
        columns += [Column("Worst finding, or why", "text", labelled=False)]
        rows = []
        for e in entries:
            shown = "would change" if check_mode and e.status == "changed" else e.shown_status
            status = Text(shown, style="red" if shown == BLOCKED else STATUS_STYLE.get(e.status, ""))
            batch = [f"#{e.batch}" if e.batch is not None else ""] if batches else []
            rows.append(Row([e.host, status, *batch, _detail(e)]))
        render_rows(out, columns, rows, header=False)
    _print_codes(recap, out, command)
    total = sum(counts.values())
    summary = ", ".join(f"[{STATUS_STYLE.get(k, '')}]{v} {k}[/]" for k, v in counts.items() if v)
    blocked = f"; {recap.blocked_hosts} with blockers" if recap.blocked_hosts else ""
    out.print(f"{plural(total, 'host')}: {summary or 'none'}{blocked}", highlight=False)
    if stopped:
        print_lines(out, wrap(Text(f"stopped starting hosts: {stopped}"), out.width, indent=INDENT))


def _print_codes(recap: Recap, out: Console, command: Callable[[str], str]) -> None:
    """One line per finding code (blockers first, then by hosts), the next command to run on its own line."""
    order = sorted(recap.codes.items(), key=lambda kv: (_rank(kv[1].severity), -kv[1].hosts, kv[0]))
    shown = list(order)
    if not shown:
        return
    out.print("FINDINGS (each host's last diagnosis)", highlight=False)
    columns = [Column("Code"), Column("Severity", labelled=False), Column("Hosts", labelled=False)]
    columns.append(Column("next", "long"))
    rows = [
        Row(
            [
                Text(code, style=SEVERITY_STYLE.get(count.severity, "")),
                count.severity,
                plural(count.hosts, "host"),
                command(count.next_command) if count.next_command else "",
            ]
        )
        for code, count in shown
    ]
    render_rows(out, columns, rows, header=False)
    if any(count.next_command for _, count in shown):
        out.print("(next: for the first host with the code; jcfix diagnose lists each host's)", highlight=False)


def _rank(severity: str) -> int:
    return {"blocker": 0, "warning": 1}.get(severity, 2)
