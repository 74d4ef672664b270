"""``undo_run`` (``jcfix undo``): restore what one run changed on a host, from the backups it saved there."""

from __future__ import annotations

from typing import Any

from toolkit.actions import Action
from toolkit.actions._fixbase import (
    run_id_param,
)

ACTION = Action(
    name="undo_run",
    template="undo_run.ps1.j2",
    version=2,
    summary="Restore what a jcfix run changed on a host (renames, registry trees, policies, pending tasks).",
    params=(run_id_param(),),
    result_model="toolkit.actions._data:UndoData",
    changes_state=True,
)


def __getattr__(name: str) -> Any:
    # The result models live in toolkit.actions._data (pydantic, imported on use); still importable from here.
    if name in ("UndoData",):
        from toolkit.actions import _data

        return getattr(_data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
