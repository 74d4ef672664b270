"""A change followed by a failure reads as "failed (changed)" in every report, never as "nothing changed"
(issue 10, defect 5); the exit code stays the failure's."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from report_support import record

from toolkit.actions import get_action
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.report.html import HtmlRecorder
from toolkit.report.jsonstream import JsonLinesRecorder
from toolkit.report.junit import JUnitRecorder
from toolkit.results import RawOutput
from toolkit.runner import HostReport, Step
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget

RENAME = get_action("rename_user")
BACKUP = "C:\\ProgramData\\jcfix\\backups\\r-1\\001-rename.json"


def _rename_step(whatif: bool = False) -> Step:
    # Not rendered: the reports read the step's names and mode, never its script.
    return Step(RENAME, RenderedScript("rename_user", RENAME.version, "# not rendered"), whatif=whatif)


def _document(status: str, changed: bool, data: dict[str, Any] | None, error: dict[str, str] | None) -> Any:
    text = json.dumps(
        {
            "schema": 1,
            "action": "rename_user",
            "status": status,
            "changed": changed,
            "data": data,
            "findings": [],
            "error": error,
        }
    )
    return RENAME.parse(RawOutput(output=[text]))


def reports() -> list[HostReport]:
    """pc-half: renamed, then the read-back disagreed (partial data); pc-clean: refused before any change."""
    partial = {"user": "jonathan", "before": {"name": "jonathan"}, "backups": [BACKUP]}
    verify_failed = {"category": "verify_failed", "message": "the name read back is 'jonathan'"}
    half = _document("failed", True, partial, verify_failed)
    refused = _document("failed", False, None, {"category": "invalid_input", "message": "no such account"})
    return [
        HostReport(HostTarget("pc-half"), [(_rename_step(), half)]),
        HostReport(HostTarget("pc-clean"), [(_rename_step(), refused)]),
    ]


def test_json_lines_say_changed_then_failed_and_keep_the_partial_data() -> None:
    stream = io.StringIO()
    record(JsonLinesRecorder(stream), reports())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    steps = {line["host"]: line for line in lines if line["type"] == "step"}
    hosts = {line["host"]: line for line in lines if line["type"] == "host"}
    half = steps["pc-half"]
    assert (half["status"], half["changed"], half["label"]) == ("failed", True, "failed (changed)")
    assert half["result"]["data"]["backups"] == [BACKUP] and half["result"]["data_partial"] is True
    assert half["result"]["data"]["before"] == {"name": "jonathan"}
    assert (hosts["pc-half"]["status"], hosts["pc-half"]["changed"], hosts["pc-half"]["label"]) == (
        "failed",
        True,
        "failed (changed)",
    )
    assert (steps["pc-clean"]["label"], hosts["pc-clean"]["label"], hosts["pc-clean"]["changed"]) == (
        "failed",
        "failed",
        False,
    )
    assert lines[-1]["changed_then_failed"] == 1


def test_junit_failure_says_the_change_happened(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    record(JUnitRecorder(path), reports())
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("classname"): c for c in suite.findall("testcase")}
    half = cases["pc-half"].find("failure")
    assert half is not None and half.get("type") == "verify_failed"
    assert half.get("message") == "changed, then failed: the name read back is 'jonathan'"
    assert "status: failed (changed)" in (cases["pc-half"].findtext("system-out") or "")
    clean = cases["pc-clean"].find("failure")
    assert clean is not None and clean.get("message") == "no such account"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["hosts_changed_then_failed"] == "1"


def test_html_shows_failed_changed(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    record(HtmlRecorder(path), reports())
    text = path.read_text(encoding="utf-8")
    assert 'data-host="pc-half" data-status="failed" data-label="failed (changed)"' in text
    assert 'data-host="pc-clean" data-status="failed" data-label="failed"' in text
    assert "<td>failed (changed)</td>" in text
    assert '<span id="changed-then-failed" data-hosts="1">1 failed after changing the host' in text


def test_check_mode_never_reads_as_changed(tmp_path: Path) -> None:
    # A -WhatIf step changes nothing, whatever its document claims: the host is not "failed (changed)".
    would = _document("failed", True, None, {"category": "script_failed", "message": "boom"})
    report = HostReport(HostTarget("pc-check"), [(_rename_step(whatif=True), would)])
    stream = io.StringIO()
    record(JsonLinesRecorder(stream), [report])
    host = next(json.loads(line) for line in stream.getvalue().splitlines() if '"type":"host"' in line)
    assert host["changed"] is False and host["label"] == "failed"


def test_exit_code_failure_wins_over_a_change() -> None:
    # The exit code is the failure's; the reports above say a change happened.
    assert for_statuses(["failed", "changed"]) == ExitCode.FAILED
    assert for_statuses([r.status for r in reports()]) == ExitCode.FAILED
