"""``undo_run`` (``jcfix undo``): restore what one run changed on a host, from the backups it saved there."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.actions import Action
from toolkit.actions._fixbase import (
    PICTURE_PASSWORD_KEY,
    not_elevated_message,
    restore_lab_registry_tree,
    run_id_param,
    set_policy_value,
    untrusted_folder_message,
)
from toolkit.backups import KINDS, PICTURE_PASSWORD_SUBKEY, TASK_PATH, validate_record
from toolkit.lab.documents import document, failure

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost


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


def _undo_rename(host: LabHost, entry: dict[str, Any], whatif: bool) -> tuple[str, str]:
    user = {host.sid_of(u): u for u in host.users}.get(entry["sid"])
    if user is None:
        return "cannot", f"account {entry['sid']} no longer exists"
    if user.name == entry["old_name"]:
        return "already", f"'{entry['old_name']}' already has its old name"
    if user.name != entry["new_name"]:
        return "cannot", f"{entry['sid']} was renamed again since (now '{user.name}'); left as it is"
    if not whatif:
        user.name = entry["old_name"]
    return "restored", f"renamed '{entry['new_name']}' back to '{entry['old_name']}'"


def _undo_registry(host: LabHost, entry: dict[str, Any], whatif: bool) -> tuple[str, str]:
    snapshot = entry["snapshot"]
    if not snapshot["exists"]:
        return "already", f"{entry['reason']} key did not exist before the run"
    user = {host.sid_of(u): u for u in host.users}.get(entry["sid"])
    if user is None or user.picture_password:
        return "already", f"HKLM\\{snapshot['subkey']} exists"
    parent = "HKEY_LOCAL_MACHINE\\" + PICTURE_PASSWORD_SUBKEY
    if not whatif and parent.lower() in {k.lower() for k in host.windows_faults.denied_registry_writes}:
        # RegistryKey.CreateSubKey under a key this token may not write: UnauthorizedAccessException.
        raise PermissionError(f"Access to the registry key '{parent}' is denied.")
    if not whatif:
        restore_lab_registry_tree(host, PICTURE_PASSWORD_KEY, snapshot["tree"])
        user.picture_password = True
    return "restored", f"restored {entry['reason']} (HKLM\\{snapshot['subkey']}, with its subkeys)"


def _undo_policy(host: LabHost, entry: dict[str, Any], whatif: bool) -> tuple[str, str]:
    key = "HKLM:\\" + entry["subkey"]
    current = host.registry.get(key, {}).get(entry["name"])
    if current == entry["previous"]:
        return "already", f"{entry['name']} is already {entry['previous']}"
    if not whatif:
        set_policy_value(host, key, entry["name"], entry["previous"])
    was = "not set" if entry["previous"] is None else str(entry["previous"])
    return "restored", f"policy {entry['name']} back to {was}"


def _undo_task(host: LabHost, entry: dict[str, Any], whatif: bool) -> tuple[str, str]:
    keys = [TASK_PATH + entry["task_name"], TASK_PATH + entry["cleanup_task_name"]]
    if not any(k in host.scheduled_tasks for k in keys):
        return "cannot", (
            f"the sign-in task {entry['task_name']} is gone: it may have run, and a removed PIN cannot be restored"
        )
    ran = bool(host.scheduled_tasks.get(keys[0], {}).get("ran"))
    if not whatif:
        for key in keys:
            host.scheduled_tasks.pop(key, None)
    if ran:
        return "cannot", (
            f"the sign-in task {entry['task_name']} already ran: the PIN goes at the user's next sign-out and "
            "cannot be kept (task removed)"
        )
    return "restored", f"removed the pending sign-in task {entry['task_name']} before it ran"


def _undo_entry(host: LabHost, kind: str, entry: dict[str, Any], whatif: bool) -> tuple[str, str]:
    if kind == "rename":
        return _undo_rename(host, entry, whatif)
    if kind == "registry":
        return _undo_registry(host, entry, whatif)
    if kind == "policy":
        return _undo_policy(host, entry, whatif)
    if kind == "task":
        return _undo_task(host, entry, whatif)
    if kind == "msa_unlink":
        return "cannot", (
            f"the Microsoft-account link of '{entry['name']}' cannot be restored by jcfix: the user re-links it in "
            "Settings > Accounts > Your info ('Sign in with a Microsoft account instead')"
        )
    return "cannot", "wiped Windows Hello containers cannot be restored: users set up their PIN again"


# Get-JcfixRecordProblem's words for a record that names a target outside the allow-list, by kind.
_OUTSIDE = {
    "registry": "it names a registry key jcfix never deletes",
    "policy": "it names a policy value jcfix never sets",
    "task": "it names a scheduled task jcfix never registers",
}


def _problem(body: dict[str, Any], run_id: str) -> str | None:
    """Why ``Get-JcfixRecordProblem`` refuses a record (None: it may be replayed), in the script's words."""
    kind = body.get("kind")
    if body.get("schema") != 1:
        return "it is not a schema 1 jcfix backup record"
    if "run_id" not in body:
        return "it names no run (written before template v2, or not by jcfix)"
    if body["run_id"] != run_id:
        return f"it belongs to another run, not {run_id}"
    if kind not in KINDS:
        return f"its kind '{kind}' is unknown"
    try:
        validate_record(body)
    except ValidationError as exc:
        sid = (body.get("entry") or {}).get("sid")
        return _OUTSIDE.get(str(kind), f"its SID '{sid}' is not a local account SID") + f" ({exc.errors()[0]['msg']})"
    return None


