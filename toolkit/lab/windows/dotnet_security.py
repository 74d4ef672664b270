"""The .NET security types a script builds or reads: SecurityIdentifier, NTAccount, FileSystemAccessRule,
DirectorySecurity / FileSecurity (learn.microsoft.com/dotnet/api/system.security.accesscontrol and
.../system.security.principal), bound to the machine so names translate to SIDs and back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.lab.powershell.contract import DotNetEnum, DotNetObject
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.errors import dotnet_throw
from toolkit.lab.windows.security import Ace, SecurityDescriptor

if TYPE_CHECKING:
    from toolkit.lab.windows.state import WindowsState

SID_TYPE = "System.Security.Principal.SecurityIdentifier"
NTACCOUNT_TYPE = "System.Security.Principal.NTAccount"
NOT_MAPPED = "Some or all identity references could not be translated."


def type_name_of(value: Any) -> str:
    """The full name of a type argument (``[System.Security.Principal.SecurityIdentifier]``) however the
    engine passes it: a string, or an object with ``full_name``/``type_name``/``name``."""
    for attribute in ("full_name", "type_name", "name"):
        found = getattr(value, attribute, None)
        if isinstance(found, str):
            return found
    return str(value)


def wants_sid(type_arg: Any) -> bool:
    return type_name_of(type_arg).lower().endswith("securityidentifier")


def security_identifier(state: WindowsState, value: str) -> DotNetObject:
    """``New-Object System.Security.Principal.SecurityIdentifier 'S-1-...'``."""
    if not value.upper().startswith("S-1-"):
        dotnet_throw("System.ArgumentException", "Value was invalid.\r\nParameter name: sddlForm")
    sid = "S-" + value[2:]
    prefix, _, _ = sid.rpartition("-")
    domain_sid = prefix if sid.startswith("S-1-5-21-") and sid.count("-") == 7 else None

    def translate(type_arg: Any) -> DotNetObject:
        if wants_sid(type_arg):
            return security_identifier(state, sid)
        found = state.lookup_sid(sid)
        if found is None:
            dotnet_throw("System.Security.Principal.IdentityNotMappedException", NOT_MAPPED)
        domain, name = found
        return nt_account(state, f"{domain}\\{name}" if domain else name)

    return DotNetObject(
        [SID_TYPE, "System.Security.Principal.IdentityReference"],
        {
            "Value": sid,
            "AccountDomainSid": (lambda: security_identifier(state, domain_sid)) if domain_sid else None,
            "BinaryLength": 8 + 4 * (sid.count("-") - 2),
        },
        {
            "Translate": translate,
            "ToString": lambda: sid,
            "Equals": lambda other: str(getattr(other, "properties", {}).get("Value", other)).upper() == sid.upper(),
            "IsWellKnown": lambda kind: False,
            "IsAccountSid": lambda: sid.startswith("S-1-5-21-"),
        },
        to_string=sid,
    )


def nt_account(state: WindowsState, name: str, domain: str | None = None) -> DotNetObject:
    """``New-Object System.Security.Principal.NTAccount 'DOMAIN\\name'`` (or domain, name)."""
    text = f"{domain}\\{name}" if domain else name

    def translate(type_arg: Any) -> DotNetObject:
        if not wants_sid(type_arg):
            return nt_account(state, text)
        sid = state.lookup_name(text)
        if sid is None:
            dotnet_throw("System.Security.Principal.IdentityNotMappedException", NOT_MAPPED)
        return security_identifier(state, sid)

    return DotNetObject(
        [NTACCOUNT_TYPE, "System.Security.Principal.IdentityReference"],
        {"Value": text},
        {"Translate": translate, "ToString": lambda: text},
        to_string=text,
    )


def identity_to_sid(state: WindowsState, identity: Any) -> str:
    """A rule's identity (SecurityIdentifier, NTAccount or a name string) as a SID string."""
    if isinstance(identity, DotNetObject):
        value = str(identity.get("Value"))
        if SID_TYPE in identity.type_names:
            return value
        identity = value
    text = str(identity)
    if text.upper().startswith("S-1-"):
        return text.upper().replace("S-1-", "S-1-", 1)
    sid = state.lookup_name(text)
    if sid is None:
        dotnet_throw("System.Security.Principal.IdentityNotMappedException", NOT_MAPPED)
    return sid


