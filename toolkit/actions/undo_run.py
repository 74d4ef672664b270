"""``undo_run`` (``jcfix undo``): restore what one run changed on a host, from the backups it saved there."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from toolkit.actions import Action
from toolkit.actions._fixbase import run_id_param, set_policy_value
from toolkit.lab.documents import document, failure

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost


class UndoData(BaseModel):
    """What an undo restored, found already restored, and could not restore (each in one line)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    check_mode: bool
    restored: list[str]
    already: list[str]
    cannot: list[str]
    undone_before: str | None


def _undo_entry(host: LabHost, kind: str, entry: dict[str, Any], whatif: bool) -> tuple[str, str]:
    by_sid = {host.sid_of(u): u for u in host.users}
    if kind == "rename":
        user = by_sid.get(entry["sid"])
        if user is None:
            return "cannot", f"account {entry['sid']} no longer exists"
        if user.name == entry["old_name"]:
            return "already", f"'{entry['old_name']}' already has its old name"
        if user.name != entry["new_name"]:
            return "cannot", f"{entry['sid']} was renamed again since (now '{user.name}'); left as it is"
        if not whatif:
            user.name = entry["old_name"]
        return "restored", f"renamed '{entry['new_name']}' back to '{entry['old_name']}'"
    if kind == "registry":
        user = by_sid.get(entry["sid"])
        if user is None or user.picture_password:
            return "already", f"the {entry['reason']} key exists"
        if not whatif:
            user.picture_password = True
        return "restored", f"restored {entry['reason']}"
    if kind == "policy":
        current = host.registry.get(entry["path"], {}).get(entry["name"])
        if current == entry["previous"]:
            return "already", f"{entry['name']} is already {entry['previous']}"
        if not whatif:
            set_policy_value(host, entry["path"], entry["name"], entry["previous"])
        was = "not set" if entry["previous"] is None else str(entry["previous"])
        return "restored", f"policy {entry['name']} back to {was}"
    if kind == "task":
        if entry["task"] not in host.scheduled_tasks:
            return (
                "cannot",
                f"the sign-in task {entry['task']} is gone: it may have run, and a removed PIN cannot be restored",
            )
        if not whatif:
            del host.scheduled_tasks[entry["task"]]
        return "restored", f"removed the pending sign-in task {entry['task']} before it ran"
    if kind == "msa_unlink":
        return "cannot", (
            f"the Microsoft-account link of '{entry['name']}' cannot be restored by jcfix: the user re-links it in "
            "Settings > Accounts > Your info ('Sign in with a Microsoft account instead')"
        )
    if kind == "ngc_wipe":
        return "cannot", "wiped Windows Hello containers cannot be restored: users set up their PIN again"
    return "cannot", f"unknown backup kind '{kind}'"


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    run_id = params["RunId"]
    records = host.backups.get(run_id)
    data: dict[str, Any] = {
        "run_id": run_id,
        "check_mode": whatif,
        "restored": [],
        "already": [],
        "cannot": [],
        "undone_before": None,
    }
    if not records:
        return failure("undo_run", f"run {run_id} saved no backups on this host", "invalid_input")
    marker = next((r for r in records if r["kind"] == "undone"), None)
    if marker is not None:
        data["undone_before"] = marker["at"]
        return document("undo_run", data)
    for record in reversed(records):
        outcome, text = _undo_entry(host, record["kind"], record["entry"], whatif)
        data[outcome if outcome in ("restored", "already") else "cannot"].append(text)
    status = "changed" if data["restored"] else "ok"
    if whatif:
        return document("undo_run", data, status=status)
    records.append({"kind": "undone", "at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return document("undo_run", data, status=status, changed=bool(data["restored"]))


ACTION = Action(
    name="undo_run",
    template="undo_run.ps1.j2",
    version=1,
    summary="Restore what a jcfix run changed on a host (renames, registry, policies, pending tasks).",
    params=(run_id_param(),),
    result_model=UndoData,
    changes_state=True,
    simulate=simulate,
)
