"""Security on the simulated Windows machine: SIDs, access tokens, ACEs, security descriptors, access checks.

Only what the lab needs, modelled on Windows' own rules:
- well-known SIDs and their account names
  (learn.microsoft.com/windows-server/identity/ad-ds/manage/understand-security-identifiers);
- ``FileSystemRights`` / ``InheritanceFlags`` / ``PropagationFlags`` with .NET's numeric values
  (learn.microsoft.com/dotnet/api/system.security.accesscontrol.filesystemrights);
- DACL evaluation: explicit deny before allow in canonical order, the owner's implicit READ_CONTROL and
  WRITE_DAC (learn.microsoft.com/windows/win32/secauthz/how-dacls-control-access-to-an-object);
- inheritance on creation, CREATOR OWNER replaced by the new object's owner
  (learn.microsoft.com/windows/win32/secauthz/ace-inheritance-rules);
- the default owner of objects created by a member of Administrators is the Administrators group
  (learn.microsoft.com/windows/win32/ad/how-security-descriptors-are-set-on-new-directory-objects).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

SYSTEM = "S-1-5-18"
LOCAL_SERVICE = "S-1-5-19"
NETWORK_SERVICE = "S-1-5-20"
ADMINISTRATORS = "S-1-5-32-544"
USERS = "S-1-5-32-545"
GUESTS = "S-1-5-32-546"
EVERYONE = "S-1-1-0"
CREATOR_OWNER = "S-1-3-0"
AUTHENTICATED_USERS = "S-1-5-11"
INTERACTIVE = "S-1-5-4"
NETWORK = "S-1-5-2"
TRUSTED_INSTALLER = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"

# Well-known SIDs -> (domain, name) as NTAccount.Translate gives them on an English system.
WELL_KNOWN: dict[str, tuple[str, str]] = {
    SYSTEM: ("NT AUTHORITY", "SYSTEM"),
    LOCAL_SERVICE: ("NT AUTHORITY", "LOCAL SERVICE"),
    NETWORK_SERVICE: ("NT AUTHORITY", "NETWORK SERVICE"),
    ADMINISTRATORS: ("BUILTIN", "Administrators"),
    USERS: ("BUILTIN", "Users"),
    GUESTS: ("BUILTIN", "Guests"),
    EVERYONE: ("", "Everyone"),
    CREATOR_OWNER: ("", "CREATOR OWNER"),
    AUTHENTICATED_USERS: ("NT AUTHORITY", "Authenticated Users"),
    INTERACTIVE: ("NT AUTHORITY", "INTERACTIVE"),
    NETWORK: ("NT AUTHORITY", "NETWORK"),
    TRUSTED_INSTALLER: ("NT SERVICE", "TrustedInstaller"),
}

# FileSystemRights (System.Security.AccessControl), numeric values as .NET defines them.
FILE_RIGHTS: dict[str, int] = {
    "ListDirectory": 1, "ReadData": 1, "CreateFiles": 2, "WriteData": 2, "AppendData": 4, "CreateDirectories": 4,
    "ReadExtendedAttributes": 8, "WriteExtendedAttributes": 16, "ExecuteFile": 32, "Traverse": 32,
    "DeleteSubdirectoriesAndFiles": 64, "ReadAttributes": 128, "WriteAttributes": 256, "Write": 278,
    "Delete": 65536, "ReadPermissions": 131072, "Read": 131209, "ReadAndExecute": 131241, "Modify": 197055,
    "ChangePermissions": 262144, "TakeOwnership": 524288, "Synchronize": 1048576, "FullControl": 2032127,
}  # fmt: skip
# The names .NET's Enum.ToString picks for a flags value: one name per value (the last declared wins in
# .NET's sorted lookup; these are the ones PowerShell prints for FileSystemRights).
FILE_RIGHT_NAMES: dict[int, str] = {
    1: "ReadData", 2: "CreateFiles", 4: "AppendData", 8: "ReadExtendedAttributes", 16: "WriteExtendedAttributes",
    32: "ExecuteFile", 64: "DeleteSubdirectoriesAndFiles", 128: "ReadAttributes", 256: "WriteAttributes",
    278: "Write", 65536: "Delete", 131072: "ReadPermissions", 131209: "Read", 131241: "ReadAndExecute",
    197055: "Modify", 262144: "ChangePermissions", 524288: "TakeOwnership", 1048576: "Synchronize",
    2032127: "FullControl",
}  # fmt: skip
INHERITANCE_FLAGS = {"None": 0, "ContainerInherit": 1, "ObjectInherit": 2}
PROPAGATION_FLAGS = {"None": 0, "NoPropagateInherit": 1, "InheritOnly": 2}
ACCESS_TYPES = {"Allow": 0, "Deny": 1}

READ = FILE_RIGHTS["ReadData"]
WRITE_DATA = FILE_RIGHTS["WriteData"]
APPEND = FILE_RIGHTS["AppendData"]
DELETE = FILE_RIGHTS["Delete"]
DELETE_CHILD = FILE_RIGHTS["DeleteSubdirectoriesAndFiles"]
READ_CONTROL = FILE_RIGHTS["ReadPermissions"]
WRITE_DAC = FILE_RIGHTS["ChangePermissions"]
WRITE_OWNER = FILE_RIGHTS["TakeOwnership"]
FULL = FILE_RIGHTS["FullControl"]


def flags_to_string(value: int, names: dict[int, str]) -> str:
    """A flags enum value as .NET's ``Enum.ToString`` writes it (largest defined values first)."""
    if value in names:
        return names[value]
    parts: list[str] = []
    rest = value
    for number in sorted(names, reverse=True):
        if number and rest & number == number:
            parts.append(names[number])
            rest &= ~number
    if rest or not parts:
        return str(value)
    return ", ".join(reversed(parts))


