"""``remove_picture_password`` (``jcfix fix remove-picture-password``): drop one user's picture password."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolkit.actions import Action, Param
from toolkit.actions._fixbase import (
    PICTURE_PASSWORD_KEY,
    SYSTEM_POLICY_KEY,
    FixData,
    apply_lab_policy,
    delete_lab_registry_tree,
    fix_data,
    lab_registry_snapshot,
    not_elevated_message,
    policy_value,
    run_id_param,
    save_lab_backup,
    untrusted_folder_message,
    user_param,
)
from toolkit.backups import PICTURE_PASSWORD_SUBKEY
from toolkit.lab.documents import document, failure

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost

POLICY_NAME = "BlockDomainPicturePassword"
# What --block-reenroll does and does not do, in the plan, the notes and --help (issue 10, defect 10).
BLOCK_PLAN = (
    f"set policy {POLICY_NAME} = 1 (Microsoft words it for domain users; whether it stops local or "
    "Microsoft-account users from setting a picture password again is UNCONFIRMED)"
)
BLOCK_NOTE = (
    f"{POLICY_NAME} is worded for domain users; for local and Microsoft-account users it may not stop a new "
    "picture password (UNCONFIRMED): run jcfix diagnose again later"
)
BLOCK_HELP = (
    f"also set {POLICY_NAME}=1 (blocks picture-password sign-in for domain users; for local and "
    "Microsoft-account users its effect is unconfirmed)"
)


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    name, run_id, block = params["UserName"], params["RunId"], bool(params.get("BlockReenroll"))
    if not host.elevated:
        return failure("remove_picture_password", not_elevated_message(), "invalid_input")
    data = fix_data(name, whatif=whatif)
    refused = untrusted_folder_message(host, run_id)
    if refused is not None:
        return failure("remove_picture_password", refused, "invalid_input", data=data)
    user = host.find_user(name)
    if user is None:
        return failure("remove_picture_password", f"no local account named '{name}'", "invalid_input", data=data)
    sid = host.sid_of(user)

    def state() -> dict[str, Any]:
        return {
            "picture_password": user.picture_password,
            "block_policy": policy_value(host, SYSTEM_POLICY_KEY, POLICY_NAME),
        }

    before = state()
    data.update(sid=sid, before=before)
    planned = []
    if before["picture_password"]:
        planned.append(f"delete the picture-password registration of '{user.name}' ({sid})")
    if block and before["block_policy"] != 1:
        planned.append(BLOCK_PLAN)
    data["planned"] = planned
    if not planned:
        data.update(after=before, notes=["nothing to do: no picture password registered"])
        return document("remove_picture_password", data)
    if whatif:
        return document("remove_picture_password", data, status="changed")
    backups = []
    if before["picture_password"]:
        key = f"{PICTURE_PASSWORD_KEY}\\{sid}"
        snapshot = lab_registry_snapshot(host, key, f"{PICTURE_PASSWORD_SUBKEY}\\{sid}", exists=True)
        entry = {"reason": "picture password", "sid": sid, "snapshot": snapshot}
        backups.append(save_lab_backup(host, run_id, "registry", entry))
        delete_lab_registry_tree(host, key)
        user.picture_password = False
    notes = ["the user signs in with the account password from now on"]
    if block and before["block_policy"] != 1:
        backups.append(apply_lab_policy(host, run_id, POLICY_NAME, 1))
        notes.append(BLOCK_NOTE)
    data.update(backups=backups, after=state(), notes=notes)
    return document("remove_picture_password", data, status="changed", changed=True)


ACTION = Action(
    name="remove_picture_password",
    template="remove_picture_password.ps1.j2",
    version=2,
    summary="Remove a user's picture-password registration (backed up); optionally block re-enrolment.",
    params=(
        user_param(),
        run_id_param(),
        Param("BlockReenroll", kind="bool", flag="--block-reenroll", help=BLOCK_HELP),
    ),
    result_model=FixData,
    changes_state=True,
    simulate=simulate,
    command="remove-picture-password",
)
