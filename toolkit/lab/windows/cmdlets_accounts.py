"""Microsoft.PowerShell.LocalAccounts (Get-LocalUser, Get-LocalGroup, Get-LocalGroupMember, Rename-LocalUser,
Set-LocalUser) and the service cmdlets, as 5.1 runs them.

Sources: PowerShell/PowerShell ``src/Microsoft.PowerShell.LocalAccounts`` (LocalUser.cs, LocalPrincipal.cs:
``PrincipalSource`` Unknown 0, Local 1, ActiveDirectory 2, AzureAD 3, MicrosoftAccount 4; Exceptions.cs: the
error id is the exception name without "Exception"; Strings.resx: "User {0} was not found.", "The name {0} is
already in use.", "Access denied.", "Rename local user to {0}", "Modify local user"). A password the policy
refuses raises InvalidPasswordException with the system message of ERROR_PASSWORD_RESTRICTION (1325).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandError, CommandSpec, DotNetEnum, DotNetObject, ErrorSpec
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows.accounts import LocalAccount
from toolkit.lab.windows.cmdlet_support import as_list, machine_of, param, text
from toolkit.lab.windows.dotnet_security import security_identifier
from toolkit.lab.windows.machine import WindowsMachine

MODULE = "Microsoft.PowerShell.LocalAccounts"
DOCS = "https://learn.microsoft.com/powershell/module/microsoft.powershell.localaccounts/"
PRINCIPAL_SOURCES = {"Unknown": 0, "Local": 1, "ActiveDirectory": 2, "AzureAD": 3, "MicrosoftAccount": 4}
PASSWORD_RESTRICTION = (
    "Unable to update the password. The value provided for the new password does not meet the length, "
    "complexity, or history requirements of the domain."
)
FORBIDDEN = set('"/\\[]:;|=,+*?<>@')


def _error(exception: str, message: str, category: str, target: Any) -> ErrorSpec:
    return ErrorSpec(message, exception, category, f"Microsoft.PowerShell.Commands.{exception}Exception", target)


def local_user(machine: WindowsMachine, account: LocalAccount) -> DotNetObject:
    """A LocalUser object."""
    state = machine.state
    source = state.sam.principal_source(account)
    name = state.display_name(account)
    return DotNetObject(
        ["Microsoft.PowerShell.Commands.LocalUser", "Microsoft.PowerShell.Commands.LocalPrincipal"],
        {
            "Name": name,
            "FullName": account.full_name,
            "Description": account.description,
            "SID": security_identifier(state, state.sam.sid_of(account)),
            "Enabled": account.enabled,
            "PrincipalSource": DotNetEnum(
                "Microsoft.PowerShell.Commands.PrincipalSource", source, PRINCIPAL_SOURCES[source]
            ),
            "ObjectClass": "User",
            "LastLogon": account.last_logon,
            "PasswordLastSet": account.password_last_set,
            "AccountExpires": None,
            "PasswordChangeableDate": account.password_last_set,
            "PasswordExpires": None,
            "PasswordRequired": True,
            "UserMayChangePassword": True,
        },
        to_string=name,
    )


def _sid_text(value: Any) -> str:
    if isinstance(value, DotNetObject) and "Value" in value.properties:
        return str(value.get("Value"))
    return str(value)


def _targets(call: CommandCall) -> Iterator[LocalAccount]:
    """The accounts named by -Name (wildcards) / -SID / -InputObject / pipeline; UserNotFound otherwise."""
    sam = machine_of(call).state.sam
    if "SID" in call.bound:
        for value in as_list(call.bound["SID"]):
            account = sam.by_sid(_sid_text(value))
            if account is None:
                call.write_error(
                    _error(
                        "UserNotFound", f"User {_sid_text(value)} was not found.", "ObjectNotFound", _sid_text(value)
                    )
                )
            else:
                yield account
        return
    names = as_list(call.bound.get("Name")) or [
        item.get("Name") if isinstance(item, DotNetObject) else item
        for item in as_list(call.bound.get("InputObject") or call.input)
    ]
    if not names and "Name" not in call.bound:
        yield from sam.ordered()
        return
    for name in (str(n) for n in names):
        found = (
            [a for a in sam.ordered() if pv.matches(a.name, name)]
            if pv.has_wildcards(name)
            else [a for a in [sam.by_name(name)] if a is not None]
        )
        if not found and not pv.has_wildcards(name):
            call.write_error(_error("UserNotFound", f"User {name} was not found.", "ObjectNotFound", name))
        yield from found


def _get_local_user(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    for account in _targets(call):
        yield local_user(machine, account)


def _require_admin(machine: WindowsMachine, target: Any) -> None:
    if not machine.token.is_admin:
        raise CommandError(_error("AccessDenied", "Access denied.", "PermissionDenied", target))


def rename_account(machine: WindowsMachine, account: LocalAccount, new_name: str) -> str:
    """Rename through the SAM: ``ok``, ``access_denied``, ``invalid`` or ``in_use`` (a case-only rename of the
    account itself is allowed: Windows compares names without case)."""
    state = machine.state
    if not machine.token.is_admin:
        return "access_denied"
    if (
        not new_name
        or len(new_name) > 20
        or set(new_name) & FORBIDDEN
        or new_name.endswith(".")
        or new_name.strip(". ") == ""
    ):
        return "invalid"
    other = state.sam.by_name(new_name)
    group = any(g.name.lower() == new_name.lower() for g in state.sam.groups.values())
    if (other is not None and other is not account) or group:
        return "in_use"
    old = account.name
    state.sam.rename(account, new_name)
    if state.faults.rename_readback_stale:
        state.stale_names[account.rid] = old
    return "ok"


def _rename_local_user(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    new_name = text(call, "NewName") or ""
    for account in list(_targets(call)):
        if not call.should_process(account.name, f"Rename local user to {new_name}"):
            continue
        outcome = rename_account(machine, account, new_name)
        if outcome == "access_denied":
            call.write_error(_error("AccessDenied", "Access denied.", "PermissionDenied", account.name))
        elif outcome == "invalid":
            call.write_error(_error("InvalidName", f"The name {new_name} is invalid.", "InvalidArgument", new_name))
        elif outcome == "in_use":
            call.write_error(
                _error("NameInUse", f"The name {new_name} is already in use.", "InvalidArgument", new_name)
            )
    yield from ()


def plain_password(value: Any) -> str:
    """The clear text of a SecureString however the engine represents it."""
    for attribute in ("reveal", "decrypt", "plain_text", "to_plain"):
        method = getattr(value, attribute, None)
        if callable(method):
            return str(method())
    for attribute in ("plain", "value", "text"):
        found = getattr(value, attribute, None)
        if isinstance(found, str):
            return found
    return "" if value is None else str(value)


def _set_local_user(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    state = machine.state
    for account in list(_targets(call)):
        if not call.should_process(account.name, "Modify local user"):
            continue
        _require_admin(machine, account.name)
        if "Password" in call.bound:
            password = plain_password(call.bound["Password"])
            if state.faults.password_rejected or state.sam.policy.problems(account.name, password):
                call.write_error(_error("InvalidPassword", PASSWORD_RESTRICTION, "InvalidArgument", None))
                continue
            account.password = password
            account.password_last_set = state.clock
        if "FullName" in call.bound:
            account.full_name = str(call.bound["FullName"])
        if "Description" in call.bound:
            account.description = str(call.bound["Description"])
    yield from ()


def _group_object(machine: WindowsMachine, sid: str, name: str, description: str) -> DotNetObject:
    return DotNetObject(
        ["Microsoft.PowerShell.Commands.LocalGroup", "Microsoft.PowerShell.Commands.LocalPrincipal"],
        {
            "Name": name,
            "SID": security_identifier(machine.state, sid),
            "Description": description,
            "ObjectClass": "Group",
            "PrincipalSource": DotNetEnum("Microsoft.PowerShell.Commands.PrincipalSource", "Local", 1),
        },
        to_string=name,
    )


def _get_local_group(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    groups = list(machine.state.sam.groups.values())
    names = [str(n) for n in as_list(call.bound.get("Name"))]
    if not names:
        for group in groups:
            yield _group_object(machine, group.sid, group.name, group.description)
        return
    for name in names:
        found = [g for g in groups if pv.matches(g.name, name)]
        if not found and not pv.has_wildcards(name):
            call.write_error(_error("GroupNotFound", f"Group {name} was not found.", "ObjectNotFound", name))
        for group in found:
            yield _group_object(machine, group.sid, group.name, group.description)


def _get_local_group_member(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    state = machine.state
    name = text(call, "Group") or text(call, "Name") or ""
    group = next((g for g in state.sam.groups.values() if g.name.lower() == name.lower()), None)
    if group is None:
        raise CommandError(_error("GroupNotFound", f"Group {name} was not found.", "ObjectNotFound", name))
    for account in state.sam.members(group.sid):
        source = state.sam.principal_source(account)
        yield DotNetObject(
            ["Microsoft.PowerShell.Commands.LocalPrincipal"],
            {
                "Name": f"{state.netbios_name}\\{state.display_name(account)}",
                "ObjectClass": "User",
                "SID": security_identifier(state, state.sam.sid_of(account)),
                "PrincipalSource": DotNetEnum(
                    "Microsoft.PowerShell.Commands.PrincipalSource", source, PRINCIPAL_SOURCES[source]
                ),
            },
        )


USER_PARAMS = (
    param("Name", "string[]", 0, pipeline=True, sets=("Default",)),
    param("SID", "object[]", sets=("SecurityIdentifier",)),
    param("InputObject", "object", sets=("InputObject",)),
)

COMMANDS = [
    CommandSpec(
        "Get-LocalUser",
        MODULE,
        "cmdlet",
        USER_PARAMS,
        False,
        _get_local_user,
        DOCS + "get-localuser?view=powershell-5.1",
    ),
    CommandSpec(
        "Rename-LocalUser",
        MODULE,
        "cmdlet",
        (*USER_PARAMS, param("NewName", "string", 1, mandatory=True)),
        True,
        _rename_local_user,
        DOCS + "rename-localuser?view=powershell-5.1",
    ),
    CommandSpec(
        "Set-LocalUser",
        MODULE,
        "cmdlet",
        (*USER_PARAMS, param("Password", "securestring"), param("FullName", "string"), param("Description", "string")),
        True,
        _set_local_user,
        DOCS + "set-localuser?view=powershell-5.1",
    ),
    CommandSpec(
        "Get-LocalGroup",
        MODULE,
        "cmdlet",
        (param("Name", "string[]", 0), param("SID", "object[]")),
        False,
        _get_local_group,
        DOCS + "get-localgroup?view=powershell-5.1",
    ),
    CommandSpec(
        "Get-LocalGroupMember",
        MODULE,
        "cmdlet",
        (param("Group", "object", 0), param("Name", "string")),
        False,
        _get_local_group_member,
        DOCS + "get-localgroupmember?view=powershell-5.1",
    ),
]
