"""The run-history file (issue 15 items 5 and 11): a ``--history`` that cannot be one is refused up front
(exit 2, one line naming it, nothing sent); a new one is private to its owner.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hardening_support import ConnectionRecorder, Outcome, bad_input_problems, base_environment, run_here

from toolkit.history import History, HistoryRecorder
from toolkit.recorder import RunMeta, RunSummary


def _not_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not an SQLite database, only text that is long enough to have a header\n" * 4)
    return path


def _binary(tmp_path: Path) -> Path:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 8)
    return path


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "a-folder"
    path.mkdir()
    return path


def _under_a_file(tmp_path: Path) -> Path:
    parent = tmp_path / "plain-file"
    parent.write_text("x")
    return parent / "history.sqlite3"


BAD_FILES = {"not-sqlite": _not_sqlite, "binary": _binary, "directory": _directory, "under-a-file": _under_a_file}


def _commands(history: Path, port: int) -> list[list[str]]:
    host = ["-H", f"127.0.0.1:{port}", "--http", "--connect-timeout", "2"]
    return [
        ["runs", "list", "--history", str(history)],
        ["runs", "show", "r-1", "--history", str(history)],
        ["diagnose", *host, "--history", str(history)],
        ["fix", "rename", "--user", "a", "--to", "b", *host, "--history", str(history)],
        ["undo", "--run-id", "r-1", *host, "--history", str(history)],
    ]


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_history_that_cannot_be_one_is_refused_naming_it(tmp_path: Path, kind: str) -> None:
    history = BAD_FILES[kind](tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    env = base_environment(tmp_path)
    listener = ConnectionRecorder()
    try:
        for args in _commands(history, listener.port):
            outcome: Outcome = run_here(args, env)
            assert bad_input_problems(outcome) == [], (args, outcome)
            assert str(history) in outcome.stderr, (args, outcome.stderr)
    finally:
        listener.close()
    assert listener.count == 0  # refused before anything connected
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # and nothing created beside it


def test_the_environment_variable_is_checked_the_same_way(tmp_path: Path) -> None:
    env = {**base_environment(tmp_path), "JCFIX_HISTORY": str(_directory(tmp_path))}
    outcome = run_here(["runs", "list"], env)
    assert bad_input_problems(outcome) == [] and "a-folder" in outcome.stderr, outcome


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_history_is_refused(tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite3"
    History(history).close()
    history.chmod(0)
    outcome = run_here(["runs", "list", "--history", str(history)], base_environment(tmp_path))
    assert bad_input_problems(outcome) == [] and str(history) in outcome.stderr, outcome


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_history_and_its_new_folders_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which alone would give 0644 and 0755
    try:
        history = tmp_path / "data" / "jcfix" / "history.sqlite3"
        recorder = HistoryRecorder(history)
        recorder.start(RunMeta("r-1", "jcfix diagnose", None, "tester", datetime.now(timezone.utc), False, 0))
        assert (_mode(history), _mode(history.parent), _mode(history.parent.parent)) == (0o600, 0o700, 0o700)
        wal = history.with_name(history.name + "-wal")
        assert wal.exists() and _mode(wal) == 0o600  # SQLite gives its side files the file's mode
        recorder.finish(RunSummary({"ok": 0}, False, datetime.now(timezone.utc), 0))
    finally:
        os.umask(old)


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    History(folder / "h.sqlite3").close()
    assert _mode(folder) == 0o755 and _mode(folder / "h.sqlite3") == 0o600


def test_a_readable_existing_history_is_warned_about_once_and_left_alone(tmp_path: Path) -> None:
    history = tmp_path / "shared.sqlite3"
    with closing(sqlite3.connect(history)):  # as an older jcfix or another tool made it: 0644
        pass
    history.chmod(0o644)
    env = base_environment(tmp_path)
    outcome = run_here(["runs", "list", "--history", str(history)], env)
    assert outcome.code == 0, outcome
    (line,) = outcome.stderr.splitlines()
    assert line.startswith("jcfix: warning:") and str(history) in line and "644" in line
    assert _mode(history) == 0o644  # not chmod-ed behind its owner's back
    again = run_here(["runs", "list", "--history", str(history)], env)
    assert again.code == 0 and again.stderr == "", again  # once per process: a run opens it several times
    private = tmp_path / "private.sqlite3"
    History(private).close()
    outcome = run_here(["runs", "list", "--history", str(private)], env)
    assert outcome.code == 0 and outcome.stderr == "", outcome
