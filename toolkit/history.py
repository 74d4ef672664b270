"""Run history: every run, each host and each step's result, in a local SQLite database.

The database is ``$JCFIX_HISTORY``, else ``history.sqlite3`` in the user's data directory
(``platformdirs.user_data_dir("jcfix")``); ``--history FILE`` overrides both. :class:`HistoryRecorder`
writes a run as it happens: the run row at ``start``, one host and its steps per ``host_done`` (committed
at once, so a crash or Ctrl-C keeps every finished host, and nothing accumulates in memory), the outcome
at ``finish``.

Stored: run id, who, when, the command or playbook, parameters (through :func:`toolkit.secrets.redact`),
each host's status and how it was reached (address, port, scheme, auth, CA file: never a credential),
and each step's status, changed, error and result document. ``jcfix undo --run-id`` reads which hosts a
run touched, and how to reach them, from here.

A run id may be used by more than one run (a fix re-run with the same ``--run-id`` adds backups to the
same folder on the host): each is its own row, and :func:`touched_targets` takes the union.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs

from toolkit.recorder import RunMeta, RunSummary
from toolkit.results import status_label
from toolkit.runner import HostReport
from toolkit.secrets import redact
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget

HISTORY_ENV = "JCFIX_HISTORY"
# 2: hosts.changed (a host whose steps changed it, failed or not: "failed (changed)").
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    command TEXT NOT NULL,
    playbook TEXT,
    user TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    check_mode INTEGER NOT NULL,
    planned_hosts INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    counts TEXT,
    interrupted INTEGER,
    exit_code INTEGER,
    stopped_reason TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_id ON runs (run_id);
CREATE TABLE IF NOT EXISTS hosts (
    run_seq INTEGER NOT NULL REFERENCES runs (seq),
    position INTEGER NOT NULL,
    host TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    touched INTEGER NOT NULL,
    changed INTEGER NOT NULL DEFAULT 0,
    address TEXT NOT NULL,
    port INTEGER NOT NULL,
    scheme TEXT NOT NULL,
    auth TEXT NOT NULL,
    ca_cert TEXT,
    finished TEXT NOT NULL,
    PRIMARY KEY (run_seq, host)
);
CREATE TABLE IF NOT EXISTS steps (
    run_seq INTEGER NOT NULL REFERENCES runs (seq),
    host TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    whatif INTEGER NOT NULL,
    status TEXT NOT NULL,
    changed INTEGER NOT NULL,
    error_category TEXT,
    error_message TEXT,
    parameters TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (run_seq, host, position)
);
"""


def history_path(override: Path | None = None) -> Path:
    """The database file: ``override``, else ``$JCFIX_HISTORY``, else the user's data directory."""
    if override is not None:
        return override
    from_env = os.environ.get(HISTORY_ENV)
    if from_env:
        return Path(from_env)
    return Path(platformdirs.user_data_dir("jcfix")) / "history.sqlite3"


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the history database at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The recorder is fed from one thread, but not necessarily the one that opened it.
    db = sqlite3.connect(path, timeout=30, check_same_thread=False)
    db.row_factory = sqlite3.Row
    # WAL: readers (jcfix runs list) never block a running fleet; NORMAL: a commit per host stays cheap.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    _migrate(db)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return db


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database written by an older jcfix up to :data:`SCHEMA_VERSION` (adds columns, never drops)."""
    columns = {row["name"] for row in db.execute("PRAGMA table_info(hosts)")}
    if "changed" not in columns:
        with db:
            db.execute("ALTER TABLE hosts ADD COLUMN changed INTEGER NOT NULL DEFAULT 0")


def _json(value: Any) -> str:
    # redact() first: a Secret anywhere in the value becomes the marker, never its text.
    return json.dumps(redact(value), default=str, separators=(",", ":"), sort_keys=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# Raw file contents (collect_facts v2 sends agent files as base64, up to 1 MiB each) above this size are
# left out of the stored document: the history says what was read, not a copy of every agent log.
STORED_RAW_LIMIT = 16 * 1024


def _compact(value: Any) -> Any:
    """``value`` with every raw file's ``base64`` over :data:`STORED_RAW_LIMIT` replaced by its length."""
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if not isinstance(value, dict):
        return value
    compact = {k: _compact(v) for k, v in value.items()}
    raw = compact.get("base64")
    if "present" in compact and isinstance(raw, str) and len(raw) > STORED_RAW_LIMIT:
        compact["base64"] = None
        compact["base64_omitted_chars"] = len(raw)
    return compact


