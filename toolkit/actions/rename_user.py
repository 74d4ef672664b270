"""``rename_user`` (``jcfix fix rename``): give a local account the JumpCloud username exactly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolkit.actions import Action, Param
from toolkit.actions._fixbase import (
    FixData,
    fix_data,
    lab_account,
    not_elevated_message,
    run_id_param,
    save_lab_backup,
    signed_in_text,
    untrusted_folder_message,
    user_param,
)
from toolkit.lab.documents import document, failure
from toolkit.naming import name_problems

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost


def _check_new_name(value: str) -> None:
    problems = name_problems(value)
    if problems:
        raise ValueError(f"{value!r} {'; '.join(problems)}")


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    old, new, run_id = params["UserName"], params["NewName"], params["RunId"]
    if not host.elevated:
        return failure("rename_user", not_elevated_message(), "invalid_input")
    problems = name_problems(new)
    if problems:
        return failure(
            "rename_user", f"'{new}' is not a valid Windows username: {'; '.join(problems)}", "invalid_input"
        )
    data = fix_data(old, whatif=whatif)
    refused = untrusted_folder_message(host, run_id)
    if refused is not None:
        return failure("rename_user", refused, "invalid_input", data=data)
    user = host.find_user(old)
    if user is None:
        renamed = host.find_user(new)
        if renamed is not None and renamed.name == new:
            state = lab_account(host, renamed.name)
            data.update(sid=state["sid"], before=state, after=state, notes=[f"already named '{new}'"])
            return document("rename_user", data)
        return failure("rename_user", f"no local account named '{old}'", "invalid_input")
    before = lab_account(host, user.name)
    data.update(sid=before["sid"], before=before)
    if user.name == new:
        data.update(after=before, notes=[f"already named '{new}'"])
        return document("rename_user", data)
    clash = host.find_user(new)
    if clash is not None and clash is not user:
        return failure("rename_user", f"another account is already named '{clash.name}'", "invalid_input")
    if before["signed_in"] and not params.get("Force"):
        message = f"{signed_in_text(before)}; sign the user out or use --force"
        return failure("rename_user", message, "invalid_input", data=data)
    notes = [signed_in_text(before)] if before["profile_loaded"] and not before["signed_in"] else []
    data["planned"] = [f"rename '{user.name}' to '{new}' (SID {before['sid']} and profile folder unchanged)"]
    if whatif:
        return document("rename_user", data, status="changed")
    entry = {"sid": before["sid"], "old_name": user.name, "new_name": new, "profile_path": user.profile_path}
    data["backups"] = [save_lab_backup(host, run_id, "rename", entry)]
    user.name = new
    after = lab_account(host, user.name)
    assert after is not None
    if host.windows_faults.rename_readback_stale:
        # The rename applied, but reads keep showing the old name: "changed, then failed" (issue 10, defect 5).
        after = {**after, "name": before["name"]}
        data["after"] = after
        message = f"after the rename the account with SID {before['sid']} is named '{before['name']}', not '{new}'"
        return failure("rename_user", message, "verify_failed", data=data, changed=True)
    data["after"] = after
    data["notes"] = [
        *notes,
        f"SID unchanged: {after['sid']}",
        f"profile folder unchanged: {after['profile_path']} (Windows does not rename it; see 'jcfix diagnose')",
    ]
    return document("rename_user", data, status="changed", changed=True)


ACTION = Action(
    name="rename_user",
    template="rename_user.ps1.j2",
    version=2,
    summary="Rename a local account to the exact JumpCloud username (spaces, letter case); SID and profile kept.",
    params=(
        user_param(),
        Param(
            "NewName",
            required=True,
            flag=("--to", "--to-jc-user"),
            help="the exact JumpCloud username",
            validate=_check_new_name,
        ),
        run_id_param(),
        Param("Force", kind="bool", flag="--force", help="rename even while the user is signed in"),
    ),
    result_model=FixData,
    changes_state=True,
    simulate=simulate,
    command="rename",
)
