"""``jcfix undo``: which hosts a run changed (from the run history), and the undo action for them.

What a run can have changed is declared by its fixes (``Action.undo_kinds``); the ``undo_run`` script
restores those kinds from the backups the run saved on each host. No per-fix switch lives here.
"""

from __future__ import annotations

from toolkit.actions import RUN_ID_PARAM, get_action
from toolkit.errors import UsageError
from toolkit.history import History, history_path
from toolkit.report import ReportOptions
from toolkit.services.run_action import ActionPlan, plan_action
from toolkit.settings import check_cleartext
from toolkit.transport.base import HostTarget


def hosts_from_history(reports: ReportOptions, run_id: str, default_auth: str) -> list[HostTarget]:
    """The hosts run ``run_id`` changed, reached as the run reached them; a :class:`UsageError` when none."""
    path = history_path(reports.history)
    with History(path) as history:
        if not history.attempts(run_id):
            raise UsageError(f"run {run_id} is not in the run history ({path}): give --host or --inventory")
        targets = history.touched_targets(run_id)
    if not targets:
        raise UsageError(f"run {run_id} changed nothing on any host (run history {path}): nothing to undo")
    for target in targets:
        check_cleartext(target.connect_address, target.scheme or "https", target.auth or default_auth)
    return targets


def plan_undo(targets: list[HostTarget], run_id: str, *, check: bool) -> ActionPlan:
    """The undo of run ``run_id`` on ``targets`` (``check``: report what would be restored, change nothing)."""
    return plan_action(targets, get_action("undo_run"), {RUN_ID_PARAM: run_id}, whatif=check)
