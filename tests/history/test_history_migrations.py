"""Versioned history: a file written by each earlier jcfix opens with today's code, loses nothing, and every
reader works on it (``jcfix runs list/show``, ``jcfix undo --run-id``'s lookup of touched hosts); a file
from a newer jcfix is refused untouched; a failed migration step leaves the file as it was."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest
from e2e_support import json_out, run_jcfix
from old_versions import COUNTS, RUNS, SECRET_MARK, ddl, table_rows, user_version, write_history

from toolkit.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    HistoryRecorder,
    connect,
)
from toolkit.recorder import RunMeta, RunSummary

EARLIER = [1, 2, 3]
WRITTEN = [*EARLIER, 4]  # every version a fixture writes: the earlier ones, and the current one as it is
# hosts.changed of every host, in rowid order: what version 2 wrote, and what the 1 -> 2 step derives from
# version 1's steps (pc-2 changed then failed; the check run's pc-1 would have changed, but a check is not).
CHANGED = [1, 1, 0, 0, 1, 0]


def _written(tmp_path: Path, version: int) -> Path:
    path = tmp_path / f"v{version}.sqlite3"
    write_history(path, version)
    assert user_version(path) == version
    return path


def _columns(db: sqlite3.Connection, table: str) -> set[tuple[object, ...]]:
    # name, type, notnull, default, primary-key position: the shape, whatever the column order.
    return {tuple(row)[1:] for row in db.execute(f"PRAGMA table_info({table})")}


def test_the_steps_are_numbered_in_order_and_reach_the_current_version() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    assert SCHEMA_VERSION == 4


@pytest.mark.parametrize("version", EARLIER)
def test_an_earlier_file_is_migrated_without_losing_a_row(tmp_path: Path, version: int) -> None:
    path = _written(tmp_path, version)
    before = table_rows(path)
    assert [len(before[t]) for t in ("runs", "hosts", "steps")] == [4, 6, 6]
    History(path).close()
    after = table_rows(path)
    assert user_version(path) == SCHEMA_VERSION
    assert after["runs"] == before["runs"]
    # steps.findings (version 3): no old step has a stored diagnosis, so readers run the rules as before.
    assert [{k: v for k, v in row.items() if k != "findings"} for row in after["steps"]] == [
        {k: v for k, v in row.items() if k != "findings"} for row in before["steps"]
    ]
    assert [row["findings"] for row in after["steps"]] == [None] * len(before["steps"])
    assert after["sqlite_sequence"] == before["sqlite_sequence"]
    assert [{k: v for k, v in row.items() if k != "changed"} for row in after["hosts"]] == [
        {k: v for k, v in row.items() if k != "changed"} for row in before["hosts"]
    ]
    assert [row["changed"] for row in after["hosts"]] == CHANGED
    History(path).close()  # a second opening changes nothing more
    assert table_rows(path) == after


@pytest.mark.parametrize("version", WRITTEN)
def test_the_readers_read_an_earlier_file(tmp_path: Path, version: int) -> None:
    path = _written(tmp_path, version)
    with History(path) as history:
        assert [r.run_id for r in history.runs()] == ["r-crashed", "r-fix", "r-check", "r-fix"]
        crashed, again, check, first = history.runs()
        assert (crashed.ended, crashed.counts, crashed.interrupted, crashed.exit_code) == (None, None, None, None)
        assert crashed.parameters["NewPassword"] == SECRET_MARK and crashed.playbook == "msa"
        assert (first.exit_code, first.counts, first.check_mode) == (4, COUNTS, False)
        assert check.check_mode and again.stopped_reason == "deadline" and again.user == "admin"
        assert [r.seq for r in history.attempts("r-fix")] == [first.seq, again.seq]
        hosts = list(history.hosts(first.seq))
        assert [(h.host, h.label, h.touched) for h in hosts] == [
            ("pc-1", "changed", True),
            ("pc-2", "failed (changed)", True),
            ("pc-3", "unreachable", False),
        ]
        assert (hosts[2].reason, hosts[2].target().scheme, hosts[2].ca_cert) == (
            "connection refused",
            "https",
            "/etc/jcfix/ca.pem",
        )
        (step,) = history.steps(first.seq, "pc-2")
        assert (step.label, step.error_category, step.parameters["UserName"]) == (
            "failed (changed)",
            "verify_failed",
            "Jonathan Müller",
        )
        (facts,) = history.steps(crashed.seq, "pc-4")
        assert facts.document["data"]["signed_in"] == ["PC-4\\maria"]  # an old document, read as stored
        # undo's lookup: every host a run id touched, reached as the latest run reached it.
        reached = [(t.name, t.address, t.port, t.scheme, t.auth) for t in history.touched_targets("r-fix")]
        assert reached == [("pc-2", "127.0.0.2", 55985, "http", "ntlm"), ("pc-1", "127.0.0.1", 5985, "http", "ntlm")]
        assert history.touched_targets("r-check") == []


@pytest.mark.parametrize("version", WRITTEN)
def test_runs_list_show_and_undo_work_on_an_earlier_file(tmp_path: Path, version: int) -> None:
    path = _written(tmp_path, version)
    env = {"JCFIX_HISTORY": str(path)}
    listed = json_out(run_jcfix("runs", "list", "-o", "json", env=env))["runs"]
    assert [(r["run_id"], r["exit_code"]) for r in listed] == [
        ("r-crashed", None),
        ("r-fix", 5),
        ("r-check", 5),
        ("r-fix", 4),
    ]
    table = run_jcfix("runs", "list", env=env)
    assert table.returncode == 0 and "not finished" in table.stdout, table.stderr
    shown = json_out(run_jcfix("runs", "show", "r-fix", "-o", "json", env=env))
    first, again = (run["seq"] for run in shown["runs"])
    by_run = [[h["host"] for h in shown["hosts"] if h["run_seq"] == seq] for seq in (first, again)]
    assert by_run == [["pc-1", "pc-2", "pc-3"], ["pc-2"]]
    assert shown["hosts"][1]["steps"][0]["error"]["category"] == "verify_failed"
    text = run_jcfix("runs", "show", "r-fix", env=env)
    assert text.returncode == 0 and "failed (changed) pc-2" in text.stdout, text.stderr
    one = run_jcfix("runs", "show", "r-crashed", "--host", "pc-4", env=env)
    assert one.returncode == 0 and '"computer_name": "PC-4"' in one.stdout, one.stderr
    # undo --run-id without hosts: the hosts come from the old file (--dry-run: nothing connects).
    undo = run_jcfix("undo", "--run-id", "r-fix", "--dry-run", env=env)
    assert undo.returncode == 0, undo.stderr
    assert "pc-2 (http://127.0.0.2:55985, auth ntlm): undo_run" in undo.stdout
    assert "pc-1 (http://127.0.0.1:5985, auth ntlm): undo_run" in undo.stdout and "pc-3" not in undo.stdout


@pytest.mark.parametrize("version", EARLIER)
def test_a_new_run_is_recorded_after_the_old_ones(tmp_path: Path, version: int) -> None:
    path = _written(tmp_path, version)
    recorder = HistoryRecorder(path)
    started = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    recorder.start(RunMeta("r-new", "jcfix diagnose", None, "tester", started, False, 0))
    recorder.finish(RunSummary({"ok": 0}, False, started, 0))
    with History(path) as history:
        newest = history.runs(1)[0]
        assert (newest.run_id, newest.seq) == ("r-new", len(RUNS) + 1)
        assert len(history.runs(100)) == len(RUNS) + 1


def test_a_new_file_has_the_shape_of_the_current_version(tmp_path: Path) -> None:
    current = sqlite3.connect(":memory:")
    current.executescript(ddl(SCHEMA_VERSION))
    db = connect(tmp_path / "new" / "h.sqlite3")
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        for table in ("runs", "hosts", "steps"):
            assert _columns(db, table) == _columns(current, table), table
        indexes = "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        assert [tuple(r) for r in db.execute(indexes)] == current.execute(indexes).fetchall()
    finally:
        db.close()
        current.close()


def test_a_version_2_file_stamped_1_by_an_older_jcfix_migrates(tmp_path: Path) -> None:
    # Versions 1 and 2 stamped their own version on every file they opened: a version-2 file reopened by
    # jcfix 1 says 1 but already has hosts.changed (and its values, which must be kept, not recomputed).
    path = _written(tmp_path, 2)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE hosts SET changed = 0 WHERE host = 'pc-2'")
        db.execute("PRAGMA user_version = 1")
    before = table_rows(path)
    History(path).close()
    after = table_rows(path)
    assert user_version(path) == SCHEMA_VERSION and after["hosts"] == before["hosts"]
    assert [{k: v for k, v in row.items() if k != "findings"} for row in after["steps"]] == [
        {k: v for k, v in row.items() if k != "findings"} for row in before["steps"]
    ]


def test_a_current_file_opens_unchanged(tmp_path: Path) -> None:
    path = _written(tmp_path, SCHEMA_VERSION)
    before = table_rows(path)
    History(path).close()
    assert user_version(path) == SCHEMA_VERSION and table_rows(path) == before


def test_a_version_3_file_stamped_2_by_an_older_jcfix_migrates(tmp_path: Path) -> None:
    # A version-3 file reopened by jcfix 2 says 2 but already has steps.findings: the step adds nothing.
    path = _written(tmp_path, 3)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE steps SET findings = '[]' WHERE host = 'pc-4'")
        db.execute("PRAGMA user_version = 2")
    before = table_rows(path)
    History(path).close()
    assert user_version(path) == SCHEMA_VERSION and table_rows(path) == before


@pytest.mark.parametrize("version", EARLIER)
def test_an_earlier_file_gets_the_steps_indexes(tmp_path: Path, version: int) -> None:
    # Version 4: pending fixes are found through these indexes, so a migrated file must have them too.
    path = _written(tmp_path, version)
    History(path).close()
    indexes = "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
    current = sqlite3.connect(":memory:")
    current.executescript(ddl(SCHEMA_VERSION))
    with closing(sqlite3.connect(path)) as db, closing(current):
        assert db.execute(indexes).fetchall() == current.execute(indexes).fetchall()
        assert ("steps_by_action", "steps") in db.execute(indexes).fetchall()


def test_several_jcfix_opening_an_old_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = _written(tmp_path, 1)
    before = table_rows(path)

    def open_and_count(_: int) -> int:
        with History(path) as history:
            return len(history.runs(100))

    with ThreadPoolExecutor(max_workers=4) as pool:  # each its own connection, racing for the write lock
        assert list(pool.map(open_and_count, range(4))) == [len(RUNS)] * 4
    after = table_rows(path)
    assert user_version(path) == SCHEMA_VERSION and [row["changed"] for row in after["hosts"]] == CHANGED
    assert after["runs"] == before["runs"] and len(after["steps"]) == len(before["steps"])