def _untrusted(records: list[dict[str, Any]], run_id: str) -> str | None:
    """``Read-JcfixBackupRecord``: the first record that must not be replayed, as a refusal message."""
    for record in reversed(records):
        problem = _problem({k: v for k, v in record.items() if k != "path"}, run_id)
        if problem is not None:
            return (
                f"refusing to undo run {run_id}: backup record '{record.get('path')}' cannot be trusted: {problem}; "
                "nothing was restored"
            )
    return None


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    run_id = params["RunId"]
    if not host.elevated:
        return failure("undo_run", not_elevated_message(), "invalid_input")
    records = host.backups.get(run_id)
    data: dict[str, Any] = {
        "run_id": run_id,
        "check_mode": whatif,
        "restored": [],
        "already": [],
        "cannot": [],
        "failed": [],
        "undone_before": None,
    }
    refused = untrusted_folder_message(host, run_id)
    if refused is not None:
        return failure("undo_run", refused, "invalid_input", data=data)
    if not records:
        return failure("undo_run", f"run {run_id} saved no backups on this host", "invalid_input", data=data)
    marker = next((r for r in records if r["kind"] == "undone"), None)
    if marker is not None:
        data["undone_before"] = marker["at"]
        return document("undo_run", data)
    refused = _untrusted(records, run_id)
    if refused is not None:
        return failure("undo_run", refused, "invalid_input", data=data)
    for record in reversed(records):
        try:
            outcome, text = _undo_entry(host, record["kind"], record["entry"], whatif)
        except PermissionError as exc:
            # One record failing does not stop the others; the run is not marked undone.
            data["failed"].append(f"{record['kind']}: {exc}")
            continue
        data[outcome if outcome in ("restored", "already") else "cannot"].append(text)
    status = "changed" if data["restored"] else "ok"
    if data["failed"]:
        message = (
            f"{len(data['failed'])} of {len(records)} backup records could not be restored: {'; '.join(data['failed'])}"
        )
        return failure("undo_run", message, "script_failed", data=data, changed=bool(data["restored"]) and not whatif)
    if whatif:
        return document("undo_run", data, status=status)
    records.append({"kind": "undone", "at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return document("undo_run", data, status=status, changed=bool(data["restored"]))


ACTION = Action(
    name="undo_run",
    template="undo_run.ps1.j2",
    version=2,
    summary="Restore what a jcfix run changed on a host (renames, registry trees, policies, pending tasks).",
    params=(run_id_param(),),
    result_model=UndoData,
    changes_state=True,
    simulate=simulate,
)