def _touched(report: HostReport) -> bool:
    """Whether the run may have changed the host (so ``jcfix undo`` has something to look at there)."""
    for step, result in report.results:
        if step.whatif:
            continue
        # A failed step counts too: a change followed by a failure is still a change (issue 10, defect 5),
        # and its backups may sit in partial data.
        if result.changed or result.status == "pending" or result.backups():
            return True
    return False


class HistoryRecorder:
    """Records a run into the history database, one host at a time (a :class:`RunRecorder`).

    Args:
        path: the database file (see :func:`history_path`).
        settings: the run's connection settings, to store how each host was reached (never its password).
        parameters: the run's parameters (stored redacted).
    """

    def __init__(
        self, path: Path, settings: ConnectionSettings | None = None, parameters: Mapping[str, Any] | None = None
    ) -> None:
        self.path = path
        self.settings = settings or ConnectionSettings()
        self.parameters = dict(parameters or {})
        self._db: sqlite3.Connection | None = None
        self._seq: int | None = None
        self._hosts = 0
        self._lock = threading.Lock()

    def start(self, meta: RunMeta) -> None:
        """Insert the run's row."""
        self._db = connect(self.path)
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO runs (run_id, command, playbook, user, started, check_mode, planned_hosts, parameters)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    meta.run_id,
                    meta.command,
                    meta.playbook,
                    meta.user,
                    meta.started.isoformat(timespec="seconds"),
                    int(meta.check_mode),
                    meta.hosts,
                    _json(self.parameters),
                ),
            )
            self._seq = cursor.lastrowid

    def _reach(self, target: HostTarget) -> tuple[str, int, str, str, str | None]:
        settings = self.settings
        scheme = target.scheme or settings.scheme
        port = target.port or settings.port or (5986 if scheme == "https" else 5985)
        return target.connect_address, port, scheme, target.auth or settings.auth, target.ca_cert or settings.ca_cert

    def host_done(self, report: HostReport) -> None:
        """Insert one host and its steps, and commit."""
        assert self._db is not None and self._seq is not None, "start() first"
        address, port, scheme, auth, ca_cert = self._reach(report.target)
        steps = [
            (
                self._seq,
                report.target.name,
                position,
                step.name or step.action.name,
                step.action.name,
                int(step.whatif),
                result.status,
                int(result.changed),
                result.error.category if result.error else None,
                result.error.message if result.error else None,
                _json(dict(step.rendered.parameters)),
                _json(_compact(result.to_json_dict())),
            )
            for position, (step, result) in enumerate(report.results)
        ]
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO hosts (run_seq, position, host, status, reason, touched, changed, address,"
                " port, scheme, auth, ca_cert, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._seq,
                    self._hosts,
                    report.target.name,
                    report.status,
                    getattr(report, "reason", None),
                    int(_touched(report)),
                    int(report.changed),
                    address,
                    port,
                    scheme,
                    auth,
                    ca_cert,
                    _now(),
                ),
            )
            self._db.executemany("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", steps)
        self._hosts += 1

    def finish(self, summary: RunSummary) -> None:
        """Store how the run ended, and close the database."""
        assert self._db is not None and self._seq is not None, "start() first"
        with self._lock, self._db:
            self._db.execute(
                "UPDATE runs SET ended = ?, counts = ?, interrupted = ?, exit_code = ?, stopped_reason = ?"
                " WHERE seq = ?",
                (
                    summary.ended.isoformat(timespec="seconds"),
                    _json(summary.counts),
                    int(summary.interrupted),
                    summary.exit_code,
                    summary.stopped_reason,
                    self._seq,
                ),
            )
        self._db.close()
        self._db = None


# ---- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    """One recorded run, as ``jcfix runs list`` shows it."""

    seq: int
    run_id: str
    command: str
    playbook: str | None
    user: str
    started: str
    ended: str | None
    check_mode: bool
    planned_hosts: int
    parameters: dict[str, Any]
    counts: dict[str, int] | None
    interrupted: bool | None
    exit_code: int | None
    stopped_reason: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRow:
        return cls(
            seq=row["seq"],
            run_id=row["run_id"],
            command=row["command"],
            playbook=row["playbook"],
            user=row["user"],
            started=row["started"],
            ended=row["ended"],
            check_mode=bool(row["check_mode"]),
            planned_hosts=row["planned_hosts"],
            parameters=json.loads(row["parameters"]),
            counts=json.loads(row["counts"]) if row["counts"] else None,
            interrupted=None if row["interrupted"] is None else bool(row["interrupted"]),
            exit_code=row["exit_code"],
            stopped_reason=row["stopped_reason"],
        )


