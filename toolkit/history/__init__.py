"""Run history: every run, each host and each step's result, in a local SQLite database.

The database is ``$JCFIX_HISTORY``, else ``history.sqlite3`` in the user's data directory
(``platformdirs.user_data_dir("jcfix")``); ``--history FILE`` overrides both. :class:`HistoryRecorder`
writes a run as it happens: the run row at ``start``, one host and its steps per ``host_done`` (committed
in batches of at most half a second or 200 hosts, and always at ``finish``, which runs after Ctrl-C and
SIGTERM too, or at exit: a stopped run keeps every finished host, and nothing accumulates in memory), the
outcome at ``finish``.

Stored: run id, who, when, the command or playbook, parameters (through :func:`toolkit.secrets.redact`),
each host's status and how it was reached (address, port, scheme, auth, CA file: never a credential),
and each step's status, changed, error and result document. ``jcfix undo --run-id`` reads which hosts a
run touched, and how to reach them, from here.

A run id names one run: ``--run-id`` of a run id already in the history is refused before anything
connects (:func:`toolkit.actions._fixbase.check_run_id`, with :func:`earlier_run`), since undo and the
backups on the hosts are keyed by it. Files written before that may hold several runs under one id: each
is its own row, and :meth:`History.touched_targets` takes the union.

The file is created readable by its owner only, and refused (exit 2) when it is a directory, unreadable or
not SQLite (:mod:`~toolkit.history.dbfile`).

The package: :mod:`~toolkit.history.schema` (the file, its schema version and forward migrations),
:mod:`~toolkit.history.store` (writing) and :mod:`~toolkit.history.read` (reading). Opening a file written
by an older jcfix upgrades it in place, one transaction per version; a file from a newer jcfix is refused.
"""

from toolkit.history.read import History, HostRow, RunRow, StepRow, earlier_run
from toolkit.history.schema import (
    HISTORY_ENV,
    MIGRATIONS,
    SCHEMA_VERSION,
    HistoryMigrationError,
    HistoryTooNewError,
    Migration,
    check_version,
    connect,
    history_path,
)
from toolkit.history.store import STORED_RAW_LIMIT, HistoryRecorder

__all__ = [
    "HISTORY_ENV",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STORED_RAW_LIMIT",
    "History",
    "HistoryMigrationError",
    "HistoryRecorder",
    "HistoryTooNewError",
    "HostRow",
    "Migration",
    "RunRow",
    "StepRow",
    "check_version",
    "connect",
    "earlier_run",
    "history_path",
]
