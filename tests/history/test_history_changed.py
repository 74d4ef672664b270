"""The run history keeps a change followed by a failure: the host is touched (``jcfix undo`` finds it), its
status reads "failed (changed)", and the failed step's backups and partial data are stored (issue 10, defect 5)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from toolkit.actions import get_action
from toolkit.history import SCHEMA_VERSION, STORED_RAW_LIMIT, History, HistoryRecorder
from toolkit.history.store import _compact
from toolkit.recorder import HOST_STATUSES, RunMeta, RunSummary
from toolkit.results import RawOutput
from toolkit.runner import HostReport, Step
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget

RENAME = get_action("rename_user")
BACKUP = "C:\\ProgramData\\jcfix\\backups\\r-1\\001-rename.json"
STARTED = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _result(status: str, changed: bool, data: dict[str, Any] | None, error: dict[str, str] | None) -> Any:
    document = {
        "schema": 1,
        "action": "rename_user",
        "status": status,
        "changed": changed,
        "data": data,
        "findings": [],
        "error": error,
    }
    return RENAME.parse(RawOutput(output=[json.dumps(document)]))


def _record(path: Path, reports: list[HostReport]) -> None:
    recorder = HistoryRecorder(path)
    recorder.start(RunMeta("r-1", "jcfix fix rename", None, "tester", STARTED, False, len(reports)))
    for report in reports:
        recorder.host_done(report)
    counts = dict.fromkeys(HOST_STATUSES, 0)
    counts["failed"] = len(reports)
    recorder.finish(RunSummary(counts, False, STARTED + timedelta(seconds=1), 3))


def _step() -> Step:
    return Step(RENAME, RenderedScript("rename_user", RENAME.version, "# not rendered"), name="rename")


def test_a_failed_step_that_changed_the_host_is_recorded_as_such(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    # Only partial data came back, its backups listed, and changed: true.
    partial = {"user": "jonathan", "before": {"name": "jonathan"}, "backups": [BACKUP]}
    verify_failed = {"category": "verify_failed", "message": "the name read back is 'jonathan'"}
    half = HostReport(HostTarget("pc-half"), [(_step(), _result("failed", True, partial, verify_failed))])
    # A failure that changed nothing but still wrote a backup record before failing: touched, not changed.
    backup_only = {**partial, "backups": [BACKUP]}
    refused = {"category": "script_failed", "message": "Access is denied"}
    saved = HostReport(HostTarget("pc-saved"), [(_step(), _result("failed", False, backup_only, refused))])
    clean = HostReport(
        HostTarget("pc-clean"),
        [(_step(), _result("failed", False, None, {"category": "invalid_input", "message": "no such account"}))],
    )
    _record(db, [half, saved, clean])
    with History(db) as history:
        (run,) = history.runs()
        hosts = {h.host: h for h in history.hosts(run.seq)}
        assert (hosts["pc-half"].status, hosts["pc-half"].changed, hosts["pc-half"].label) == (
            "failed",
            True,
            "failed (changed)",
        )
        assert hosts["pc-half"].touched and hosts["pc-saved"].touched and not hosts["pc-clean"].touched
        assert hosts["pc-saved"].label == "failed" and hosts["pc-clean"].label == "failed"
        (step,) = history.steps(run.seq, "pc-half")
        assert (step.status, step.changed, step.label) == ("failed", True, "failed (changed)")
        assert step.document["data"]["backups"] == [BACKUP] and step.document["data_partial"] is True
        assert [t.name for t in history.touched_targets("r-1")] == ["pc-half", "pc-saved"]


def test_an_unversioned_file_with_part_of_the_first_tables_is_completed(tmp_path: Path) -> None:
    # The first jcfix created its tables one statement at a time, before stamping version 1: a crash in
    # between leaves an unversioned file (version 0) with some of them, which the steps complete.
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as old:
        old.execute(
            "CREATE TABLE hosts (run_seq INTEGER NOT NULL, position INTEGER NOT NULL, host TEXT NOT NULL,"
            " status TEXT NOT NULL, reason TEXT, touched INTEGER NOT NULL, address TEXT NOT NULL, port INTEGER"
            " NOT NULL, scheme TEXT NOT NULL, auth TEXT NOT NULL, ca_cert TEXT, finished TEXT NOT NULL,"
            " PRIMARY KEY (run_seq, host))"
        )
        old.execute(
            "INSERT INTO hosts VALUES (1, 0, 'pc-old', 'failed', NULL, 1, 'pc-old', 5985, 'http', 'ntlm',"
            " NULL, '2026-11-01T00:00:00+00:00')"
        )
    with History(db) as history:
        (row,) = history.hosts(1)
        assert (row.host, row.changed, row.label) == ("pc-old", False, "failed")
        assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert history.runs() == [] and history.steps(1, "pc-old") == []  # the missing tables were created


def test_large_raw_files_are_not_copied_into_the_history() -> None:
    big = "A" * (STORED_RAW_LIMIT + 4)
    document = {"data": {"agent": {"files": {"log_tail": {"path": "x", "present": True, "base64": big}}}}}
    small = {"path": "y", "present": True, "base64": "QQ=="}
    compact = _compact({**document, "other": [small]})
    assert compact["data"]["agent"]["files"]["log_tail"] == {
        "path": "x",
        "present": True,
        "base64": None,
        "base64_omitted_chars": len(big),
    }
    assert compact["other"] == [small]
    assert document["data"]["agent"]["files"]["log_tail"]["base64"] == big  # the input is not changed
