"""``convert_msa`` (``jcfix fix convert-msa``): from Microsoft-account-linked to a plain local account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolkit.actions import Action, Param
from toolkit.actions._fixbase import (
    BACKUP_ROOT,
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
from toolkit.secrets import Secret

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost, LabUser

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


# The Microsoft-account values the SYSTEM task removes from a linked account's SAM entry (research §2).
SAM_VALUES = ("InternetUserName", "InternetUID", "InternetSID", "InternetProviderGUID")
# What Windows answers when a password change breaks the policy (NERR_PasswordTooShort, 2245).
POLICY_REJECTION = (
    "The password does not meet the password policy requirements. Check the minimum password length, password "
    "complexity and password history requirements."
)


def password_problems(password: str, account: str, min_length: int, complexity: bool) -> list[str]:
    """``Test-JcfixPasswordPolicy``: why ``password`` breaks the policy (empty when it does not)."""
    problems = []
    if len(password) < min_length:
        problems.append(f"is shorter than the minimum length ({min_length})")
    if not complexity:
        return problems
    if len(account) > 2 and account.lower() in password.lower():
        problems.append("contains the account name")
    classes = sum(
        (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 3:
        problems.append("does not have three of: upper case, lower case, digits, symbols (complexity is on)")
    return problems


def _refusal(host: LabHost, params: Mapping[str, Any], data: dict[str, Any]) -> str | None:
    """The unlink's preconditions, in the script's order; the refusal message or None."""
    before = data["before"]
    if not params.get("AcceptDataLoss"):
        return "unlinking can lose the user's saved credentials, DPAPI data and EFS files: give --accept-data-loss"
    password = params.get("NewPassword")
    if not password:
        return "unlinking needs the new local password (JCFIX_NEW_PASSWORD)"
    if before["signed_in"] or before["profile_loaded"]:
        return f"{signed_in_text(before)}; sign the user out first (a loaded profile unloads at sign-out or restart)"
    text = password.reveal() if isinstance(password, Secret) else str(password)
    policy = host.password_policy
    problems = password_problems(text, before["name"], policy.min_length, policy.complexity)
    if problems:
        joined = "; ".join(problems)
        return f"the new password does not meet this host's password policy: it {joined}; nothing was changed"
    return None


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    name, run_id, method = params["UserName"], params["RunId"], params.get("Method", "guided")
    if not host.elevated:
        return failure("convert_msa", not_elevated_message(), "invalid_input")
    data = fix_data(name, whatif=whatif)
    refused = untrusted_folder_message(host, run_id)
    if refused is not None:
        return failure("convert_msa", refused, "invalid_input", data=data)
    before = lab_account(host, name)
    if before is None:
        return failure("convert_msa", f"no local account named '{name}'", "invalid_input", data=data)
    user = host.find_user(name)
    assert user is not None
    data.update(sid=before["sid"], before=before)
    if before["principal_source"] == "Unknown":
        message = (
            "this endpoint cannot tell Microsoft-account links apart (no LocalAccounts module); "
            "use a 64-bit PowerShell endpoint"
        )
        return failure("convert_msa", message, "invalid_input", data=data)
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
    refused = _refusal(host, params, data)
    if refused is not None:
        return failure("convert_msa", refused, "invalid_input", data=data)
    policy = host.password_policy
    data["planned"] = [
        f"remove the Microsoft-account values from the SAM entry of {before['sid']} only (as SYSTEM, saved first)",
        f"set a new local password for '{user.name}' (checked against the password policy: minimum length "
        f"{policy.min_length}, complexity {'on' if policy.complexity else 'off'})",
    ]
    if whatif:
        return document("convert_msa", data, status="changed")
    return _unlink(host, user, data, run_id)


def _unlink(host: LabHost, user: LabUser, data: dict[str, Any], run_id: str) -> dict[str, Any]:
    """The unlink as the SYSTEM task does it, then the password (which a policy fault can refuse)."""
    sid = host.sid_of(user)
    sam_backup = f"{BACKUP_ROOT}\\{run_id}\\msa_unlink-{user.rid}.sam.json"
    path = save_lab_backup(host, run_id, "msa_unlink", {"sid": sid, "name": user.name, "sam_backup": sam_backup})
    user.principal_source = "Local"
    user.msa_email = None
    data["backups"] = [path, sam_backup]
    data["notes"] = [f"removed: {', '.join(SAM_VALUES)}"]
    if host.windows_faults.password_rejected:
        # The unlink is done and cannot be taken back; the password step fails: "changed, then failed".
        return failure("convert_msa", POLICY_REJECTION, "script_failed", data=data, changed=True)
    data["after"] = lab_account(host, user.name)
    data["notes"].append(
        "the user signs in with the new local password; JumpCloud takes the account over at its next sync"
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
    version=2,
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