def account_text(state: WindowsState, sid: str) -> str:
    """``DOMAIN\\name`` for a SID, or the SID itself when it does not translate (as Get-Acl shows it)."""
    found = state.lookup_sid(sid)
    if found is None:
        return sid
    domain, name = found
    return f"{domain}\\{name}" if domain else name


def _enum(type_name: str, value: int, names: dict[int, str]) -> DotNetEnum:
    return DotNetEnum(type_name, sec.flags_to_string(value, names), value)


def access_rule(state: WindowsState, ace: Ace, identity_as_sid: bool = False) -> DotNetObject:
    """A FileSystemAccessRule object for an ACE."""
    identity = (
        security_identifier(state, ace.sid) if identity_as_sid else nt_account(state, account_text(state, ace.sid))
    )
    return DotNetObject(
        ["System.Security.AccessControl.FileSystemAccessRule", "System.Security.AccessControl.AccessRule"],
        {
            "FileSystemRights": _enum(
                "System.Security.AccessControl.FileSystemRights", ace.rights, sec.FILE_RIGHT_NAMES
            ),
            "AccessControlType": DotNetEnum(
                "System.Security.AccessControl.AccessControlType",
                "Allow" if ace.allow else "Deny",
                0 if ace.allow else 1,
            ),
            "IdentityReference": identity,
            "IsInherited": ace.inherited,
            "InheritanceFlags": _enum(
                "System.Security.AccessControl.InheritanceFlags",
                ace.inheritance,
                {1: "ContainerInherit", 2: "ObjectInherit"},
            ),
            "PropagationFlags": _enum(
                "System.Security.AccessControl.PropagationFlags",
                ace.propagation,
                {1: "NoPropagateInherit", 2: "InheritOnly"},
            ),
        },
        to_string="System.Security.AccessControl.FileSystemAccessRule",
    )


def new_access_rule(state: WindowsState, args: list[Any]) -> DotNetObject:
    """``New-Object FileSystemAccessRule(identity, rights, [inheritance, propagation,] type)``."""
    if len(args) not in (3, 5):
        dotnet_throw(
            "System.Management.Automation.MethodException",
            f'Cannot find an overload for "FileSystemAccessRule" and the argument count: "{len(args)}".',
        )
    try:
        rights = sec.parse_flags(args[1], sec.FILE_RIGHTS, "System.Security.AccessControl.FileSystemRights")
        inheritance = sec.parse_flags(args[2], sec.INHERITANCE_FLAGS, "InheritanceFlags") if len(args) == 5 else 0
        propagation = sec.parse_flags(args[3], sec.PROPAGATION_FLAGS, "PropagationFlags") if len(args) == 5 else 0
        kind = sec.parse_flags(args[-1], sec.ACCESS_TYPES, "System.Security.AccessControl.AccessControlType")
    except ValueError as exc:
        dotnet_throw("System.Management.Automation.PSInvalidCastException", str(exc))
    ace = Ace(identity_to_sid(state, args[0]), rights, kind == 0, inheritance, propagation)
    rule = access_rule(state, ace)
    rule.properties["IdentityReference"] = (
        args[0] if isinstance(args[0], DotNetObject) else nt_account(state, str(args[0]))
    )
    rule.lab["ace"] = ace
    return rule


def ace_of(rule: Any) -> Ace:
    found = rule.lab.get("ace") if isinstance(rule, DotNetObject) else None
    if isinstance(found, Ace):
        return found
    dotnet_throw("System.ArgumentException", "The rule is not a FileSystemAccessRule.")


