"""Issue 13 items 5 and 7: the play recap shows each host's worst finding, a count per code with the next
command, hides under -q only hosts with nothing to do, reads at 80 columns for 200 hosts, and agrees with the
HTML report on how many hosts have blockers (the host's last diagnosis)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from report_support import facts_result, facts_step, record
from rich.console import Console

from toolkit.cli.recap import Recap, print_recap
from toolkit.report.html import HtmlRecorder
from toolkit.report.view import has_blockers
from toolkit.results import failed
from toolkit.rules import Finding
from toolkit.runner import HostReport
from toolkit.transport.base import HostTarget

SCENARIOS = ("healthy", "case", "msa", "pin", "space", "fullname", "agent_stopped")


def fleet(n: int = 200) -> list[HostReport]:
    """``n`` hosts cycling through lab scenarios' facts, every 25th one unreachable; batch numbers as --serial."""
    facts = {name: facts_result(name) for name in SCENARIOS}
    reports = []
    for i in range(n):
        name = f"pc-berlin-office-{i:04d}"
        if i % 25 == 7:
            result = failed("collect_facts", "unreachable", f"{name}: connection refused (is WinRM listening?)")
            report = HostReport(HostTarget(name), [(facts_step(), result)])
        else:
            users, result = facts[SCENARIOS[i % len(SCENARIOS)]]
            report = HostReport(HostTarget(name, vars={"jc_users": users}), [(facts_step(), result)])
        report.batch = 1 if i == 0 else 2 + (i - 1) // 50
        reports.append(report)
    return reports


def render(recap: Recap, reports: list[HostReport], *, width: int, quiet: bool = False) -> str:
    out = Console(width=width, file=io.StringIO(), color_system=None, soft_wrap=True)
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.status] = counts.get(report.status, 0) + 1
    print_recap(recap, counts, out, quiet=quiet, command=lambda c: c.replace("--host", "-i fleet.yaml --limit"))
    return out.file.getvalue()  # type: ignore[attr-defined]


def test_a_200_host_recap_reads_at_80_columns() -> None:
    reports = fleet()
    recap = Recap()
    for report in reports:
        recap.add(report)
    text = render(recap, reports, width=80)
    lines = text.splitlines()
    # Only a next command may run past 80 columns, alone on its line and whole.
    for line in lines:
        assert len(line) <= 80 or line.startswith("  next: jcfix "), line
    host_lines = {line.split()[0]: line.split() for line in lines if line.startswith("pc-berlin-office-")}
    assert len(host_lines) == 200
    blocked = [r.target.name for r in reports if has_blockers(r)]
    # A host with blockers is never "ok": it is "blocked", with its worst finding (a blocker) and its batch.
    for name in blocked:
        status, batch, code = host_lines[name][1:4]
        assert status == "blocked" and batch[0] == "#" and batch[1:].isdigit() and code.isupper(), host_lines[name]
    assert host_lines["pc-berlin-office-0001"][1:4] == ["blocked", "#2", "CASE_MISMATCH"]
    assert host_lines["pc-berlin-office-0000"][1:] == ["ok", "#1", "nothing", "to", "do"]
    assert host_lines["pc-berlin-office-0007"][1:4] == ["unreachable", "#2", "unreachable:"]
    # A count per code, with the next command (pasteable form) on its own line below it.
    case_hosts = sum(1 for i in range(200) if i % 25 != 7 and SCENARIOS[i % len(SCENARIOS)] == "case")
    at = lines.index(next(line for line in lines if line.startswith("CASE_MISMATCH ")))
    assert lines[at].split() == ["CASE_MISMATCH", "blocker", str(case_hosts), "hosts"]
    fix = "jcfix fix rename -i fleet.yaml --limit pc-berlin-office-0001 --user jonathan --to Jonathan"
    assert lines[at + 1] == f"  next: {fix}"
    unreachable = sum(1 for i in range(200) if i % 25 == 7)
    assert lines[-1] == f"200 hosts: {200 - unreachable} ok, {unreachable} unreachable; {len(blocked)} with blockers"


def test_quiet_hides_only_hosts_with_nothing_to_do() -> None:
    reports = fleet(30)
    recap = Recap()
    for report in reports:
        recap.add(report)
    shown = {line.split()[0] for line in render(recap, reports, width=80, quiet=True).splitlines()}
    for report in reports:
        something = report.status != "ok" or has_blockers(report)
        assert (report.target.name in shown) == something, report.target.name


def _diagnosed_twice(name: str, first: list[Finding], second: list[Finding]) -> HostReport:
    users, result = facts_result("healthy")
    report = HostReport(HostTarget(name, vars={"jc_users": users}), [(facts_step(), result), (facts_step(), result)])
    report.diagnoses = {0: first, 1: second}
    return report


def test_console_recap_html_and_exit_rule_count_the_same_hosts_with_blockers(tmp_path: Path) -> None:
    blocker = Finding("CASE_MISMATCH", "blocker", "differs in case", subject="Jonathan")
    reports = [
        _diagnosed_twice("pc-fixed", [blocker], []),  # fixed by the run: the first diagnosis no longer stands
        _diagnosed_twice("pc-left", [blocker], [blocker]),
        _diagnosed_twice("pc-clean", [], []),
    ]
    recap = Recap()
    for report in reports:
        recap.add(report)
    path = tmp_path / "report.html"
    record(HtmlRecorder(path), reports)
    page = re.search(r'data-blocked="(\d+)"', path.read_text(encoding="utf-8"))
    assert page is not None
    assert [has_blockers(r) for r in reports] == [False, True, False]  # run_action's rule: the last diagnosis
    assert recap.blocked_hosts == int(page.group(1)) == 1
    assert "1 with blockers" in render(recap, reports, width=80).splitlines()[-1]
