"""``jcfix runs show RUN --format csv|json|junit|html``: a past run's reports, rebuilt from the run history.

A run is recorded live by the history and by each report writer at once; the report rebuilt later from
the history must be the one the run wrote (JSON Lines and JUnit byte for byte, HTML with the same hosts).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from report_support import record, sample_reports
from typer.testing import CliRunner

from toolkit.cli.app import app
from toolkit.history import HistoryRecorder
from toolkit.recorder import MultiRecorder
from toolkit.report.export import CSV_COLUMNS
from toolkit.report.html import HtmlRecorder
from toolkit.report.jsonstream import JsonLinesRecorder
from toolkit.report.junit import JUnitRecorder
from toolkit.results import Finding
from toolkit.runner import HostReport
from toolkit.transport.base import HostTarget


def _reports() -> list[HostReport]:
    # History does not keep the inventory's jc_users: the live run here has none either, so both runs of
    # the rules see the same input and the reports must match exactly.
    reports = sample_reports()
    for report in reports:
        report.target = HostTarget(report.target.name, address="127.0.0.1")
    # A host whose step carries two findings of its own: CSV has a row for each.
    step, result = reports[0].results[0]
    found = [
        Finding("HELLO_PIN_SET", "blocker", "pat has a PIN"),
        Finding("AGENT_OLD", "warning", "the agent is old"),
    ]
    carrying = result.model_copy(update={"findings": found})
    reports.append(HostReport(HostTarget("pc-found", address="127.0.0.1"), [(step, carrying)]))
    return reports


@pytest.fixture
def recorded(tmp_path: Path) -> dict[str, Any]:
    """One run recorded into a history file and, live, as JSON Lines, JUnit and HTML."""
    db = tmp_path / "history.sqlite3"
    stream = io.StringIO()
    live = {"junit": tmp_path / "live.xml", "html": tmp_path / "live.html"}
    recorder = MultiRecorder(
        [
            HistoryRecorder(db),
            JsonLinesRecorder(stream),
            JUnitRecorder(live["junit"]),
            HtmlRecorder(live["html"]),
        ]
    )
    record(recorder, _reports(), run_id="r-export")
    return {"db": db, "json": stream.getvalue(), **live}


def _show(db: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["runs", "show", "r-export", "--history", str(db), *args])
    assert result.exit_code == 0, result.output
    return result


def test_json_lines_rebuilt_from_history_is_what_the_run_wrote(recorded: dict[str, Any]) -> None:
    shown = _show(recorded["db"], "--format", "json")
    assert shown.stdout == recorded["json"]
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    assert lines[0]["type"] == "run" and lines[-1]["type"] == "summary"
    hosts = {line["host"]: line["status"] for line in lines if line["type"] == "host"}
    assert hosts == {
        "pc-ready": "ok", "pc-case": "ok", "pc-down": "unreachable", "pc-broken": "failed", "pc-when": "skipped",
        "pc-later": "skipped", "pc-found": "ok",
    }  # fmt: skip


def test_junit_rebuilt_from_history_is_what_the_run_wrote(recorded: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "again.xml"
    _show(recorded["db"], "--format", "junit", "--out", str(out))
    assert out.read_text(encoding="utf-8") == recorded["junit"].read_text(encoding="utf-8")
    assert 'id="r-export"' in out.read_text(encoding="utf-8")
    # Without --out it goes to stdout, the same document.
    assert _show(recorded["db"], "--format", "junit").stdout == out.read_text(encoding="utf-8")


def test_html_rebuilt_from_history_shows_every_host(recorded: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "again.html"
    _show(recorded["db"], "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert page == recorded["html"].read_text(encoding="utf-8")
    for host in ("pc-ready", "pc-case", "pc-down", "pc-broken", "pc-later"):
        assert host in page


def test_csv_has_one_row_per_host_step_and_finding(recorded: dict[str, Any]) -> None:
    text = _show(recorded["db"], "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_host: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_host.setdefault(row["host"], []).append(row)
    assert set(by_host) == {"pc-ready", "pc-case", "pc-down", "pc-broken", "pc-when", "pc-later", "pc-found"}
    (down,) = by_host["pc-down"]
    assert (down["host_status"], down["error_category"], down["error_message"]) == (
        "unreachable", "unreachable", "connection refused",
    )  # fmt: skip
    (later,) = by_host["pc-later"]
    assert later["step"] == "" and later["host_status"] == "skipped"
    assert later["host_reason"] == "max-fail-percent 10% reached"
    assert by_host["pc-broken"][0]["error_message"] == "Access <denied> & \x07"
    (ready,) = by_host["pc-ready"]  # a step with no finding: one row, finding columns empty
    assert (ready["step"], ready["step_status"], ready["finding_code"]) == ("collect_facts", "ok", "")
    found = [(r["finding_code"], r["severity"], r["message"]) for r in by_host["pc-found"]]
    assert found == [
        ("HELLO_PIN_SET", "blocker", "pat has a PIN"), ("AGENT_OLD", "warning", "the agent is old"),
    ]  # fmt: skip


def test_format_refuses_bad_input_in_one_line(recorded: dict[str, Any]) -> None:
    from e2e_support import run_jcfix

    db = str(recorded["db"])
    for args, says in (
        (["--format", "pdf"], "--format must be one of csv, json, junit, html"),
        (["--out", "x.csv"], "--out needs --format"),
        (["--format", "csv", "--host", "pc-down"], "leave out --host"),
    ):
        result = run_jcfix("runs", "show", "r-export", "--history", db, *args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [f"jcfix: error: {result.stderr.split('error: ', 1)[1].strip()}"]
        assert says in result.stderr and result.stdout == ""


def test_runs_list_and_show_json_use_the_envelope(recorded: dict[str, Any]) -> None:
    db = str(recorded["db"])
    listed = json.loads(CliRunner().invoke(app, ["runs", "list", "--history", db, "-o", "json"]).stdout)
    assert {"schema", "command", "run_id", "hosts"} <= set(listed)
    assert listed["command"] == "runs list" and listed["hosts"] == []
    assert [r["run_id"] for r in listed["runs"]] == ["r-export"]
    shown = json.loads(_show(recorded["db"], "-o", "json").stdout)
    assert (shown["schema"], shown["command"], shown["run_id"]) == (1, "runs show", "r-export")
    assert [h["host"] for h in shown["hosts"]][:3] == ["pc-ready", "pc-case", "pc-down"]
    assert shown["runs"][0]["planned_hosts"] == 7
