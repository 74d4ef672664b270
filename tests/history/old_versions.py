"""History files exactly as earlier jcfix versions wrote them, for the migration tests.

Each writer opens the file the way that version's ``connect`` did (WAL, its DDL from
``versions/vN_schema.sql``, then ``PRAGMA user_version = N``) and writes the rows with that version's own
statements (copied from ``git show e780d23:toolkit/history.py`` for 1, ``57adb48`` for 2, and
``toolkit/history/store.py`` for 3): the run row at start, then each host and its steps, then the outcome.
Version 1 had no ``hosts.changed``; version 3 added ``steps.findings`` (NULL for these steps).

The runs cover what a reader must get right: a fix that changed one host, changed then failed on another,
and could not reach a third (https, Kerberos, a CA file); a check run (nothing touched); the same run id
run again, reaching a host another way; and a run that never finished, with a redacted secret and a
version-1 collect_facts document.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

VERSIONS_DIR = Path(__file__).parent / "versions"
SECRET_MARK = "******"


def ddl(version: int) -> str:
    """The DDL that schema ``version`` created, verbatim."""
    return (VERSIONS_DIR / f"v{version}_schema.sql").read_text(encoding="utf-8")


def _doc(action: str, status: str, changed: bool, data: Any, error: dict[str, str] | None = None) -> str:
    document = {"schema": 1, "action": action, "status": status, "changed": changed, "data": data}
    document |= {"findings": [], "error": error}
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def _params(values: dict[str, Any]) -> str:
    return json.dumps(values, separators=(",", ":"), sort_keys=True)


BACKUP = "C:\\ProgramData\\jcfix\\backups\\r-fix\\001-rename.json"
RENAME = {"UserName": "Jonathan Müller", "NewName": "jonathan.m", "RunId": "r-fix"}
RENAMED = {"user": "Jonathan Müller", "before": {"name": "Jonathan Müller"}, "after": {"name": "jonathan.m"}}
FACTS_V1 = {"computer_name": "PC-4", "signed_in": ["PC-4\\maria"], "agent": {"installed": True, "managed_users": []}}
COUNTS = {"changed": 1, "failed": 1, "ok": 0, "pending": 0, "unreachable": 1}

# fmt: off
# (run row, finish row or None, hosts); a host: (name, status, reason, touched, changed, address, port, scheme,
# auth, ca_cert, finished, steps); a step: (name, action, whatif, status, changed, category, message, params, doc).
RUNS: list[tuple[tuple[Any, ...], tuple[Any, ...] | None, list[tuple[Any, ...]]]] = [
    (
        ("r-fix", "jcfix fix rename -i fleet.yml", None, "tester", "2026-10-01T09:00:00+00:00", 0, 3, _params(RENAME)),
        ("2026-10-01T09:01:00+00:00", _params(COUNTS), 0, 4, None),
        [
            ("pc-1", "changed", None, 1, 1, "127.0.0.1", 5985, "http", "ntlm", None, "2026-10-01T09:00:10+00:00",
             [("rename", "rename_user", 0, "changed", 1, None, None, _params(RENAME),
               _doc("rename_user", "changed", True, {**RENAMED, "backups": [BACKUP]}))]),
            ("pc-2", "failed", None, 1, 1, "127.0.0.2", 5985, "http", "ntlm", None, "2026-10-01T09:00:20+00:00",
             [("rename", "rename_user", 0, "failed", 1, "verify_failed", "the name read back is 'Jonathan Müller'",
               _params(RENAME), _doc("rename_user", "failed", True, {**RENAMED, "backups": [BACKUP]},
                                     {"category": "verify_failed", "message": "read back"}))]),
            ("pc-3", "unreachable", "connection refused", 0, 0, "10.0.0.3", 5986, "https", "kerberos",
             "/etc/jcfix/ca.pem", "2026-10-01T09:00:30+00:00",
             [("rename", "rename_user", 0, "failed", 0, "unreachable", "connection refused", _params(RENAME),
               _doc("rename_user", "failed", False, None, {"category": "unreachable", "message": "refused"}))]),
        ],
    ),
    (
        ("r-check", "jcfix fix rename --check", None, "tester", "2026-10-02T09:00:00+00:00", 1, 1, _params(RENAME)),
        ("2026-10-02T09:00:05+00:00", _params({**COUNTS, "changed": 1, "failed": 0, "unreachable": 0}), 0, 5, None),
        [
            ("pc-1", "changed", None, 0, 0, "127.0.0.1", 5985, "http", "ntlm", None, "2026-10-02T09:00:04+00:00",
             [("rename", "rename_user", 1, "changed", 1, None, None, _params({**RENAME, "WhatIf": True}),
               _doc("rename_user", "changed", True, RENAMED))]),
        ],
    ),
    (
        ("r-fix", "jcfix fix rename -H pc-2:55985", None, "admin", "2026-10-03T09:00:00+00:00", 0, 1, _params(RENAME)),
        ("2026-10-03T09:00:09+00:00", _params({**COUNTS, "failed": 0, "unreachable": 0}), 0, 5, "deadline"),
        [
            ("pc-2", "changed", None, 1, 1, "127.0.0.2", 55985, "http", "ntlm", None, "2026-10-03T09:00:08+00:00",
             [("rename", "rename_user", 0, "changed", 1, None, None, _params(RENAME),
               _doc("rename_user", "changed", True, {**RENAMED, "backups": [BACKUP]}))]),
        ],
    ),
    (
        ("r-crashed", "jcfix fix convert-msa", "msa", "maria", "2026-10-04T09:00:00+00:00", 0, 2,
         _params({"UserName": "maria", "NewPassword": SECRET_MARK})),
        None,
        [
            ("pc-4", "ok", None, 0, 0, "127.0.0.4", 5985, "http", "ntlm", None, "2026-10-04T09:00:03+00:00",
             [("diagnose", "collect_facts", 0, "ok", 0, None, None, _params({}),
               _doc("collect_facts", "ok", False, FACTS_V1))]),
        ],
    ),
]
# fmt: on


def _open(path: Path, version: int) -> sqlite3.Connection:
    # As that version's connect(): WAL, NORMAL, its DDL, its version stamp.
    db = sqlite3.connect(path, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(ddl(version))
    db.execute(f"PRAGMA user_version={version}")
    return db


def _write_host(db: sqlite3.Connection, version: int, seq: int, position: int, host: tuple[Any, ...]) -> None:
    name, status, reason, touched, changed, address, port, scheme, auth, ca_cert, finished, steps = host
    with db:
        if version == 1:
            db.execute(
                "INSERT OR REPLACE INTO hosts (run_seq, position, host, status, reason, touched, address, port, scheme,"
                " auth, ca_cert, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, position, name, status, reason, touched, address, port, scheme, auth, ca_cert, finished),
            )
        else:
            db.execute(
                "INSERT OR REPLACE INTO hosts (run_seq, position, host, status, reason, touched, changed, address,"
                " port, scheme, auth, ca_cert, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, position, name, status, reason, touched, changed, address, port, scheme, auth, ca_cert, finished),
            )
        # Version 3 added steps.findings: none of these steps is a diagnosis the run showed, so NULL.
        rows = [(seq, name, i, *step, *((None,) if version >= 3 else ())) for i, step in enumerate(steps)]
        db.executemany(f"INSERT OR REPLACE INTO steps VALUES ({', '.join('?' * len(rows[0]))})", rows)


def write_history(path: Path, version: int) -> None:
    """Write :data:`RUNS` into a new file at ``path`` as jcfix schema ``version`` (1 to 4) did (4 writes as 3)."""
    db = _open(path, version)
    try:
        for run, finish, hosts in RUNS:
            with db:
                cursor = db.execute(
                    "INSERT INTO runs (run_id, command, playbook, user, started, check_mode, planned_hosts,"
                    " parameters) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    run,
                )
                seq = cursor.lastrowid
            assert seq is not None
            for position, host in enumerate(hosts):
                _write_host(db, version, seq, position, host)
            if finish is not None:
                with db:
                    db.execute(
                        "UPDATE runs SET ended = ?, counts = ?, interrupted = ?, exit_code = ?, stopped_reason = ?"
                        " WHERE seq = ?",
                        (*finish, seq),
                    )
    finally:
        db.close()


def table_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (``sqlite_sequence`` included), as column -> value, in rowid order."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: [dict(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in tables}
    finally:
        db.close()


def user_version(path: Path) -> int:
    """The file's ``PRAGMA user_version``."""
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()
