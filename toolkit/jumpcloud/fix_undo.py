"""Undo of a JumpCloud-side fix run, entry by entry from the run's journal, newest change first.

Each entry is restored only when JumpCloud still shows what the run left (read first): a value changed
since is reported, never overwritten. What cannot be restored (an unlock, an activation, an email, a
password) is ``skipped`` with the reason the journal recorded.
"""

from __future__ import annotations

from typing import Any

from toolkit.jumpcloud import api, journal, writes
from toolkit.jumpcloud.client import JumpCloudClient
from toolkit.jumpcloud.fix_common import FixOutcome, user_view
from toolkit.jumpcloud.writes import ApiRequest

FIX = "jc-undo"


def _kind(entry: dict[str, Any]) -> str:
    # Journals written before ``change`` existed carry only ``field: systemUsername`` (jc-local-account).
    return str(entry.get("change") or ("local_account" if entry.get("field") == "systemUsername" else "other"))


def _local_account(client: JumpCloudClient, entry: dict[str, Any], outcome: FixOutcome) -> None:
    user = api.get_user(client, str(entry["user_id"]))
    outcome.before = user_view(user)
    before, after = entry.get("before"), entry.get("after")
    if user.system_username == before:
        outcome.notes.append("already restored")
        return
    if user.system_username != after:
        outcome.fail(
            "invalid_input",
            f"the Local User Account is now {user.system_username!r}, not {after!r} as this run left it: "
            "changed since, not restored",
        )
        return
    outcome.planned.append(f"restore the Local User Account from {after!r} to {before or '(empty)'!r}")
    if outcome.check_mode:
        outcome.status = "changed"
        return
    api.update_user(client, user.id, {"systemUsername": before})
    restored = api.get_user(client, user.id)
    outcome.after = user_view(restored)
    if restored.system_username != before:
        outcome.fail("verify_failed", f"JumpCloud shows {restored.system_username!r} after the restore")
    else:
        outcome.status = "changed"


def _bind(client: JumpCloudClient, entry: dict[str, Any], outcome: FixOutcome) -> None:
    user_id, system_id = str(entry["user_id"]), str(entry["system_id"])
    device = entry.get("device") or system_id
    if entry.get("outcome") == "failed":
        outcome.status = "skipped"
        outcome.notes.append(f"the binding to {device} never showed after this run's request: nothing to remove")
        return
    direct = writes.direct_user_ids(client, system_id)
    outcome.before = {"device": device, "bound_directly": user_id in direct}
    if user_id not in direct:
        outcome.notes.append(f"already unbound from {device}")
        return
    outcome.planned.append(f"unbind {outcome.jc_user!r} from {device} (this run bound them)")
    if outcome.check_mode:
        outcome.status = "changed"
        return
    writes.unbind(client, system_id, user_id)
    still = user_id in writes.direct_user_ids(client, system_id)
    outcome.after = {"device": device, "bound_directly": still}
    if still:
        outcome.fail("verify_failed", f"JumpCloud still shows {outcome.jc_user!r} bound to {device} after unbinding")
    else:
        outcome.status = "changed"
        outcome.notes.append("the agent applies the unbinding at its next check-in")


def _state(client: JumpCloudClient, entry: dict[str, Any], outcome: FixOutcome) -> None:
    user = api.get_user(client, str(entry["user_id"]))
    outcome.before = user_view(user)
    before, after = str(entry.get("before")), str(entry.get("after"))
    if user.state == before:
        outcome.notes.append(f"already {before}")
        return
    if user.state != after:
        outcome.fail("invalid_input", f"{outcome.jc_user!r} is now {user.state}, not {after} as this run left them")
        return
    outcome.planned.append(f"set {outcome.jc_user!r} back to {before}: they can no longer sign in")
    if outcome.check_mode:
        outcome.status = "changed"
        return
    writes.set_state(client, user.id, before)
    restored = api.get_user(client, user.id)
    outcome.after = user_view(restored)
    if restored.state != before:
        outcome.fail("verify_failed", f"JumpCloud shows {restored.state} after setting {before}")
    else:
        outcome.status = "changed"


_UNDO = {"local_account": _local_account, "bind": _bind, "state": _state}


def undo(client: JumpCloudClient, run_id: str, *, check: bool) -> list[FixOutcome]:
    """Restore what run ``run_id`` changed in JumpCloud, newest change first; one outcome per journal entry."""
    outcomes = []
    for entry in reversed(journal.read(run_id)["entries"]):
        outcome = FixOutcome(FIX, str(entry.get("username", "")), run_id, check)
        outcomes.append(outcome)
        restore = _UNDO.get(_kind(entry)) if entry.get("undoable") else None
        if restore is None:
            outcome.status = "skipped"
            what = entry.get("change") or ", ".join(entry.get("planned") or []) or "this change"
            outcome.notes.append(f"cannot undo {what}: {entry.get('note', '')}")
            continue
        restore(client, entry, outcome)
    return outcomes


def dry_run(run_id: str) -> list[ApiRequest]:
    """The requests undo of ``run_id`` would send, each only if JumpCloud still shows what the run left."""
    requests: list[ApiRequest] = []
    for entry in reversed(journal.read(run_id)["entries"]):
        kind, user_id = _kind(entry), str(entry.get("user_id"))
        if not entry.get("undoable"):
            continue
        if kind == "local_account":
            body = {"systemUsername": entry.get("before")}
            requests.append(ApiRequest("PUT", f"/api/systemusers/{user_id}", "User_Set", body=body))
        elif kind == "bind":
            requests.append(writes.association_request(str(entry["system_id"]), user_id, "remove"))
        elif kind == "state":
            requests.append(writes.state_request(user_id, str(entry.get("before"))))
    return requests
