"""A small local journal of what jcfix changed in JumpCloud, so ``jcfix fix jc-undo --run-id`` can restore it.

One JSON file per run under the user's data directory (``$JCFIX_JC_JOURNAL_DIR`` overrides):
``{"run_id", "entries": [{"user_id", "username", "field", "before", "after", "undoable", "note"}]}``.
Only field names and values jcfix set are recorded; never a password.
"""

from __future__ import annotations

import json
import os
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


def record(run_id: str, entry: dict[str, Any]) -> None:
    """Append ``entry`` to the run's journal (written before the change is made, then confirmed)."""
    path = _path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = read(run_id) if path.exists() else {"run_id": run_id, "entries": []}
    document["entries"].append(entry)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def read(run_id: str) -> dict[str, Any]:
    path = _path(run_id)
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UsageError(f"no JumpCloud changes recorded for run {run_id!r} (looked in {journal_dir()})") from None
    except ValueError:
        raise UsageError(f"{path}: the run's journal is not valid JSON") from None
