"""What every fix declaration shares: the run id, the user parameter and the result data shape."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from toolkit.actions import Param
from toolkit.errors import UsageError
from toolkit.naming import check_existing_name

# \Z, not $: "$" also matches before a final newline, so "r-1\n" would pass .match().
RUN_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}\Z")
RUN_ID_RULE = "1-64 letters, digits or dashes"
_SHOWN_COMMAND = 20  # characters of the earlier run's command the refusal keeps at least


def new_run_id() -> str:
    """A run id that sorts by time and cannot collide in practice: ``20261126T222435Z-3f9a1c``."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def check_run_id(given: str | None, history: Path | None = None) -> str:
    """The id of a new run: ``given`` (``--run-id``) checked, else a new one (issue 15 item 8).

    Refused with a :class:`UsageError`, before anything connects: an empty or malformed id (never silently
    replaced), and an id the run history already holds (``history``: the ``--history`` file, None for the
    default), since ``jcfix undo`` and the backups on the hosts are keyed by run id. Reading the history
    does not create it.
    """
    if given is None:
        return new_run_id()
    if not RUN_ID_RE.match(given):
        shown = given.encode("unicode_escape").decode("ascii")[:70]
        raise UsageError(f"--run-id {shown!r}: must be {RUN_ID_RULE}")
    from toolkit.history import earlier_run, history_path  # at run time: the history imports the actions

    earlier = earlier_run(history_path(history), given)
    if earlier is not None:
        head = f"--run-id {given}: taken on {earlier.started[:16].replace('T', ' ')} by "
        room = max(_SHOWN_COMMAND, 80 - len("jcfix: error: ") - len(head))  # one line, 80 columns if it can
        command = earlier.command if len(earlier.command) <= room else earlier.command[: room - 3] + "..."
        raise UsageError(head + command)
    return given


def _check_run_id(value: str) -> None:
    if not RUN_ID_RE.match(value):
        raise ValueError(f"must be {RUN_ID_RULE}")


def run_id_param() -> Param:
    """The ``RunId`` parameter: names the backup folder on the host and the run in history."""
    return Param("RunId", required=True, validate=_check_run_id, help="run id (names the backup folder)")


def user_param() -> Param:
    """The ``UserName`` parameter (``--user``): the local account a fix acts on."""
    return Param(
        "UserName", required=True, flag="--user", help="the local account's username", validate=check_existing_name
    )


def __getattr__(name: str) -> Any:
    # The result models live in toolkit.actions._data (pydantic, imported on use); still importable from here.
    if name in ("FixData",):
        from toolkit.actions import _data

        return getattr(_data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
