"""JSON Lines, JUnit and HTML reports from host reports of every status: valid, complete, mapped right."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from report_support import record, sample_reports

from toolkit.report.html import HtmlRecorder
from toolkit.report.jsonstream import JsonLinesRecorder
from toolkit.report.junit import JUnitRecorder


def test_json_lines_has_one_object_per_host_and_step_and_every_host() -> None:
    stream = io.StringIO()
    record(JsonLinesRecorder(stream), sample_reports())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["type"] for line in lines[:1] + lines[-1:]] == ["run", "summary"]
    steps = [line for line in lines if line["type"] == "step"]
    hosts = [line for line in lines if line["type"] == "host"]
    assert [s["host"] for s in steps] == ["pc-ready", "pc-case", "pc-down", "pc-broken", "pc-when"]
    assert {h["host"]: h["status"] for h in hosts} == {
        "pc-ready": "ok",
        "pc-case": "ok",
        "pc-down": "unreachable",
        "pc-broken": "failed",
        "pc-when": "skipped",
        "pc-later": "skipped",
    }
    assert next(h for h in hosts if h["host"] == "pc-later")["reason"] == "max-fail-percent 10% reached"
    by_host = {s["host"]: s for s in steps}
    assert by_host["pc-down"]["error"] == {"category": "unreachable", "message": "connection refused"}
    assert by_host["pc-ready"]["result"]["data"]["computer_name"] == "LAB-HEALTHY"
    case_codes = {f["code"]: f for f in by_host["pc-case"]["findings"]}
    assert case_codes["CASE_MISMATCH"]["fix"].startswith("jcfix fix rename --host pc-case")
    assert lines[-1]["counts"]["skipped"] == 2 and lines[-1]["exit_code"] == 4
    # Streamed: each line is complete JSON on its own, written as the host finished.
    assert all(line["run_id"] == "r-sample" for line in lines)


def test_junit_is_one_suite_with_a_testcase_per_host_and_step(tmp_path: Path) -> None:
    path = tmp_path / "out" / "junit.xml"
    record(JUnitRecorder(path), sample_reports())
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("pc-ready", "collect_facts"),
        ("pc-case", "collect_facts"),
        ("pc-down", "collect_facts"),
        ("pc-broken", "collect_facts"),
        ("pc-when", "collect_facts"),
        ("pc-later", "(host)"),
    ]
    outcome = {c.get("classname"): [child.tag for child in c if child.tag != "system-out"] for c in cases}
    assert outcome == {
        "pc-ready": [],
        "pc-case": ["failure"],  # a readiness blocker makes CI red
        "pc-down": ["error"],  # the host could not be worked with
        "pc-broken": ["failure"],  # the script failed
        "pc-when": ["skipped"],
        "pc-later": ["skipped"],
    }
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": "6", "failures": "2", "errors": "1", "skipped": "2"}
    assert {k: root.get(k) for k in counts} == counts
    assert suite.get("id") == "r-sample" and suite.get("timestamp") == "2026-11-26T12:00:00+00:00"
    case_failure = cases[1].find("failure")
    assert case_failure is not None and case_failure.get("type") == "blocker"
    assert "CASE_MISMATCH" in (case_failure.text or "")
    broken = cases[3].find("failure")
    assert broken is not None and broken.get("type") == "script_failed"
    assert broken.get("message") == "Access <denied> & \\x07"  # XML-escaped, the control character shown as \x07
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["hosts_unreachable"] == "1" and properties["user"] == "tester"
    assert not list(path.parent.glob(".*")), "the spool files are removed"


class _Page(HTMLParser):
    """Collects what the report test looks at: host sections, summary counts, filter options, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.hosts: dict[str, dict[str, str | None]] = {}
        self.counts: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}
        self.fixes: list[str] = []
        self.external: list[str] = []
        self._select: str | None = None
        self._count: str | None = None
        self._in_fix = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and "host" in (a.get("class") or "").split():
            self.hosts[a["data-host"] or ""] = a
        if tag == "a" and "count" in (a.get("class") or "").split():
            self._count = a.get("data-status")
        if tag == "select":
            self._select = a.get("id")
            self.options[self._select or ""] = []
        if tag == "option" and self._select:
            self.options[self._select].append(a.get("value") or "")
        if tag == "td" and a.get("class") == "fix":
            self._in_fix = True
        if (tag == "script" and a.get("src")) or (tag == "link" and a.get("href")):
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "td":
            self._in_fix = False

    def handle_data(self, data: str) -> None:
        if self._count and data.strip().isdigit():
            self.counts[self._count] = data.strip()
            self._count = None
        if self._in_fix and data.strip():
            self.fixes.append(data.strip())


def test_html_is_self_contained_with_summary_filters_and_fix_commands(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    record(HtmlRecorder(path), sample_reports())
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert page.external == [] and "http://" not in text and "https://" not in text  # nothing loads from a network
    assert page.counts == {"ok": "2", "changed": "0", "pending": "0", "failed": "1", "unreachable": "1", "skipped": "2"}
    # The host with a blocker first, then the others in the order they finished.
    assert list(page.hosts) == ["pc-case", "pc-ready", "pc-down", "pc-broken", "pc-when", "pc-later"]
    assert [page.hosts[h]["data-blocked"] for h in ("pc-case", "pc-ready")] == ["yes", "no"]
    assert page.hosts["pc-case"]["data-status"] == "ok"
    assert "CASE_MISMATCH" in (page.hosts["pc-case"]["data-codes"] or "").split()
    assert page.hosts["pc-down"]["data-status"] == "unreachable"
    assert page.options["filter-status"] == ["", "ok", "changed", "pending", "failed", "unreachable", "skipped"]
    assert {"CASE_MISMATCH", "TAKEN_OVER"} <= set(page.options["filter-code"])
    assert "jcfix fix rename --host pc-case --user jonathan --to Jonathan" in page.fixes
    assert "Access &lt;denied&gt; &amp; \\x07</td>" in text  # host text is escaped, never markup; \x07 shown as such
    assert "max-fail-percent 10% reached" in text
