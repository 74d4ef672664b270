"""``convert_msa`` (``jcfix fix convert-msa``): from Microsoft-account-linked to a plain local account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolkit.actions import Action, Param
from toolkit.actions._fixbase import FixData, fix_data, lab_account, run_id_param, save_lab_backup, user_param
from toolkit.lab.documents import document, failure

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost

METHODS = ("guided", "unlink")


def guided_steps(account: str) -> list[str]:
    """The steps the user follows, as the script lists them (for a ticket)."""
    return [
        f"1. Sign in to Windows as '{account}' (with the Microsoft account, as usual).",
        "2. Open Settings > Accounts > Your info.",
        "3. Select 'Sign in with a local account instead' and confirm with the Microsoft account password or PIN.",
        f"4. For the user name enter '{account}' (the JumpCloud username, not the full name) and choose a password.",
        "5. Select 'Sign out and finish', then sign in again with the new local password.",
        "6. Tell IT: they run 'jcfix diagnose' to confirm the account is now local.",
    ]


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    name, run_id, method = params["UserName"], params["RunId"], params.get("Method", "guided")
    before = lab_account(host, name)
    if before is None:
        return failure("convert_msa", f"no local account named '{name}'", "invalid_input")
    user = host.find_user(name)
    assert user is not None
    data = fix_data(name, whatif=whatif)
    data.update(sid=before["sid"], before=before)
    if before["principal_source"] == "Unknown":
        return failure(
            "convert_msa",
            "this endpoint cannot tell Microsoft-account links apart (no LocalAccounts module); "
            "use a 64-bit PowerShell endpoint",
            "invalid_input",
        )
    if before["principal_source"] != "MicrosoftAccount":
        data.update(
            after=before, notes=[f"'{user.name}' is already a plain local account ({before['principal_source']})"]
        )
        return document("convert_msa", data)
    if method == "guided":
        data.update(
            planned=guided_steps(user.name),
            after=before,
            notes=["nothing was changed: the user converts the account; pending until jcfix diagnose shows it local"],
        )
        return document("convert_msa", data, status="pending")
    if not params.get("AcceptDataLoss"):
        message = "unlinking can lose the user's saved credentials, DPAPI data and EFS files: give --accept-data-loss"
        return failure("convert_msa", message, "invalid_input")
    if not params.get("NewPassword"):
        return failure("convert_msa", "unlinking needs the new local password (JCFIX_NEW_PASSWORD)", "invalid_input")
    if before["signed_in"]:
        message = f"'{user.name}' is signed in (or its profile is loaded); sign the user out first"
        return failure("convert_msa", message, "invalid_input")
    data["planned"] = [
        f"remove the Microsoft-account values from the SAM entry of {before['sid']} only (as SYSTEM, saved first)",
        f"set a new local password for '{user.name}'",
    ]
    if whatif:
        return document("convert_msa", data, status="changed")
    entry = {"sid": before["sid"], "name": user.name, "sam_values": {"InternetUserName": user.msa_email}}
    path = save_lab_backup(host, run_id, "msa_unlink", entry)
    user.principal_source = "Local"
    user.msa_email = None
    data.update(
        backups=[path, path.replace(".json", ".sam.json")],
        after=lab_account(host, name),
        notes=[
            "removed: InternetUserName, InternetUID, InternetSID, InternetProviderGUID",
            "the user signs in with the new local password; JumpCloud takes the account over at its next sync",
        ],
    )
    return document("convert_msa", data, status="changed", changed=True)


def _check_method(value: str) -> None:
    if value not in METHODS:
        raise ValueError(f"must be one of {', '.join(METHODS)}")


def _unlinking(values: Mapping[str, Any]) -> bool:
    return values.get("Method") == "unlink"


def _preflight(values: Mapping[str, Any]) -> None:
    if _unlinking(values) and not values.get("AcceptDataLoss"):
        raise ValueError(
            "--method unlink can lose the user's saved credentials, DPAPI-protected data and EFS files: "
            "give --accept-data-loss to go ahead"
        )


ACTION = Action(
    name="convert_msa",
    template="convert_msa.ps1.j2",
    version=1,
    summary="Convert a Microsoft-account-linked account to local: guided steps (default) or unlink as SYSTEM.",
    params=(
        user_param(),
        run_id_param(),
        Param("Method", flag="--method", default="guided", help="guided (default) or unlink", validate=_check_method),
        Param("AcceptDataLoss", kind="bool", flag="--accept-data-loss", help="required with --method unlink"),
        Param(
            "NewPassword",
            kind="secret",
            env="JCFIX_NEW_PASSWORD",
            help="new local password (from JCFIX_NEW_PASSWORD, the keyring or a prompt)",
            required_when=_unlinking,
        ),
    ),
    result_model=FixData,
    changes_state=True,
    simulate=simulate,
    command="convert-msa",
    preflight=_preflight,
)
