"""What opening a history must not do: modify a file written by a newer jcfix (refused, exit 2), or leave
half a migration step behind when the step fails (its transaction is rolled back)."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from e2e_support import run_jcfix
from old_versions import table_rows, user_version, write_history

from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.history import (
    SCHEMA_VERSION,
    History,
    HistoryMigrationError,
    HistoryRecorder,
    HistoryTooNewError,
    Migration,
)
from toolkit.history import schema as history_schema
from toolkit.history.schema import MIGRATIONS


def _fingerprint(path: Path) -> tuple[str, list[str]]:
    """The file's bytes (hashed) and the files beside it (a left-over -wal or -shm would show)."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in path.parent.iterdir())


def _newer(tmp_path: Path) -> Path:
    path = tmp_path / "newer.sqlite3"
    write_history(path, 2)
    with closing(sqlite3.connect(path)) as db, db:  # what a future version might add
        db.execute("CREATE TABLE tags (run_seq INTEGER NOT NULL, tag TEXT NOT NULL)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    return path


def test_a_file_from_a_newer_jcfix_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = _newer(tmp_path)
    before = _fingerprint(path)
    with pytest.raises(HistoryTooNewError, match=rf"schema version {SCHEMA_VERSION + 1}, written by a newer jcfix"):
        History(path)
    with pytest.raises(HistoryTooNewError, match="upgrade jcfix"):
        HistoryRecorder(path)  # refused when made, before a run connects to anything
    assert _fingerprint(path) == before
    assert user_version(path) == SCHEMA_VERSION + 1


def test_the_cli_refuses_a_newer_file_with_exit_2(tmp_path: Path) -> None:
    path = _newer(tmp_path)
    before = _fingerprint(path)
    env = {"JCFIX_HISTORY": str(path)}
    for args in (
        ("runs", "list"),
        ("runs", "show", "r-fix"),
        ("undo", "--run-id", "r-fix", "--dry-run"),
        # A run refuses before connecting (port 9 on loopback: nothing is reached even if it did not).
        ("diagnose", "-H", "127.0.0.1", "--port", "9", "--deadline", "5"),
    ):
        result = run_jcfix(*args, env=env)
        assert result.returncode == ExitCode.USAGE, (args, result.stdout, result.stderr)
        assert "written by a newer jcfix" in result.stderr and "Traceback" not in result.stderr, args
    assert _fingerprint(path) == before


def test_a_file_that_is_not_a_database_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, but a long enough text to fill a header: " * 4, encoding="utf-8")
    before = _fingerprint(path)
    result = run_jcfix("runs", "list", "--history", str(path))
    assert result.returncode == ExitCode.USAGE and "cannot read the run history" in result.stderr, result.stderr
    assert "file is not a database" in result.stderr
    assert _fingerprint(path) == before
    with pytest.raises(UsageError, match=f"the run history {tmp_path} is a directory"):
        HistoryRecorder(tmp_path)  # a directory: refused when the recorder is made, not half-way through a run


def test_a_failed_step_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v1.sqlite3"
    write_history(path, 1)
    before_rows, before = table_rows(path), _fingerprint(path)
    real = MIGRATIONS[1]

    def half_done(db: sqlite3.Connection) -> None:
        real.apply(db)  # the column is added and filled...
        raise sqlite3.OperationalError("disk I/O error (simulated)")  # ...and then the step fails

    monkeypatch.setattr(history_schema, "MIGRATIONS", (MIGRATIONS[0], Migration(2, real.summary, half_done)))
    with pytest.raises(HistoryMigrationError, match=r"from schema version 1 to 2 .*disk I/O error") as failure:
        History(path)
    assert failure.value.exit_code == ExitCode.INTERNAL
    assert "still at version 1" in str(failure.value)
    assert _fingerprint(path) == before and table_rows(path) == before_rows
    assert user_version(path) == 1
    with closing(sqlite3.connect(path)) as db, db:
        assert "changed" not in {row[1] for row in db.execute("PRAGMA table_info(hosts)")}

    monkeypatch.undo()  # the real step, next time: the file upgrades as if nothing had happened
    History(path).close()
    assert user_version(path) == SCHEMA_VERSION and len(table_rows(path)["hosts"]) == len(before_rows["hosts"])


def test_a_failed_step_keeps_the_steps_before_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(db: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full (simulated)")

    monkeypatch.setattr(history_schema, "MIGRATIONS", (MIGRATIONS[0], Migration(2, "hosts.changed", broken)))
    path = tmp_path / "new.sqlite3"
    with pytest.raises(HistoryMigrationError, match="database or disk is full"):
        History(path)
    # Step 1 committed on its own: a new file is at version 1, with the first history's tables, and usable.
    assert user_version(path) == 1 and set(table_rows(path)) >= {"runs", "hosts", "steps"}
