"""The simulated NTFS volume: folders and files (names compared without case), bytes, owners and DACLs.

Every operation takes the caller's token and checks the DACL the way NTFS does
(learn.microsoft.com/windows/win32/fileio/file-security-and-access-rights): listing needs ListDirectory on
the folder, creating a file CreateFiles on the parent, creating a folder CreateDirectories (AppendData) on
the parent, deleting Delete on the object or DeleteSubdirectoriesAndFiles on its parent, changing a DACL
WRITE_DAC (which the owner always has). New objects inherit from their parent (security.inherit).

WOW64 file system redirection (learn.microsoft.com/windows/win32/winprog64/file-system-redirector): a 32-bit
process that names ``%windir%\\System32`` reaches ``%windir%\\SysWOW64``; ``%windir%\\Sysnative`` reaches the
real System32.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from toolkit.lab.windows import security as sec
from toolkit.lab.windows.security import SecurityDescriptor, Token

EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


class FsError(Exception):
    """A file system operation failed; ``kind``: not_found, access_denied, exists, not_empty, in_use, not_a_dir."""

    def __init__(self, kind: str, path: str) -> None:
        super().__init__(f"{kind}: {path}")
        self.kind = kind
        self.path = path


@dataclass
class FsNode:
    """A folder or a file."""

    name: str
    is_dir: bool
    sd: SecurityDescriptor
    data: bytes = b""
    children: dict[str, FsNode] = field(default_factory=dict)
    modified: datetime = EPOCH
    hidden: bool = False
    in_use: bool = False  # held open by a running service: deleting fails with a sharing violation

    def child(self, name: str) -> FsNode | None:
        return self.children.get(name.lower())


def normalize(path: str) -> str:
    """``C:/a/./b/../c\\`` -> ``C:\\a\\c`` (drive letter upper-cased; only absolute drive paths)."""
    text = path.replace("/", "\\")
    if len(text) < 2 or text[1] != ":":
        raise FsError("not_found", path)
    parts: list[str] = []
    for part in text[2:].split("\\"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return text[0].upper() + ":" + ("\\" + "\\".join(parts) if parts else "\\")


def split(path: str) -> list[str]:
    """The components after the drive of a normalised path."""
    return [p for p in normalize(path)[3:].split("\\") if p]


def redirect(path: str, is_64bit_process: bool) -> str:
    """WOW64 file system redirection of System32 for 32-bit processes."""
    norm = normalize(path)
    if is_64bit_process:
        return norm
    parts = split(norm)
    if len(parts) >= 2 and parts[0].lower() == "windows":
        second = parts[1].lower()
        if second == "system32":
            return normalize("C:\\Windows\\SysWOW64\\" + "\\".join(parts[2:]))
        if second == "sysnative":
            return normalize("C:\\Windows\\System32\\" + "\\".join(parts[2:]))
    return norm


class FileSystem:
    """One volume, ``C:``."""

    def __init__(self, root_sd: SecurityDescriptor) -> None:
        self.root = FsNode("C:", True, root_sd)
        self.clock: datetime = EPOCH

    # ---------------------------------------------------------------- lookup
    def node(self, path: str) -> FsNode | None:
        """The node at ``path`` (no access check)."""
        node: FsNode | None = self.root
        for part in split(path):
            if node is None or not node.is_dir:
                return None
            node = node.child(part)
        return node

    def parent_of(self, path: str) -> tuple[FsNode, str]:
        parts = split(path)
        if not parts:
            raise FsError("access_denied", path)
        parent = self.node("C:\\" + "\\".join(parts[:-1]))
        if parent is None or not parent.is_dir:
            raise FsError("not_found", path)
        return parent, parts[-1]

    def get(self, path: str) -> FsNode:
        found = self.node(path)
        if found is None:
            raise FsError("not_found", path)
        return found

    @staticmethod
    def _check(node: FsNode, token: Token, rights: int, path: str) -> None:
        if not sec.has_access(node.sd, token, rights):
            raise FsError("access_denied", path)

    # ---------------------------------------------------------------- reads
    def list_dir(self, path: str, token: Token) -> list[FsNode]:
        node = self.get(path)
        if not node.is_dir:
            raise FsError("not_a_dir", path)
        self._check(node, token, sec.READ, path)
        return sorted(node.children.values(), key=lambda n: n.name.lower())

    def read(self, path: str, token: Token) -> bytes:
        node = self.get(path)
        if node.is_dir:
            raise FsError("access_denied", path)
        self._check(node, token, sec.READ, path)
        return node.data

    def read_sd(self, path: str, token: Token) -> SecurityDescriptor:
        node = self.get(path)
        self._check(node, token, sec.READ_CONTROL, path)
        return node.sd.copy()

    # ---------------------------------------------------------------- changes
    def _new_sd(self, parent: FsNode, token: Token, is_dir: bool, sd: SecurityDescriptor | None) -> SecurityDescriptor:
        if sd is None:
            return sec.inherit(parent.sd, token.default_owner, is_dir)
        owner = sd.owner or token.default_owner
        if owner not in token.sids():
            # Setting someone else as owner needs SeRestorePrivilege, which a script's token has disabled.
            raise FsError("invalid_owner", parent.name)
        return sec.with_inherited(SecurityDescriptor(owner, sd.dacl, sd.protected), parent.sd, is_dir)

    def mkdir(self, path: str, token: Token, sd: SecurityDescriptor | None = None) -> tuple[FsNode, bool]:
        """Create a folder and its missing parents (each new level gets ``sd`` when given, as .NET's
        ``Directory.CreateDirectory(path, security)`` does); an existing folder is left as it is."""
        node = self.root
        built = "C:"
        created = False
        for part in split(path):
            built += "\\" + part
            sub = node.child(part)
            if sub is None:
                self._check(node, token, sec.APPEND, built)
                sub = FsNode(part, True, self._new_sd(node, token, True, sd), modified=self.clock)
                node.children[part.lower()] = sub
                created = True
            elif not sub.is_dir:
                raise FsError("exists", built)
            node = sub
        return node, created

    def write(self, path: str, data: bytes, token: Token, create: bool = True) -> FsNode:
        """Replace a file's bytes (creating it when ``create``)."""
        parent, name = self.parent_of(path)
        node = parent.child(name)
        if node is None:
            if not create:
                raise FsError("not_found", path)
            self._check(parent, token, sec.WRITE_DATA, path)
            node = FsNode(name, False, self._new_sd(parent, token, False, None))
            parent.children[name.lower()] = node
        elif node.is_dir:
            raise FsError("access_denied", path)
        else:
            self._check(node, token, sec.WRITE_DATA, path)
        node.data = bytes(data)
        node.modified = self.clock
        return node

    def _may_delete(self, parent: FsNode, node: FsNode, token: Token) -> bool:
        return sec.has_access(node.sd, token, sec.DELETE) or sec.has_access(parent.sd, token, sec.DELETE_CHILD)

    def delete(self, path: str, token: Token, recurse: bool = False) -> None:
        """Delete a file or folder (a non-empty folder only with ``recurse``, children first)."""
        parent, name = self.parent_of(path)
        node = parent.child(name)
        if node is None:
            raise FsError("not_found", path)
        if node.is_dir and node.children:
            if not recurse:
                raise FsError("not_empty", path)
            self._check(node, token, sec.READ, path)
            for child in list(node.children.values()):
                self.delete(f"{normalize(path)}\\{child.name}", token, recurse=True)
        if node.in_use:
            raise FsError("in_use", path)
        if not self._may_delete(parent, node, token):
            raise FsError("access_denied", path)
        del parent.children[name.lower()]

    def move(self, source: str, target: str, token: Token, replace: bool = False) -> None:
        """Rename or move (File.Move, File.Replace, Rename-Item): Delete on the source, create on the target."""
        src_parent, src_name = self.parent_of(source)
        node = src_parent.child(src_name)
        if node is None:
            raise FsError("not_found", source)
        dst_parent, dst_name = self.parent_of(target)
        existing = dst_parent.child(dst_name)
        if existing is not None and existing is not node:
            if not replace or existing.is_dir:
                raise FsError("exists", target)
            if not self._may_delete(dst_parent, existing, token):
                raise FsError("access_denied", target)
        if not self._may_delete(src_parent, node, token):
            raise FsError("access_denied", source)
        self._check(dst_parent, token, sec.APPEND if node.is_dir else sec.WRITE_DATA, target)
        del src_parent.children[src_name.lower()]
        dst_parent.children.pop(dst_name.lower(), None)
        node.name = dst_name
        dst_parent.children[dst_name.lower()] = node

    def set_sd(
        self, path: str, token: Token, sd: SecurityDescriptor, owner: bool, dacl: bool, restore: bool = False
    ) -> None:
        """Set the owner and/or the DACL (Set-Acl, icacls, takeown). ``restore``: the caller enabled
        SeRestorePrivilege (icacls does for an elevated administrator), so any SID may become the owner."""
        node = self.get(path)
        if dacl:
            self._check(node, token, sec.WRITE_DAC, path)
        if owner and sd.owner != node.sd.owner:
            # Taking ownership: WRITE_OWNER in the DACL, or SeTakeOwnershipPrivilege (elevated administrators).
            may = sec.has_access(node.sd, token, sec.WRITE_OWNER) or (token.is_admin and token.elevated)
            if not may or (sd.owner not in token.sids() and not restore):
                raise FsError("access_denied" if not may else "invalid_owner", path)
        parent_sd = self._parent_sd(path)
        new_owner = sd.owner if owner else node.sd.owner
        if dacl:
            explicit = [a for a in sd.dacl if not a.inherited]
            base = SecurityDescriptor(new_owner, explicit, sd.protected)
            node.sd = sec.with_inherited(base, parent_sd, node.is_dir) if parent_sd else base
        else:
            node.sd = SecurityDescriptor(new_owner, node.sd.dacl, node.sd.protected)

    def _parent_sd(self, path: str) -> SecurityDescriptor | None:
        parts = split(path)
        if not parts:
            return None
        parent = self.node("C:\\" + "\\".join(parts[:-1]))
        return parent.sd if parent else None

    # ---------------------------------------------------------------- seeding (no checks)
    def seed_dir(self, path: str, sd: SecurityDescriptor | None = None, owner: str | None = None) -> FsNode:
        """Create a folder while building the machine: ``sd`` as given, else inherited with ``owner``."""
        node = self.root
        for part in split(path):
            sub = node.child(part)
            if sub is None:
                sub = FsNode(part, True, sd.copy() if sd else sec.inherit(node.sd, owner or sec.SYSTEM, True))
                node.children[part.lower()] = sub
            node = sub
        if sd is not None:
            node.sd = sd.copy()
        return node

    def seed_file(self, path: str, data: bytes, owner: str = sec.SYSTEM) -> FsNode:
        parts = split(path)
        parent = self.seed_dir("C:\\" + "\\".join(parts[:-1]))
        node = FsNode(parts[-1], False, sec.inherit(parent.sd, owner, False), data=bytes(data), modified=self.clock)
        parent.children[parts[-1].lower()] = node
        return node

    def walk(self, path: str) -> Iterator[tuple[str, FsNode]]:
        """Every node below ``path`` (depth first), no access checks."""
        start = self.get(path)
        base = normalize(path)
        for child in start.children.values():
            child_path = f"{base.rstrip(chr(92))}\\{child.name}"
            yield child_path, child
            if child.is_dir:
                yield from self.walk(child_path)
