"""``undo_run`` (``jcfix undo``): restore what one run changed on a host, from the backups it saved there."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from toolkit.actions import Action
from toolkit.actions._fixbase import (
    run_id_param,
)


class UndoData(BaseModel):
    """What an undo restored, found already restored, could not restore, and failed on (each in one line)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    check_mode: bool
    restored: list[str]
    already: list[str]
    cannot: list[str]
    failed: list[str] = Field(default_factory=list)
    undone_before: str | None


ACTION = Action(
    name="undo_run",
    template="undo_run.ps1.j2",
    version=2,
    summary="Restore what a jcfix run changed on a host (renames, registry trees, policies, pending tasks).",
    params=(run_id_param(),),
    result_model=UndoData,
    changes_state=True,
)
