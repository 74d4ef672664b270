"""Reports from the real CLI over the lab: ``--junit`` and ``--html`` on a diagnose of a mixed fleet, and the
HTML page rendered by headless Chromium (Debian's ``chromium``) with its filters driven by the URL hash."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from e2e_support import Lab, run_jcfix
from report_support import rendered_dom

from toolkit.exitcodes import ExitCode


class _Dom(HTMLParser):
    """Which host sections are visible, the 'Showing' line, the summary counts, the selected filters."""

    def __init__(self) -> None:
        super().__init__()
        self.visible: list[str] = []
        self.hidden: list[str] = []
        self.shown = ""
        self.counts: dict[str, str] = {}
        self._in: str | None = None
        self._count: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and "host" in (a.get("class") or "").split():
            (self.hidden if "hidden" in a else self.visible).append(a["data-host"] or "")
        if a.get("id") == "shown":
            self._in = "shown"
        if tag == "a" and "count" in (a.get("class") or "").split():
            self._count = a.get("data-status")

    def handle_data(self, data: str) -> None:
        if self._in == "shown":
            self.shown += data
        if self._count and data.strip().isdigit():
            self.counts[self._count] = data.strip()
            self._count = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in = None


def parse_dom(text: str) -> _Dom:
    dom = _Dom()
    dom.feed(text)
    return dom


@pytest.fixture
def diagnosed(start_lab: Callable[..., Lab], tmp_path: Path) -> tuple[Lab, Path, Path]:
    """``jcfix diagnose`` over the mixed fleet with ``--junit`` and ``--html``."""
    lab = start_lab("mixed")
    junit, html = tmp_path / "junit.xml", tmp_path / "report.html"
    history = tmp_path / "history.sqlite3"
    args = ("diagnose", "-i", str(lab.inventory), "--junit", str(junit), "--html", str(html), "--history", str(history))
    result = run_jcfix(*args)
    assert result.returncode == ExitCode.BLOCKERS, result.stderr
    return lab, junit, html


def test_diagnose_writes_junit_with_a_testcase_per_host(diagnosed: tuple[Lab, Path, Path]) -> None:
    lab, junit, _ = diagnosed
    (suite,) = ET.parse(junit).getroot().findall("testsuite")
    hosts = [h.hostname for h in lab.fleet.hosts]
    # In the order hosts finished: compare as sets of one testcase per host.
    assert sorted(case.get("classname") or "" for case in suite.findall("testcase")) == sorted(hosts)
    blocked = {case.get("classname") for case in suite.findall("testcase") if case.find("failure") is not None}
    assert "lab-case" in blocked and "lab-healthy" not in blocked
    assert suite.get("tests") == str(len(hosts)) and suite.get("failures") == str(len(blocked))


def test_html_renders_summary_and_filters_in_chromium(diagnosed: tuple[Lab, Path, Path], tmp_path: Path) -> None:
    lab, _, html = diagnosed
    total = len(lab.fleet.hosts)
    profile = tmp_path / "chromium-profile"

    everything = parse_dom(rendered_dom(html, "", profile))
    assert everything.counts["ok"] == str(total) and everything.counts["failed"] == "0"
    assert len(everything.visible) == total and everything.hidden == []
    # The script ran: it rewrote the line the server side wrote, from the hosts it counted itself.
    assert everything.shown == f"Showing {total} of {total} hosts"

    by_code = parse_dom(rendered_dom(html, "code=CASE_MISMATCH", profile))
    assert by_code.visible == ["lab-case"]
    assert len(by_code.hidden) == total - 1
    assert by_code.shown == f"Showing 1 of {total} hosts"

    by_status = parse_dom(rendered_dom(html, "status=failed", profile))
    assert by_status.visible == [] and by_status.shown == f"Showing 0 of {total} hosts"

    both = parse_dom(rendered_dom(html, "status=ok&code=HELLO_PIN_SET", profile))
    assert both.visible and all(host in everything.visible for host in both.visible)
    assert len(both.visible) < total

    blocked = parse_dom(rendered_dom(html, "blocked=yes", profile))
    assert "lab-case" in blocked.visible and "lab-healthy" in blocked.hidden
    assert blocked.shown == f"Showing {len(blocked.visible)} of {total} hosts"
    # The hosts with blockers come first on the page.
    assert everything.visible[: len(blocked.visible)] == blocked.visible


class _Sections(HTMLParser):
    """The host sections in page order, with their attributes, and the summary line's blocked count."""

    def __init__(self) -> None:
        super().__init__()
        self.hosts: list[dict[str, str | None]] = []
        self.superseded_blockers = 0
        self.total: dict[str, str | None] = {}
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and "host" in (a.get("class") or "").split():
            self.hosts.append(a)
        if a.get("id") == "total":
            self.total = a
        if tag == "tr" and "superseded" in (a.get("class") or "").split():
            self._row = []

    def handle_data(self, data: str) -> None:
        if self._row is not None and data.strip():
            self._row.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            self.superseded_blockers += self._row[:1] == ["blocker"]
            self._row = None


def test_html_counts_hosts_with_blockers_as_the_console_recap(start_lab: Callable[..., Lab], tmp_path: Path) -> None:
    # Issue 13: after the fixes, the console counted the hosts the *second* diagnosis still blocks, the page
    # every host any diagnosis had blocked (8 against 4 on this lab). Both now judge by the last diagnosis.
    lab = start_lab("mixed")
    html = tmp_path / "report.html"
    args = ("play", "fix-takeover-blockers", "--apply", "--plain", "-i", str(lab.inventory), "--html", str(html))
    result = run_jcfix(*args, "--history", str(tmp_path / "history.sqlite3"))
    console = re.findall(r"(\d+) with blockers", result.stdout)
    assert console, result.stdout[-2000:] + result.stderr[-2000:]

    page = _Sections()
    page.feed(html.read_text(encoding="utf-8"))
    blocked = [h["data-host"] for h in page.hosts if h["data-blocked"] == "yes"]
    assert page.total["data-blocked"] == console[-1] == str(len(blocked))
    assert page.superseded_blockers > 0, "the run fixed blockers an earlier diagnosis found: the case at hand"
    # Hosts with blockers first.
    assert [h["data-host"] for h in page.hosts[: len(blocked)]] == blocked
    assert len(page.hosts) == len(lab.fleet.hosts)
