"""The history database's file and shape: where it lives, its schema version, and the forward migrations.

The version is SQLite's ``PRAGMA user_version`` (an integer in the database header), not a meta table:

* every history ever written already carries it (the first jcfix stamped 1, the one that added
  ``hosts.changed`` stamped 2, ``steps.findings`` 3, the steps' indexes 4), so no file needs to be
  recognised by guessing from its tables;
* it is read before any table is touched, so a file from a newer jcfix is refused without being changed;
* setting it is part of the transaction it runs in, so a step and the version it produces commit together
  or not at all (a meta table would give the same, at the price of one more table to create and migrate).

:data:`MIGRATIONS` is the ordered list of steps; step ``n`` takes a database from version ``n - 1`` to ``n``
in one transaction (version 0 is an empty file). :func:`connect` runs the steps a file lacks and refuses a
file newer than :data:`SCHEMA_VERSION`. Adding a version means appending one :class:`Migration`, never
editing an earlier one, and keeping a copy of the new DDL and rows in ``tests/history/versions/``.

A step must be idempotent against its own change: a jcfix from before this package (versions 1 and 2)
stamped its own version on every file it opened, so a file they reopened may claim an older version than
its tables have. A step must not commit either (no ``executescript``, which commits first).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from toolkit.errors import JcfixError, UsageError
from toolkit.exitcodes import ExitCode
from toolkit.history.dbfile import create_private, open_sqlite, refuse_unusable, warn_if_shared

HISTORY_ENV = "JCFIX_HISTORY"


class HistoryTooNewError(UsageError):
    """The history file was written by a newer jcfix than this one: refused, and left as it is."""


class HistoryMigrationError(JcfixError):
    """A migration step failed; its transaction was rolled back, so the file is as it was before the step."""

    exit_code = ExitCode.INTERNAL


@dataclass(frozen=True)
class Migration:
    """One forward step: ``apply`` takes the database from ``version - 1`` to ``version`` (no commit)."""

    version: int
    summary: str
    apply: Callable[[sqlite3.Connection], None]


# Version 1, verbatim from the first history (commit 5373b6c, unchanged up to e780d23). IF NOT EXISTS: an
# unversioned file may hold part of it (the first jcfix created the tables one statement at a time).
_V1_TABLES = (
    """CREATE TABLE IF NOT EXISTS runs (
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
)""",
    "CREATE INDEX IF NOT EXISTS runs_by_id ON runs (run_id)",
    """CREATE TABLE IF NOT EXISTS hosts (
    run_seq INTEGER NOT NULL REFERENCES runs (seq),
    position INTEGER NOT NULL,
    host TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    touched INTEGER NOT NULL,
    address TEXT NOT NULL,
    port INTEGER NOT NULL,
    scheme TEXT NOT NULL,
    auth TEXT NOT NULL,
    ca_cert TEXT,
    finished TEXT NOT NULL,
    PRIMARY KEY (run_seq, host)
)""",
    """CREATE TABLE IF NOT EXISTS steps (
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
)""",
)


def _create_v1(db: sqlite3.Connection) -> None:
    """0 -> 1: the runs, hosts and steps tables of the first history."""
    for statement in _V1_TABLES:
        db.execute(statement)


def _add_hosts_changed(db: sqlite3.Connection) -> None:
    """1 -> 2: ``hosts.changed``, whether a host's steps changed it, failed or not ("failed (changed)").

    Version 1 did not store it per host, but stored each step's ``changed`` and ``whatif``: the column is
    filled from those, as :attr:`toolkit.models.HostReport.changed` computes it (a step that changed the host
    and was not a check), so a host an old run changed and then failed reads "failed (changed)" too.
    """
    columns = {row[1] for row in db.execute("PRAGMA table_info(hosts)")}
    if "changed" in columns:  # a version-2 file that a version-1 jcfix reopened (and stamped 1)
        return
    db.execute("ALTER TABLE hosts ADD COLUMN changed INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "UPDATE hosts SET changed = 1 WHERE EXISTS (SELECT 1 FROM steps s WHERE s.run_seq = hosts.run_seq"
        " AND s.host = hosts.host AND s.changed = 1 AND s.whatif = 0)"
    )


def _add_steps_findings(db: sqlite3.Connection) -> None:
    """2 -> 3: ``steps.findings``, the diagnosis the run showed for a step that collected facts.

    A JSON list of findings (the rules' findings for the users the run expected, as its reports showed
    them), or NULL: no diagnosis recorded for the step. Earlier versions did not store it, so every old step
    is NULL and a reader falls back to running the rules again over the stored facts, as it always did.
    """
    columns = {row[1] for row in db.execute("PRAGMA table_info(steps)")}
    if "findings" in columns:
        return
    db.execute("ALTER TABLE steps ADD COLUMN findings TEXT")


# Version 4: how ``jcfix diagnose`` finds the pending fixes of a 10,000-host fleet without reading every
# host of every recent run (toolkit.services.pending): the fix steps by action, one host's steps by host.
_V4_INDEXES = (
    "CREATE INDEX IF NOT EXISTS steps_by_action ON steps (action, run_seq)",
    "CREATE INDEX IF NOT EXISTS steps_by_host ON steps (host, run_seq)",
)


def _index_steps(db: sqlite3.Connection) -> None:
    """3 -> 4: indexes of ``steps`` by action and by host (no table changes; IF NOT EXISTS: idempotent)."""
    for statement in _V4_INDEXES:
        db.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, hosts and steps", _create_v1),
    Migration(2, "hosts.changed", _add_hosts_changed),
    Migration(3, "steps.findings", _add_steps_findings),
    Migration(4, "steps indexed by action and by host", _index_steps),
)
SCHEMA_VERSION = len(MIGRATIONS)


def history_path(override: Path | None = None) -> Path:
    """The database file: ``override``, else ``$JCFIX_HISTORY``, else the user's data directory."""
    if override is not None:
        return override
    from_env = os.environ.get(HISTORY_ENV)
    if from_env:
        return Path(from_env)
    return Path(platformdirs.user_data_dir("jcfix")) / "history.sqlite3"