@dataclass(frozen=True)
class StepRow:
    """One recorded step of one host."""

    host: str
    position: int
    name: str
    action: str
    whatif: bool
    status: str
    changed: bool
    error_category: str | None
    error_message: str | None
    parameters: dict[str, Any]
    document: dict[str, Any]

    @property
    def label(self) -> str:
        """The step's status in words: ``failed (changed)`` when it changed the host and then failed."""
        return status_label(self.status, self.changed)


@dataclass(frozen=True)
class HostRow:
    """One recorded host of a run, with how it was reached."""

    host: str
    status: str
    reason: str | None
    touched: bool
    address: str
    port: int
    scheme: str
    auth: str
    ca_cert: str | None
    finished: str
    changed: bool = False

    @property
    def label(self) -> str:
        """The host's status in words: ``failed (changed)`` when a step changed it before the failure."""
        return status_label(self.status, self.changed)

    def target(self) -> HostTarget:
        """A target that reaches the host the way the run did."""
        return HostTarget(
            name=self.host,
            address=self.address,
            port=self.port,
            scheme=self.scheme,  # type: ignore[arg-type]
            auth=self.auth,
            ca_cert=self.ca_cert,
        )


class History:
    """Read access to the history database (``jcfix runs``, ``jcfix undo``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = connect(path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def runs(self, limit: int = 20) -> list[RunRow]:
        """The latest ``limit`` runs, newest first."""
        rows = self.db.execute("SELECT * FROM runs ORDER BY seq DESC LIMIT ?", (limit,))
        return [RunRow.from_row(r) for r in rows]

    def attempts(self, run_id: str) -> list[RunRow]:
        """Every run recorded under ``run_id``, oldest first."""
        rows = self.db.execute("SELECT * FROM runs WHERE run_id = ? ORDER BY seq", (run_id,))
        return [RunRow.from_row(r) for r in rows]

    def hosts(self, seq: int, host: str | None = None) -> Iterator[HostRow]:
        """The hosts of one run (or only ``host``), in the order they finished; read lazily."""
        query = "SELECT * FROM hosts WHERE run_seq = ?" + (" AND host = ?" if host else "") + " ORDER BY position"
        for row in self.db.execute(query, (seq, host) if host else (seq,)):
            yield HostRow(
                host=row["host"],
                status=row["status"],
                reason=row["reason"],
                touched=bool(row["touched"]),
                address=row["address"],
                port=row["port"],
                scheme=row["scheme"],
                auth=row["auth"],
                ca_cert=row["ca_cert"],
                finished=row["finished"],
                changed=bool(row["changed"]),
            )

    def steps(self, seq: int, host: str) -> list[StepRow]:
        """One host's steps in one run, in order."""
        rows = self.db.execute("SELECT * FROM steps WHERE run_seq = ? AND host = ? ORDER BY position", (seq, host))
        return [
            StepRow(
                host=r["host"],
                position=r["position"],
                name=r["name"],
                action=r["action"],
                whatif=bool(r["whatif"]),
                status=r["status"],
                changed=bool(r["changed"]),
                error_category=r["error_category"],
                error_message=r["error_message"],
                parameters=json.loads(r["parameters"]),
                document=json.loads(r["document"]),
            )
            for r in rows
        ]

    def touched_targets(self, run_id: str) -> list[HostTarget]:
        """The hosts any run recorded under ``run_id`` may have changed, reached as that run reached them."""
        rows = self.db.execute(
            "SELECT h.* FROM hosts h JOIN runs r ON r.seq = h.run_seq WHERE r.run_id = ? AND h.touched = 1"
            " ORDER BY h.run_seq DESC, h.position",
            (run_id,),
        )
        targets: dict[str, HostTarget] = {}
        for row in rows:
            # The latest run's way of reaching a host wins.
            targets.setdefault(
                row["host"],
                HostTarget(
                    name=row["host"],
                    address=row["address"],
                    port=row["port"],
                    scheme=row["scheme"],
                    auth=row["auth"],
                    ca_cert=row["ca_cert"],
                ),
            )
        return list(targets.values())
