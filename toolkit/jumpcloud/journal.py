"""A small local journal of what jcfix changed in JumpCloud, so ``jcfix undo --run-id`` can restore it.

One JSON file per run under the user's data directory (``$JCFIX_JC_JOURNAL_DIR`` overrides):
``{"run_id", "entries": [{"fix", "change", "user_id", "username", "before", "after", "undoable", "note",
"at", "outcome"}]}``. An entry is written before its change is made (``outcome: "planned"``) and updated
once the change is read back (``applied`` or ``failed``): an entry left ``planned`` means jcfix stopped
between the two, and undo then checks JumpCloud rather than trusting either. Only field names and values
jcfix set are recorded; never a password.

``change`` says what kind of change an entry is (``local_account``, ``unlock``, ``bind``, ``state``,
``activation_email``, ``activation``); :func:`last_change` finds the latest of one kind for one user
across every run (how ``jc-activate`` knows it already sent an activation email).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs

from toolkit.errors import UsageError

JOURNAL_ENV = "JCFIX_JC_JOURNAL_DIR"


def journal_dir() -> Path:
    override = os.environ.get(JOURNAL_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir("jcfix")) / "jumpcloud-runs"


def _path(run_id: str) -> Path:
    return journal_dir() / f"{run_id}.json"


def now_text() -> str:
    """Now, as the journal writes times (UTC, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def exists(run_id: str) -> bool:
    """Whether run ``run_id`` recorded any JumpCloud change."""
    return _path(run_id).exists()


def _write(run_id: str, document: dict[str, Any]) -> None:
    path = _path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)  # atomic: a crash leaves the old journal or the new one, never half of one


def record(run_id: str, entry: dict[str, Any]) -> int:
    """Append ``entry`` to the run's journal before its change is made; returns its index for :func:`settle`."""
    document: dict[str, Any] = read(run_id) if exists(run_id) else {"run_id": run_id, "entries": []}
    document["entries"].append({"outcome": "planned", "at": now_text(), **entry})
    _write(run_id, document)
    return len(document["entries"]) - 1


def settle(run_id: str, index: int, outcome: str, **fields: Any) -> None:
    """Mark entry ``index`` ``applied`` or ``failed`` (with what was read back), once the change was checked."""
    document = read(run_id)
    document["entries"][index].update({"outcome": outcome, "settled": now_text(), **fields})
    _write(run_id, document)


def read(run_id: str) -> dict[str, Any]:
    path = _path(run_id)
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UsageError(f"no JumpCloud changes recorded for run {run_id!r} (looked in {journal_dir()})") from None
    except ValueError:
        raise UsageError(f"{path}: the run's journal is not valid JSON") from None


def last_change(change: str, user_id: str) -> dict[str, Any] | None:
    """The latest ``applied`` entry of kind ``change`` for ``user_id`` in any run (with its ``run_id``), or None.

    A journal that cannot be read is passed over: it is evidence of a past send, not needed to make one.
    """
    latest: dict[str, Any] | None = None
    folder = journal_dir()
    if not folder.is_dir():
        return None
    for path in folder.glob("*.json"):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in document.get("entries") or []:
            if entry.get("change") != change or entry.get("user_id") != user_id or entry.get("outcome") != "applied":
                continue
            if latest is None or str(entry.get("at", "")) > str(latest.get("at", "")):
                latest = {**entry, "run_id": document.get("run_id", path.stem)}
    return latest
