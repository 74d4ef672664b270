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
same folder on the host): each is its own row, and :meth:`History.touched_targets` takes the union.

The package: :mod:`~toolkit.history.schema` (the file, its schema version and forward migrations),
:mod:`~toolkit.history.store` (writing) and :mod:`~toolkit.history.read` (reading). Opening a file written
by an older jcfix upgrades it in place, one transaction per version; a file from a newer jcfix is refused.
"""

from toolkit.history.read import History, HostRow, RunRow, StepRow
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
    "history_path",
]
