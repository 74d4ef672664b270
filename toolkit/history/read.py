"""Reading the run history: the runs, their hosts and steps (``jcfix runs``), and the hosts a run touched
(``jcfix undo --run-id``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import UsageError
from toolkit.history.dbfile import refuse_unusable
from toolkit.history.schema import connect
from toolkit.results import Finding, status_label
from toolkit.settings import Scheme
from toolkit.transport.base import HostTarget


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
    # The diagnosis the run showed for this step (schema 3 on); None: none recorded (an older jcfix, or a
    # step the run did not diagnose), and a reader runs the rules again over the stored facts.
    findings: list[Finding] | None = None

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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> HostRow:
        """The host as stored (``changed``: from version 2 on; every file is migrated to it when opened)."""
        return cls(
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

    def target(self) -> HostTarget:
        """A target that reaches the host the way the run did."""
        return HostTarget(
            name=self.host,
            address=self.address,
            port=self.port,
            scheme=_scheme(self.scheme, self.host),
            auth=self.auth,
            ca_cert=self.ca_cert,
        )


def _step_row(r: sqlite3.Row) -> StepRow:
    return StepRow(
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
        findings=_findings(r["findings"]),
    )


def _findings(stored: str | None) -> list[Finding] | None:
    """A step's stored diagnosis as findings; None when none was stored or it no longer reads as findings
    (then the reader falls back to the rules, as for a file from before schema 3)."""
    if stored is None:
        return None
    try:
        return [Finding.model_validate(item) for item in json.loads(stored)]
    except (ValueError, TypeError):
        return None


def _scheme(stored: str, host: str) -> Scheme:
    """The recorded scheme as a connection scheme (the history only ever records http or https)."""
    if stored == "http":
        return "http"
    if stored == "https":
        return "https"
    raise UsageError(f"history: host {host} was recorded with scheme {stored!r}, not http or https")


class History:
    """Read access to the history database (``jcfix runs``, ``jcfix undo``).

    Opening it brings a file written by an older jcfix up to the current schema (see
    :mod:`toolkit.history.schema`) and refuses one written by a newer jcfix.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = connect(path)

    def close(self) -> None:
        """Close the database."""
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
            yield HostRow.from_row(row)

    def steps(self, seq: int, host: str) -> list[StepRow]:
        """One host's steps in one run, in order."""
        rows = self.db.execute("SELECT * FROM steps WHERE run_seq = ? AND host = ? ORDER BY position", (seq, host))
        return [_step_row(r) for r in rows]

    def action_steps(self, actions: Sequence[str], since: int, statuses: Sequence[str]) -> list[tuple[int, StepRow]]:
        """Every step of ``actions`` with one of ``statuses`` in the runs from seq ``since`` on, with its run's
        seq, oldest run first (through the ``steps_by_action`` index: as many rows read as such steps)."""
        if not actions or not statuses:
            return []
        query = (
            f"SELECT * FROM steps WHERE action IN ({', '.join('?' * len(actions))}) AND run_seq >= ?"
            f" AND status IN ({', '.join('?' * len(statuses))}) ORDER BY run_seq, host, position"
        )
        return [(r["run_seq"], _step_row(r)) for r in self.db.execute(query, (*actions, since, *statuses))]

    def host_steps(self, host: str, action: str, since: int, status: str) -> list[tuple[int, StepRow]]:
        """``host``'s steps of ``action`` with ``status`` in the runs from seq ``since`` on, with their run's seq,
        oldest first (through the ``steps_by_host`` index)."""
        rows = self.db.execute(
            "SELECT * FROM steps WHERE host = ? AND run_seq >= ? AND action = ? AND status = ?"
            " ORDER BY run_seq, position",
            (host, since, action, status),
        )
        return [(r["run_seq"], _step_row(r)) for r in rows]

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
            if row["host"] not in targets:
                targets[row["host"]] = HostRow.from_row(row).target()
        return list(targets.values())


def earlier_run(path: Path, run_id: str) -> RunRow | None:
    """The first run recorded under ``run_id`` in the history at ``path`` (None: none, or no file yet).

    Any earlier run owns its id, a check run too: ``runs show``, ``undo`` and the backups on the hosts are
    keyed by it, and two runs under one id would be told apart by nothing but their order.
    Reading never creates the file. Raises :class:`UsageError` when ``path`` cannot be a history.
    """
    if not refuse_unusable(path):
        return None
    with History(path) as history:
        attempts = history.attempts(run_id)
    return attempts[0] if attempts else None
    with History(path) as history:
        applied = [run for run in history.attempts(run_id) if not run.check_mode]
        if not applied:
            return None
        unfinished = [run for run in applied if run.ended is None]
        if unfinished or history.touched_targets(run_id):
            return (unfinished or applied)[0]
    return None