def _version(db: sqlite3.Connection, path: Path) -> int:
    """The file's schema version (a read only: the header is not written)."""
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:  # "file is not a database", "unable to open database file"...
        raise UsageError(f"cannot read the run history {path}: {exc}") from None


def _refuse_newer(path: Path, found: int) -> None:
    if found > SCHEMA_VERSION:
        raise HistoryTooNewError(
            f"the run history {path} has schema version {found}, written by a newer jcfix (this one knows "
            f"versions up to {SCHEMA_VERSION}); it was left unchanged: upgrade jcfix, or give another file "
            f"with --history or ${HISTORY_ENV}"
        )


def check_version(path: Path) -> int | None:
    """The schema version of the history at ``path`` (``None``: no file yet); refuses a newer one.

    Raises:
        HistoryTooNewError: the file was written by a newer jcfix (nothing is written to it).
        UsageError: the file cannot be opened, or is not an SQLite database.
    """
    if not refuse_unusable(path):
        return None
    db = open_sqlite(path)
    try:
        found = _version(db, path)
    finally:
        db.close()
    _refuse_newer(path, found)
    return found


def _run_step(db: sqlite3.Connection, path: Path, step: Migration) -> None:
    """Apply one step in its own transaction (the caller runs ``db`` in autocommit mode)."""
    # IMMEDIATE: take the write lock first, then re-read the version: another jcfix may have migrated the
    # file since this one looked, and a step must never run twice.
    db.execute("BEGIN IMMEDIATE")
    try:
        found = _version(db, path)
        _refuse_newer(path, found)
        if found >= step.version:
            db.execute("ROLLBACK")
            return
        step.apply(db)
        db.execute(f"PRAGMA user_version = {int(step.version)}")
        db.execute("COMMIT")
    except BaseException as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if isinstance(exc, JcfixError) or not isinstance(exc, Exception):
            raise
        raise HistoryMigrationError(
            f"the run history {path} could not be upgraded from schema version {step.version - 1} to "
            f"{step.version} ({step.summary}): {type(exc).__name__}: {exc}; that step was rolled back, "
            f"the file is still at version {step.version - 1}"
        ) from exc


def migrate(db: sqlite3.Connection, path: Path) -> int:
    """Run the steps of :data:`MIGRATIONS` that ``db`` lacks, each in one transaction; the version reached."""
    found = _version(db, path)
    _refuse_newer(path, found)
    if found == SCHEMA_VERSION:  # the usual case: no lock taken
        return found
    level = db.isolation_level
    db.isolation_level = None  # autocommit: the transactions are the explicit BEGIN/COMMIT of each step
    try:
        for step in MIGRATIONS:
            if step.version > found:  # re-checked under the lock, in _run_step
                _run_step(db, path, step)
    finally:
        db.isolation_level = level
    return _version(db, path)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the history database at ``path``, migrated to :data:`SCHEMA_VERSION`.

    A new file is created readable only by its owner (see :mod:`toolkit.history.dbfile`).

    Raises:
        HistoryTooNewError: a newer jcfix wrote the file; it is closed unchanged (exit code 2).
        UsageError: ``path`` is a directory, unreadable, or not an SQLite database (exit code 2).
        HistoryMigrationError: a step failed; the file stays as it was before that step.
    """
    existed = refuse_unusable(path)  # a directory or an unreadable file: refused, nothing created
    if not existed:
        create_private(path)  # 0600, and 0700 for a folder jcfix makes for it
    # The recorder is fed from one thread, but not necessarily the one that opened it.
    db = open_sqlite(path, check_same_thread=False)
    try:
        db.row_factory = sqlite3.Row
        # Before anything that writes (journal_mode writes the header): a newer file is not touched.
        _refuse_newer(path, _version(db, path))
        if existed:  # a history after all (not refused above): say so if others can read it
            warn_if_shared(path)
        try:
            # WAL: readers (jcfix runs list) never block a running fleet; NORMAL: a commit per host stays cheap.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:  # read-only file or folder, a damaged file...
            raise UsageError(f"cannot open the run history {path}: {exc}") from None
        migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db
