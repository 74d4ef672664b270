"""Writing the run history: :class:`HistoryRecorder` records a run as it happens, one host at a time.

Hosts are committed in batches (every :data:`COMMIT_EVERY_S` seconds or :data:`COMMIT_EVERY_HOSTS` hosts,
whichever comes first), and always when the run ends, is stopped by a signal (the run's ``finish`` runs
then too) or the process exits through Python's exit path: a commit per host cost as much as the rest of
recording a 10,000-host run.
"""

from __future__ import annotations

import atexit
import json
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from toolkit.history.schema import check_version, connect
from toolkit.models import HostReport
from toolkit.recorder import RunMeta, RunSummary
from toolkit.results import Finding
from toolkit.secrets import redact
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget, resolve_endpoint

# Raw file contents (collect_facts v2 sends agent files as base64, up to 1 MiB each) above this size are
# left out of the stored document: the history says what was read, not a copy of every agent log.
STORED_RAW_LIMIT = 16 * 1024
# A batch of hosts is committed when the oldest is this old, or when it holds this many hosts.
COMMIT_EVERY_S = 0.5
COMMIT_EVERY_HOSTS = 200


def _json(value: Any) -> str:
    # redact() first: a Secret anywhere in the value becomes the marker, never its text.
    return json.dumps(redact(value), default=str, separators=(",", ":"), sort_keys=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


def _findings(report: HostReport, position: int) -> str | None:
    """The diagnosis the run computed for the step at ``position`` (JSON), None when it computed none.

    Stored as the reports showed it, so ``jcfix runs show --format`` and ``--from-run`` judge by the same
    findings instead of running the rules again without the users the run expected.
    """
    computed = getattr(report, "diagnoses", {}).get(position)
    if computed is None:
        return None
    return _json([f.to_dict() if isinstance(f, Finding) else f for f in computed])


class HistoryRecorder:
    """Records a run into the history database, one host at a time (a :class:`RunRecorder`).

    Hosts are committed in batches (see the module); :meth:`flush` commits at once, :meth:`finish` always.

    A file written by a newer jcfix is refused here, when the recorder is made (before anything connects),
    rather than at :meth:`start`, where a recorder's failure only stops that recorder and the run would go
    on unrecorded.

    Args:
        path: the database file (see :func:`toolkit.history.history_path`).
        settings: the run's connection settings, to store how each host was reached (never its password).
        parameters: the run's parameters (stored redacted).

    Raises:
        HistoryTooNewError: ``path`` was written by a newer jcfix.
    """

    def __init__(
        self, path: Path, settings: ConnectionSettings | None = None, parameters: Mapping[str, Any] | None = None
    ) -> None:
        check_version(path)
        self.path = path
        self.settings = settings or ConnectionSettings()
        self.parameters = dict(parameters or {})
        self._db: sqlite3.Connection | None = None
        self._seq: int | None = None
        self._hosts = 0
        self._lock = threading.Lock()
        self._uncommitted = 0  # hosts inserted since the last commit
        self._since = 0.0  # time.monotonic() of the first of them

    def start(self, meta: RunMeta) -> None:
        """Insert the run's row (opening, and if need be migrating, the database)."""
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
        # An exit that skips finish() (an uncaught error above the run) still keeps every recorded host;
        # os._exit (a second signal) comes after finish(), which commits.
        atexit.register(self.flush)

    def flush(self) -> None:
        """Commit the hosts recorded since the last commit (nothing to do once the run is finished)."""
        with self._lock:
            if self._db is not None and self._db.in_transaction:
                self._db.commit()
            self._uncommitted = 0

    def _inserted(self) -> None:
        """One more host inserted (under the lock): commit when the batch is old or big enough."""
        if self._uncommitted == 0:
            self._since = time.monotonic()
        self._uncommitted += 1
        if self._uncommitted >= COMMIT_EVERY_HOSTS or time.monotonic() - self._since >= COMMIT_EVERY_S:
            assert self._db is not None
            self._db.commit()
            self._uncommitted = 0

    def _reach(self, target: HostTarget) -> tuple[str, int, str, str, str | None]:
        end = resolve_endpoint(target, self.settings)
        return end.address, end.port, end.scheme, end.auth, end.ca_cert

    def _step_rows(self, report: HostReport) -> list[tuple[Any, ...]]:
        return [
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
                _findings(report, position),
            )
            for position, (step, result) in enumerate(report.results)
        ]

    def host_done(self, report: HostReport) -> None:
        """Insert one host and its steps (committed with its batch)."""
        assert self._db is not None and self._seq is not None, "start() first"
        address, port, scheme, auth, ca_cert = self._reach(report.target)
        steps = self._step_rows(report)
        with self._lock:
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
            # Columns named: a migrated file may order them differently from a new one.
            self._db.executemany(
                "INSERT OR REPLACE INTO steps (run_seq, host, position, name, action, whatif, status, changed,"
                " error_category, error_message, parameters, document, findings)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                steps,
            )
            self._inserted()
        self._hosts += 1

    def rows_done(self, host: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> None:
        """Insert one host that is not a WinRM target (the JumpCloud API, for JumpCloud-side fixes) and its
        steps, given as column values by name (``host``: every ``hosts`` column but ``run_seq``, ``position``
        and ``finished``; each step: every ``steps`` column but ``run_seq``, ``host`` and ``position``),
        committed with its batch. ``parameters`` and ``document`` are stored as :func:`_json` stores them (redacted)."""
        assert self._db is not None and self._seq is not None, "start() first"
        row = {**host, "run_seq": self._seq, "position": self._hosts, "finished": _now()}
        step_rows = [
            {
                **step,
                "run_seq": self._seq,
                "host": host["host"],
                "position": position,
                "parameters": _json(step["parameters"]),
                "document": _json(step["document"]),
            }
            for position, step in enumerate(steps)
        ]
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO hosts ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                list(row.values()),
            )
            for step_row in step_rows:
                self._db.execute(
                    f"INSERT OR REPLACE INTO steps ({', '.join(step_row)}) VALUES ({', '.join('?' for _ in step_row)})",
                    list(step_row.values()),
                )
            self._inserted()
        self._hosts += 1

    def finish(self, summary: RunSummary) -> None:
        """Commit the last batch, store how the run ended, and close the database."""
        assert self._db is not None and self._seq is not None, "start() first"
        atexit.unregister(self.flush)
        self.flush()  # the last batch first: a failed update below must not roll it back
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