def parse_flags(value: object, table: dict[str, int], type_name: str) -> int:
    """PowerShell's conversion of a string (``'ContainerInherit,ObjectInherit'``), a number or an enum to flags."""
    if isinstance(value, bool):
        raise ValueError(f"Cannot convert {value!r} to {type_name}")
    if isinstance(value, int):
        return value
    number = getattr(value, "value", None)
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    total = 0
    lowered = {k.lower(): v for k, v in table.items()}
    for part in str(value).split(","):
        name = part.strip().lower()
        if name not in lowered:
            raise ValueError(
                f'Cannot convert value "{value}" to type "{type_name}". Error: "Unable to match the identifier name '
                f'{part.strip()} to a valid enumerator name."'
            )
        total |= lowered[name]
    return total


@dataclass(frozen=True)
class Ace:
    """One access control entry of a DACL."""

    sid: str
    rights: int
    allow: bool = True
    inheritance: int = 0  # InheritanceFlags: ContainerInherit 1, ObjectInherit 2
    propagation: int = 0  # PropagationFlags: NoPropagateInherit 1, InheritOnly 2
    inherited: bool = False

    @property
    def inherit_only(self) -> bool:
        return bool(self.propagation & 2)


@dataclass
class SecurityDescriptor:
    """Owner, DACL and whether the DACL is protected from inheritance."""

    owner: str
    dacl: list[Ace] = field(default_factory=list)
    protected: bool = False

    def copy(self) -> SecurityDescriptor:
        return SecurityDescriptor(self.owner, list(self.dacl), self.protected)


@dataclass(frozen=True)
class Token:
    """An access token: its user, its enabled groups, and whether it is a full (elevated) administrator token.

    A filtered token (UAC remote restrictions, KB 951016) keeps Administrators only as a deny-only group:
    here that means Administrators is not in ``groups``.
    """

    user: str
    groups: frozenset[str]
    elevated: bool = True
    session_id: int = 0

    @property
    def is_admin(self) -> bool:
        return ADMINISTRATORS in self.groups or self.user == SYSTEM

    @property
    def default_owner(self) -> str:
        # Members of Administrators (with the group enabled) get Administrators as the default owner.
        if self.user == SYSTEM:
            return SYSTEM
        return ADMINISTRATORS if ADMINISTRATORS in self.groups else self.user

    def sids(self) -> frozenset[str]:
        return self.groups | {self.user}


def system_token() -> Token:
    """The LocalSystem token (what SYSTEM scheduled tasks and services run with)."""
    return Token(SYSTEM, frozenset({ADMINISTRATORS, EVERYONE, AUTHENTICATED_USERS}), elevated=True)


def user_token(
    user: str, admin: bool, elevated: bool, network: bool, session_id: int = 0, extra: tuple[str, ...] = ()
) -> Token:
    """The token of a signed-in or remote user; a non-elevated admin keeps Administrators deny-only."""
    groups = {EVERYONE, USERS, AUTHENTICATED_USERS, NETWORK if network else INTERACTIVE, *extra}
    if admin and elevated:
        groups.add(ADMINISTRATORS)
    return Token(user, frozenset(groups), elevated=admin and elevated, session_id=session_id)


