"""The simulated registry: hives, keys (names compared without case), typed values, WOW64 views, access.

WOW64 (learn.microsoft.com/windows/win32/winprog64/registry-redirector and .../shared-registry-keys, the
"Windows 7 and newer" column): a 32-bit process that opens ``HKLM\\SOFTWARE\\X`` reaches
``HKLM\\SOFTWARE\\WOW6432Node\\X`` unless X lies under a shared key listed by Microsoft; a few keys under
``SOFTWARE\\Classes`` are redirected to ``SOFTWARE\\Classes\\Wow6432Node``. ``HKEY_USERS\\<SID>\\SOFTWARE`` is
shared except the Classes subkeys (not modelled: scripts here do not read them).

Access: HKLM is readable by every user and writable by administrators with an elevated token and by
SYSTEM (the default DACLs of HKLM\\SOFTWARE and HKLM\\SYSTEM give Users read only). ``HKLM\\SAM\\SAM`` is
readable and writable by SYSTEM only (general Windows knowledge; the fact sheet §2 marks it UNCONFIRMED).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from toolkit.lab.windows.security import Token

ValueKind = Literal["String", "ExpandString", "Binary", "DWord", "MultiString", "QWord"]
VALUE_KINDS: tuple[ValueKind, ...] = ("String", "ExpandString", "Binary", "DWord", "MultiString", "QWord")
# Microsoft.Win32.RegistryValueKind numbers.
VALUE_KIND_NUMBERS: dict[str, int] = {
    "Unknown": 0, "String": 1, "ExpandString": 2, "Binary": 3, "DWord": 4, "MultiString": 7, "QWord": 11, "None": -1,
}  # fmt: skip
HIVES: dict[str, str] = {
    "hklm": "HKEY_LOCAL_MACHINE", "hkey_local_machine": "HKEY_LOCAL_MACHINE",
    "hku": "HKEY_USERS", "hkey_users": "HKEY_USERS",
    "hkcu": "HKEY_CURRENT_USER", "hkey_current_user": "HKEY_CURRENT_USER",
    "hkcr": "HKEY_CLASSES_ROOT", "hkey_classes_root": "HKEY_CLASSES_ROOT",
}  # fmt: skip

# HKLM\SOFTWARE subkeys shared between the views on Windows 7 and newer (Microsoft's table, paths lower-cased).
_SHARED = (
    "classes", "clients", "microsoft\\com3", "microsoft\\cryptography\\calais\\current",
    "microsoft\\cryptography\\calais\\readers", "microsoft\\cryptography\\services", "microsoft\\ctf\\systemshared",
    "microsoft\\ctf\\tip", "microsoft\\dfs", "microsoft\\driver signing", "microsoft\\enterprisecertificates",
    "microsoft\\eventsystem", "microsoft\\msmq", "microsoft\\non-driver signing", "microsoft\\notepad\\defaultfonts",
    "microsoft\\ole", "microsoft\\ras", "microsoft\\rpc", "microsoft\\software\\microsoft\\shared tools\\msinfo",
    "microsoft\\systemcertificates", "microsoft\\termservlicensing", "microsoft\\transactionserver",
    "microsoft\\windows\\currentversion\\app paths",
    "microsoft\\windows\\currentversion\\control panel\\cursors\\schemes",
    "microsoft\\windows\\currentversion\\explorer\\autoplayhandlers",
    "microsoft\\windows\\currentversion\\explorer\\driveicons", "microsoft\\windows\\currentversion\\explorer\\kindmap",
    "microsoft\\windows\\currentversion\\group policy", "microsoft\\windows\\currentversion\\policies",
    "microsoft\\windows\\currentversion\\previewhandlers", "microsoft\\windows\\currentversion\\setup",
    "microsoft\\windows\\currentversion\\telephony\\locations", "microsoft\\windows nt\\currentversion\\console",
    "microsoft\\windows nt\\currentversion\\fontdpi", "microsoft\\windows nt\\currentversion\\fontlink",
    "microsoft\\windows nt\\currentversion\\fontmapper", "microsoft\\windows nt\\currentversion\\fonts",
    "microsoft\\windows nt\\currentversion\\fontsubstitutes", "microsoft\\windows nt\\currentversion\\gre_initialize",
    "microsoft\\windows nt\\currentversion\\image file execution options",
    "microsoft\\windows nt\\currentversion\\language pack", "microsoft\\windows nt\\currentversion\\networkcards",
    "microsoft\\windows nt\\currentversion\\perflib", "microsoft\\windows nt\\currentversion\\ports",
    "microsoft\\windows nt\\currentversion\\print", "microsoft\\windows nt\\currentversion\\profilelist",
    "microsoft\\windows nt\\currentversion\\time zones", "policies", "registeredapplications",
)  # fmt: skip
# Under the shared SOFTWARE\Classes, these are redirected (to SOFTWARE\Classes\Wow6432Node).
_CLASSES_REDIRECTED = ("clsid", "directshow", "interface", "media type", "mediafoundation")


class RegistryError(Exception):
    """A registry operation failed; ``kind`` is ``not_found``, ``access_denied`` or ``exists``."""

    def __init__(self, kind: str, path: str) -> None:
        super().__init__(f"{kind}: {path}")
        self.kind = kind
        self.path = path


@dataclass
class RegValue:
    """A named value: ``name`` keeps its spelling ('' is the default value)."""

    name: str
    kind: ValueKind
    data: Any


@dataclass
class RegKey:
    """A physical key."""

    name: str
    subkeys: dict[str, RegKey] = field(default_factory=dict)
    values: dict[str, RegValue] = field(default_factory=dict)
    sddl: str | None = None  # set by RegistryKey.SetAccessControl (ACLs are otherwise not modelled)

    def child(self, name: str) -> RegKey | None:
        return self.subkeys.get(name.lower())

    def walk(self, prefix: str) -> Iterator[tuple[str, RegKey]]:
        """Every key below (depth first), with its path from ``prefix``."""
        for sub in self.subkeys.values():
            path = f"{prefix}\\{sub.name}"
            yield path, sub
            yield from sub.walk(path)


def split_path(path: str) -> tuple[str, list[str]]:
    """``HKLM:\\SOFTWARE\\X`` / ``HKEY_LOCAL_MACHINE\\SOFTWARE\\X`` -> ``('HKEY_LOCAL_MACHINE', ['SOFTWARE', 'X'])``."""
    text = path.replace("/", "\\").strip("\\")
    head, _, rest = text.partition("\\")
    hive = HIVES.get(head.rstrip(":").lower())
    if hive is None:
        raise RegistryError("not_found", path)
    return hive, [p for p in rest.split("\\") if p]


def physical_parts(hive: str, parts: list[str], view: int) -> list[str]:
    """The physical key path a process of bitness ``view`` (64 or 32) reaches for a logical path."""
    if view != 32 or hive != "HKEY_LOCAL_MACHINE" or len(parts) < 1 or parts[0].lower() != "software":
        return parts
    rest = parts[1:]
    if rest and rest[0].lower() == "wow6432node":
        return parts
    lowered = "\\".join(p.lower() for p in rest)
    if rest and rest[0].lower() == "classes":
        if len(rest) > 1 and rest[1].lower() in _CLASSES_REDIRECTED:
            return [parts[0], rest[0], "Wow6432Node", *rest[1:]]
        return parts
    if any(lowered == key or lowered.startswith(key + "\\") for key in _SHARED):
        return parts
    return [parts[0], "WOW6432Node", *rest]


class Registry:
    """The whole registry of the machine (physical keys); every access names a view and a token."""

    def __init__(self) -> None:
        self.root = RegKey("")
        for hive in ("HKEY_LOCAL_MACHINE", "HKEY_USERS"):
            self.root.subkeys[hive.lower()] = RegKey(hive)
        for name in ("SOFTWARE", "SYSTEM", "SAM"):
            self.root.subkeys["hkey_local_machine"].subkeys[name.lower()] = RegKey(name)
        # Per-path write failures injected by a scenario (lower-cased physical paths).
        self.denied_writes: set[str] = set()

    # ---------------------------------------------------------------- resolution
    def resolve(self, path: str, view: int, token: Token | None = None) -> tuple[str, list[str]]:
        """The physical ``(hive, parts)`` of ``path`` as seen by a process of bitness ``view``."""
        hive, parts = split_path(path)
        if hive == "HKEY_CURRENT_USER":
            if token is None:
                raise RegistryError("not_found", path)
            hive, parts = "HKEY_USERS", [token.user, *parts]
        if hive == "HKEY_CLASSES_ROOT":
            hive, parts = "HKEY_LOCAL_MACHINE", ["SOFTWARE", "Classes", *parts]
        return hive, physical_parts(hive, parts, view)

    def _node(self, hive: str, parts: list[str]) -> RegKey | None:
        node = self.root.child(hive)
        for part in parts:
            if node is None:
                return None
            node = node.child(part)
        return node

    @staticmethod
    def _system_only(hive: str, parts: list[str]) -> bool:
        return hive == "HKEY_LOCAL_MACHINE" and len(parts) >= 2 and [p.lower() for p in parts[:2]] == ["sam", "sam"]

    def can_read(self, hive: str, parts: list[str], token: Token) -> bool:
        if self._system_only(hive, parts):
            return token.user == "S-1-5-18"
        # Another user's hive: only administrators.
        return not (hive == "HKEY_USERS" and parts and parts[0] != token.user and not token.is_admin)

    def can_write(self, hive: str, parts: list[str], token: Token) -> bool:
        if "\\".join([hive, *parts]).lower() in self.denied_writes:
            return False
        if self._system_only(hive, parts):
            return token.user == "S-1-5-18"
        if hive == "HKEY_USERS" and parts and parts[0] == token.user:
            return True
        return token.is_admin

    # ---------------------------------------------------------------- operations (physical)
    def open(self, path: str, view: int, token: Token, write: bool = False) -> RegKey:
        """The key at ``path``; raises RegistryError ``not_found`` or ``access_denied``."""
        hive, parts = self.resolve(path, view, token)
        node = self._node(hive, parts)
        if node is None:
            raise RegistryError("not_found", path)
        allowed = self.can_write(hive, parts, token) if write else self.can_read(hive, parts, token)
        if not allowed:
            raise RegistryError("access_denied", path)
        return node

    def lookup(self, path: str, view: int, token: Token) -> RegKey | None:
        """The key a process would reach, without an access check (None when missing)."""
        try:
            return self._node(*self.resolve(path, view, token))
        except RegistryError:
            return None

    def exists(self, path: str, view: int, token: Token) -> bool:
        try:
            self.open(path, view, token)
        except RegistryError:
            return False
        return True

    def create(self, path: str, view: int, token: Token) -> tuple[RegKey, bool]:
        """Create ``path`` and any missing parent; returns the key and whether it was new."""
        hive, parts = self.resolve(path, view, token)
        node = self.root.child(hive)
        if node is None:
            raise RegistryError("not_found", path)
        created = False
        for index, part in enumerate(parts):
            sub = node.child(part)
            if sub is None:
                # Creating a subkey needs KEY_CREATE_SUB_KEY on its parent.
                if not self.can_write(hive, parts[:index], token):
                    raise RegistryError("access_denied", path)
                sub = RegKey(part)
                node.subkeys[part.lower()] = sub
                created = True
            node = sub
        return node, created

    def delete(self, path: str, view: int, token: Token, recurse: bool) -> None:
        hive, parts = self.resolve(path, view, token)
        if not parts:
            raise RegistryError("access_denied", path)
        parent = self._node(hive, parts[:-1])
        node = parent.child(parts[-1]) if parent else None
        if parent is None or node is None:
            raise RegistryError("not_found", path)
        if not self.can_write(hive, parts, token):
            raise RegistryError("access_denied", path)
        if node.subkeys and not recurse:
            raise RegistryError("has_subkeys", path)
        del parent.subkeys[parts[-1].lower()]

    def set_value(self, path: str, view: int, token: Token, name: str, kind: ValueKind, data: Any) -> None:
        node = self.open(path, view, token, write=True)
        node.values[name.lower()] = RegValue(name, kind, data)

    def remove_value(self, path: str, view: int, token: Token, name: str) -> None:
        node = self.open(path, view, token, write=True)
        if name.lower() not in node.values:
            raise RegistryError("value_not_found", f"{path}\\{name}")
        del node.values[name.lower()]

    # ---------------------------------------------------------------- seeding (no access checks)
    def seed(self, path: str, values: dict[str, tuple[ValueKind, Any]] | None = None) -> RegKey:
        """Create a physical key with values while building a machine (``path`` is physical, no views)."""
        hive, parts = split_path(path)
        node = self.root.child(hive)
        assert node is not None
        for part in parts:
            sub = node.child(part)
            if sub is None:
                sub = RegKey(part)
                node.subkeys[part.lower()] = sub
            node = sub
        for name, (kind, data) in (values or {}).items():
            node.values[name.lower()] = RegValue(name, kind, data)
        return node

    def peek(self, path: str) -> RegKey | None:
        """A physical key without access checks or views (tests and machine events)."""
        try:
            hive, parts = split_path(path)
        except RegistryError:
            return None
        return self._node(hive, parts)

    def drop(self, path: str) -> bool:
        """Delete a physical key without checks (machine events); whether it existed."""
        hive, parts = split_path(path)
        parent = self._node(hive, parts[:-1])
        if parent is None or parts[-1].lower() not in parent.subkeys:
            return False
        del parent.subkeys[parts[-1].lower()]
        return True


def dotnet_value(value: RegValue, expand: bool, env: dict[str, str]) -> Any:
    """What ``RegistryKey.GetValue`` returns: Int32 for DWord (signed), Int64 for QWord, string[], byte[]."""
    if value.kind == "DWord":
        number = int(value.data) & 0xFFFFFFFF
        return number - (1 << 32) if number >= 1 << 31 else number
    if value.kind == "QWord":
        number = int(value.data) & 0xFFFFFFFFFFFFFFFF
        return number - (1 << 64) if number >= 1 << 63 else number
    if value.kind == "ExpandString" and expand:
        return expand_environment(str(value.data), env)
    if value.kind == "MultiString":
        return list(value.data)
    if value.kind == "Binary":
        return bytes(value.data)
    return value.data


def expand_environment(text: str, env: dict[str, str]) -> str:
    """``%NAME%`` expansion as ExpandEnvironmentStrings does (unknown names stay as they are)."""
    lowered = {k.lower(): v for k, v in env.items()}
    out: list[str] = []
    rest = text
    while "%" in rest:
        before, _, after = rest.partition("%")
        name, sep, tail = after.partition("%")
        out.append(before)
        if sep and name.lower() in lowered:
            out.append(lowered[name.lower()])
            rest = tail
        elif sep:
            out.append("%" + name)
            rest = "%" + tail
        else:
            out.append("%" + name)
            rest = ""
    out.append(rest)
    return "".join(out)
