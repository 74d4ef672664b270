"""``remove_picture_password`` (``jcfix fix remove-picture-password``): drop one user's picture password."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolkit.actions import Action, Param
from toolkit.actions._fixbase import (
    SYSTEM_POLICY_KEY,
    FixData,
    apply_lab_policy,
    fix_data,
    policy_value,
    run_id_param,
    save_lab_backup,
    user_param,
)
from toolkit.lab.documents import document, failure

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost

POLICY_NAME = "BlockDomainPicturePassword"


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    name, run_id, block = params["UserName"], params["RunId"], bool(params.get("BlockReenroll"))
    user = host.find_user(name)
    if user is None:
        return failure("remove_picture_password", f"no local account named '{name}'", "invalid_input")
    data = fix_data(name, whatif=whatif)
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
        planned.append(f"set policy {POLICY_NAME} = 1")
    data["planned"] = planned
    if not planned:
        data.update(after=before, notes=["nothing to do: no picture password registered"])
        return document("remove_picture_password", data)
    if whatif:
        return document("remove_picture_password", data, status="changed")
    backups = []
    if before["picture_password"]:
        backups.append(save_lab_backup(host, run_id, "registry", {"reason": "picture password", "sid": sid}))
        user.picture_password = False
    if block and before["block_policy"] != 1:
        backups.append(apply_lab_policy(host, run_id, POLICY_NAME, 1))
    data.update(backups=backups, after=state(), notes=["the user signs in with the account password from now on"])
    return document("remove_picture_password", data, status="changed", changed=True)


ACTION = Action(
    name="remove_picture_password",
    template="remove_picture_password.ps1.j2",
    version=1,
    summary="Remove a user's picture-password registration (backed up); optionally block re-enrolment.",
    params=(
        user_param(),
        run_id_param(),
        Param("BlockReenroll", kind="bool", flag="--block-reenroll", help="also set the policy that blocks it"),
    ),
    result_model=FixData,
    changes_state=True,
    simulate=simulate,
    command="remove-picture-password",
)