def granted_access(sd: SecurityDescriptor, token: Token) -> int:
    """The rights ``token`` gets on an object with ``sd`` (DACL walk plus the owner's implicit rights)."""
    sids = token.sids()
    allowed = 0
    denied = 0
    for ace in sd.dacl:
        if ace.inherit_only or ace.sid not in sids:
            continue
        if ace.allow:
            allowed |= ace.rights & ~denied
        else:
            denied |= ace.rights & ~allowed
    if sd.owner in sids:
        # The owner may always read and change the DACL (owner rights without an OWNER RIGHTS ACE).
        allowed |= READ_CONTROL | WRITE_DAC
    return allowed & ~denied


def has_access(sd: SecurityDescriptor, token: Token, wanted: int) -> bool:
    """Whether ``token`` gets every right in ``wanted``."""
    return granted_access(sd, token) & wanted == wanted


def inherit(parent: SecurityDescriptor, owner: str, is_container: bool) -> SecurityDescriptor:
    """The security descriptor of a new child created without an explicit one (ACE inheritance rules).

    CREATOR OWNER ACEs become ACEs for the new owner; an ACE that keeps propagating also stays as an
    inherit-only CREATOR OWNER ACE for grandchildren.
    """
    return SecurityDescriptor(owner, list(_inherited_dacl(tuple(parent.dacl), owner, is_container)), protected=False)


@lru_cache(maxsize=4096)
def _inherited_dacl(parent_dacl: tuple[Ace, ...], owner: str, is_container: bool) -> tuple[Ace, ...]:
    """The inherited ACEs, computed once per parent DACL, owner and kind: a pure function of them. Aces are
    immutable, so every machine's nodes share them (fewer objects for the lab to build and its GC to scan)."""
    dacl: list[Ace] = []
    flag = 1 if is_container else 2
    for ace in parent_dacl:
        no_propagate = bool(ace.propagation & 1)
        if not ace.inheritance & flag:
            if is_container and ace.inheritance & 2 and not no_propagate:
                # An object-inherit-only ACE passes through a folder (inherit-only) to the files below it.
                dacl.append(Ace(ace.sid, ace.rights, ace.allow, ace.inheritance, 2, inherited=True))
            continue
        keeps_propagating = is_container and not no_propagate
        effective_sid = owner if ace.sid == CREATOR_OWNER else ace.sid
        if ace.sid == CREATOR_OWNER:
            dacl.append(Ace(effective_sid, ace.rights, ace.allow, inherited=True))
            if keeps_propagating:
                dacl.append(Ace(CREATOR_OWNER, ace.rights, ace.allow, ace.inheritance, 2, inherited=True))
            continue
        if keeps_propagating:
            dacl.append(Ace(effective_sid, ace.rights, ace.allow, ace.inheritance, 0, inherited=True))
        else:
            dacl.append(Ace(effective_sid, ace.rights, ace.allow, inherited=True))
    return tuple(dacl)


def with_inherited(explicit: SecurityDescriptor, parent: SecurityDescriptor, is_container: bool) -> SecurityDescriptor:
    """An explicit descriptor merged with the parent's inheritable ACEs, unless it is protected."""
    if explicit.protected:
        return SecurityDescriptor(explicit.owner, [replace(a, inherited=False) for a in explicit.dacl], True)
    inherited = inherit(parent, explicit.owner, is_container).dacl
    return SecurityDescriptor(explicit.owner, [replace(a, inherited=False) for a in explicit.dacl] + inherited)


def rights_text(rights: int) -> str:
    """``FileSystemRights`` as PowerShell prints it."""
    return flags_to_string(rights, FILE_RIGHT_NAMES)


def icacls_rights(rights: int) -> str:
    """The short form icacls prints for common rights (F, M, RX, R, W), else the specific letters."""
    simple = {FULL: "F", FILE_RIGHTS["Modify"]: "M", FILE_RIGHTS["ReadAndExecute"]: "RX", FILE_RIGHTS["Read"]: "R"}
    if rights in simple:
        return simple[rights]
    letters = [("WD", 2), ("AD", 4), ("WEA", 16), ("WA", 256), ("D", DELETE), ("DC", DELETE_CHILD)]
    return "(" + ",".join(code for code, bit in letters if rights & bit) + ")"
