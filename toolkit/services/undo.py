"""``jcfix undo``: which hosts a run changed (from the run history), and the undo action for them.

What a run can have changed is declared by its fixes (``Action.undo_kinds``); the ``undo_run`` script
restores those kinds from the backups the run saved on each host. No per-fix switch lives here.
"""

from __future__ import annotations

from dataclasses import replace

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


def untouched_hosts(reports: ReportOptions | None, run_id: str, names: list[str]) -> dict[str, str]:
    """Of ``names``, the hosts run ``run_id`` never changed, by the run history: host name -> why skipped.

    Nothing when the history does not know the run (it may have been recorded elsewhere): every host is
    then asked, and each says for itself what it has to restore.
    """
    path = history_path(reports.history if reports is not None else None)
    if not path.exists():
        return {}
    with History(path) as history:
        if not history.attempts(run_id):
            return {}
        touched = {t.name for t in history.touched_targets(run_id)}
    return {name: f"run {run_id} changed nothing on this host" for name in names if name not in touched}


def plan_undo(
    targets: list[HostTarget], run_id: str, *, check: bool, reports: ReportOptions | None = None
) -> ActionPlan:
    """The undo of run ``run_id`` on ``targets`` (``check``: report what would be restored, change nothing).

    Hosts the run history says the run never changed are ``skipped`` (issue 13 item 9) without
    connecting. ``reports``: the command's ``--history``; without it, the default history file.
    """
    skipped = untouched_hosts(reports, run_id, [t.name for t in targets])
    plan = plan_action(targets, get_action("undo_run"), {RUN_ID_PARAM: run_id}, whatif=check)
    steps = {name: steps for name, steps in plan.steps.items() if name not in skipped}
    return replace(plan, steps=steps, skipped=skipped)
