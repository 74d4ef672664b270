"""Reports from the real CLI over the lab: ``--junit`` and ``--html`` on a diagnose of a mixed fleet, and the
HTML page rendered by headless Chromium (Debian's ``chromium``) with its filters driven by the URL hash."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from e2e_support import Lab, run_jcfix

from toolkit.exitcodes import ExitCode

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("headless Chromium is not installed and could not be (.ci/run runs: apt-get install -y chromium)")
    return found


def rendered_dom(page: Path, fragment: str, profile: Path) -> str:
    """The DOM after the page's scripts ran, for ``page#fragment`` (no network: a file:// URL)."""
    url = page.resolve().as_uri() + "#" + fragment
    result = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "</html>" in result.stdout, result.stderr[-2000:]
    return result.stdout


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