class _AclState:
    """The mutable content of a DirectorySecurity/FileSecurity, and which sections were set."""

    def __init__(self, state: WindowsState, sd: SecurityDescriptor | None) -> None:
        self.state = state
        self.owner: str | None = sd.owner if sd else None
        self.dacl: list[Ace] = list(sd.dacl) if sd else []
        self.protected = sd.protected if sd else False
        self.owner_modified = False
        self.dacl_modified = False

    def add_rule(self, rule: Any) -> None:
        """AddAccessRule: merges rights into an explicit ACE of the same identity, type and flags."""
        ace = ace_of(rule)
        for index, old in enumerate(self.dacl):
            if (old.sid, old.allow, old.inheritance, old.propagation, old.inherited) == (
                ace.sid,
                ace.allow,
                ace.inheritance,
                ace.propagation,
                False,
            ):
                self.dacl[index] = Ace(ace.sid, old.rights | ace.rights, ace.allow, ace.inheritance, ace.propagation)
                break
        else:
            self.dacl.append(ace)
        self.dacl_modified = True

    def set_rule(self, rule: Any) -> None:
        """SetAccessRule: replaces the explicit ACEs of that identity and type."""
        ace = ace_of(rule)
        self.dacl = [a for a in self.dacl if a.inherited or a.sid != ace.sid or a.allow != ace.allow] + [ace]
        self.dacl_modified = True

    def remove_sid(self, sid: str) -> None:
        self.dacl = [a for a in self.dacl if a.inherited or a.sid != sid]
        self.dacl_modified = True

    def set_protection(self, is_protected: Any, preserve: Any) -> None:
        """SetAccessRuleProtection: protect, and keep inherited ACEs as explicit ones or drop them."""
        self.protected = bool(is_protected)
        if is_protected and preserve:
            self.dacl = [Ace(a.sid, a.rights, a.allow, a.inheritance, a.propagation) for a in self.dacl]
        elif is_protected:
            self.dacl = [a for a in self.dacl if not a.inherited]
        self.dacl_modified = True

    def set_owner(self, identity: Any) -> None:
        self.owner = identity_to_sid(self.state, identity)
        self.owner_modified = True

    def get_owner(self, type_arg: Any) -> DotNetObject | None:
        if self.owner is None:
            return None
        if wants_sid(type_arg):
            return security_identifier(self.state, self.owner)
        return nt_account(self.state, account_text(self.state, self.owner))

    def get_rules(self, explicit: Any, inherited: Any, type_arg: Any) -> list[DotNetObject]:
        chosen = [a for a in self.dacl if (a.inherited and inherited) or (not a.inherited and explicit)]
        return [access_rule(self.state, a, identity_as_sid=wants_sid(type_arg)) for a in chosen]


def acl_object(
    state: WindowsState, sd: SecurityDescriptor | None, is_dir: bool, path: str | None = None
) -> DotNetObject:
    """A DirectorySecurity/FileSecurity: a mutable copy of a security descriptor with the .NET methods.

    ``New-Object DirectorySecurity`` starts with no owner and an empty, unprotected DACL; setting the owner
    or adding rules marks that section as modified, so Set-Acl and CreateDirectory write only what was set.
    """
    acl = _AclState(state, sd)
    type_name = "System.Security.AccessControl." + ("DirectorySecurity" if is_dir else "FileSecurity")
    obj = DotNetObject(
        [type_name, "System.Security.AccessControl.FileSystemSecurity", "System.Security.AccessControl.ObjectSecurity"],
        {
            "Owner": lambda: account_text(state, acl.owner) if acl.owner else None,
            "Access": lambda: [access_rule(state, a) for a in acl.dacl],
            "AreAccessRulesProtected": lambda: acl.protected,
            "Path": path,
        },
        {
            "AddAccessRule": acl.add_rule,
            "SetAccessRule": acl.set_rule,
            "RemoveAccessRuleAll": lambda rule: acl.remove_sid(ace_of(rule).sid),
            "PurgeAccessRules": lambda identity: acl.remove_sid(identity_to_sid(state, identity)),
            "SetAccessRuleProtection": acl.set_protection,
            "SetOwner": acl.set_owner,
            "GetOwner": acl.get_owner,
            "GetAccessRules": acl.get_rules,
        },
        to_string=type_name,
    )
    obj.lab["acl"] = acl
    return obj


def descriptor_of(acl: Any) -> tuple[SecurityDescriptor, bool, bool]:
    """``(descriptor, owner set, DACL set)`` of a DirectorySecurity/FileSecurity object."""
    found = acl.lab.get("acl") if isinstance(acl, DotNetObject) else None
    if not isinstance(found, _AclState):
        dotnet_throw("System.ArgumentException", "The security object is not a FileSystemSecurity.")
    sd = SecurityDescriptor(found.owner or "", list(found.dacl), found.protected)
    return sd, found.owner_modified, found.dacl_modified
