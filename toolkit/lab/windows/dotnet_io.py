"""``[System.IO.Directory]``, ``[System.IO.File]`` and ``[System.IO.Path]``'s machine-bound members over the
simulated volume (.NET Framework 4.x, as Windows PowerShell 5.1 runs on it).

- ``Directory.CreateDirectory(path, DirectorySecurity)`` creates every missing level with that security
  descriptor in the same call; an existing folder is returned unchanged, its ACL untouched (.NET Framework
  reference source ``Directory.InternalCreateDirectory``: only missing levels are created).
- ``File.WriteAllText(path, text)`` writes UTF-8 WITHOUT a BOM; with an encoding, that encoding's preamble.
- ``File.Move`` fails when the target exists; ``File.Replace`` needs the target to exist.
- ``Path.GetTempFileName`` creates an empty ``tmpXXXX.tmp`` in %TEMP%.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from toolkit.lab.powershell.contract import DotNetObject
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.dotnet_security import acl_object, descriptor_of
from toolkit.lab.windows.errors import dotnet_throw
from toolkit.lab.windows.filesystem import FsError, normalize, redirect
from toolkit.lab.windows.items import file_item

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine


def fs_error(exc: FsError, path: str) -> NoReturn:
    """Throw the .NET exception System.IO raises for ``exc``."""
    if exc.kind == "access_denied":
        dotnet_throw("System.UnauthorizedAccessException", f"Access to the path '{path}' is denied.")
    if exc.kind == "not_found":
        dotnet_throw("System.IO.DirectoryNotFoundException", f"Could not find a part of the path '{path}'.")
    if exc.kind == "exists":
        dotnet_throw("System.IO.IOException", "Cannot create a file when that file already exists.\r\n")
    if exc.kind == "in_use":
        dotnet_throw(
            "System.IO.IOException",
            f"The process cannot access the file '{path}' because it is being used by another process.",
        )
    if exc.kind == "invalid_owner":
        dotnet_throw(
            "System.InvalidOperationException", "The security identifier is not allowed to be the owner of this object."
        )
    dotnet_throw("System.IO.IOException", f"{exc.kind}: {path}")


def physical_path(machine: WindowsMachine, path: Any) -> str:
    try:
        return redirect(normalize(str(path)), machine.is_64bit_process)
    except FsError:
        dotnet_throw("System.ArgumentException", "The path is not of a legal form.")


# ------------------------------------------------------------------------------------------- [IO.Directory]
def create_directory(machine: WindowsMachine, path: Any, security: Any = None) -> DotNetObject:
    physical = physical_path(machine, path)
    sd = None
    if security is not None:
        given, owner_set, _ = descriptor_of(security)
        sd = sec.SecurityDescriptor(given.owner if owner_set else "", given.dacl, given.protected)
    try:
        node, _ = machine.state.fs.mkdir(physical, machine.token, sd)
    except FsError as exc:
        fs_error(exc, str(path))
    return file_item(machine, pv.ProviderPath("filesystem", physical), node)


def directory_members(machine: WindowsMachine) -> dict[str, Any]:
    fs = machine.state.fs

    def exists(path: Any) -> bool:
        node = fs.node(physical_path(machine, path))
        return node is not None and node.is_dir

    def listing(path: Any, want_dirs: bool, pattern: Any = "*") -> list[str]:
        physical = physical_path(machine, path)
        try:
            nodes = fs.list_dir(physical, machine.token)
        except FsError as exc:
            fs_error(exc, str(path))
        return [
            f"{physical.rstrip(chr(92))}\\{n.name}"
            for n in nodes
            if n.is_dir == want_dirs and pv.matches(n.name, str(pattern))
        ]

    def delete(path: Any, recursive: Any = False) -> None:
        try:
            fs.delete(physical_path(machine, path), machine.token, recurse=bool(recursive))
        except FsError as exc:
            fs_error(exc, str(path))

    return {
        "CreateDirectory": lambda path, security=None: create_directory(machine, path, security),
        "Exists": exists,
        "GetFiles": lambda path, pattern="*": listing(path, False, pattern),
        "GetDirectories": lambda path, pattern="*": listing(path, True, pattern),
        "Delete": delete,
        "Create": lambda path, size=4096, options=None, security=None: _create_file(machine, path, security),
        "OpenRead": lambda path: _open(machine, path, "Open", "Read"),
        "GetAccessControl": lambda path, *_: _get_acl(machine, path, True),
        "SetAccessControl": lambda path, security: _set_acl(machine, path, security),
        "Move": lambda source, target: _move(machine, source, target, False),
    }


def _set_acl(machine: WindowsMachine, path: Any, security: Any) -> None:
    sd, owner_set, dacl_set = descriptor_of(security)
    try:
        machine.state.fs.set_sd(physical_path(machine, path), machine.token, sd, owner=owner_set, dacl=dacl_set)
    except FsError as exc:
        fs_error(exc, str(path))


def _move(machine: WindowsMachine, source: Any, target: Any, replace: bool) -> None:
    try:
        machine.state.fs.move(
            physical_path(machine, source), physical_path(machine, target), machine.token, replace=replace
        )
    except FsError as exc:
        fs_error(exc, str(source) if exc.kind != "exists" else str(target))


# ------------------------------------------------------------------------------------------- [IO.File]
def _preamble(encoding: Any) -> tuple[str, bytes]:
    """The codec and BOM of an encoding argument (an object with GetPreamble/WebName, or a name)."""
    if encoding is None:
        return "utf-8", b""
    preamble = b""
    if isinstance(encoding, DotNetObject):
        name = str(encoding.properties.get("WebName") or encoding.properties.get("EncodingName") or "utf-8")
        if "GetPreamble" in encoding.methods:
            preamble = bytes(encoding.call("GetPreamble") or b"")
        else:
            # Encoding.UTF8 / Encoding.Unicode have a preamble; an object that cannot say otherwise is one of them.
            preamble = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(
                name.lower(), b""
            )
    else:
        name = str(getattr(encoding, "web_name", None) or getattr(encoding, "name", None) or encoding)
        getter = getattr(encoding, "preamble", None)
        preamble = bytes(getter() if callable(getter) else getter or b"")
    codec = {"utf8": "utf-8", "unicode": "utf-16-le", "utf-16": "utf-16-le", "ascii": "ascii", "us-ascii": "ascii"}.get(
        name.lower().replace(" ", ""), name
    )
    return codec, preamble


def file_members(machine: WindowsMachine) -> dict[str, Any]:
    fs = machine.state.fs

    def read(path: Any) -> bytes:
        try:
            return fs.read(physical_path(machine, path), machine.token)
        except FsError as exc:
            if exc.kind == "not_found":
                dotnet_throw("System.IO.FileNotFoundException", f"Could not find file '{path}'.")
            fs_error(exc, str(path))

    def write(path: Any, data: bytes) -> None:
        try:
            fs.write(physical_path(machine, path), data, machine.token)
        except FsError as exc:
            fs_error(exc, str(path))

    def write_text(path: Any, content: Any, encoding: Any = None) -> None:
        codec, bom = _preamble(encoding)
        write(path, bom + ("" if content is None else str(content)).encode(codec))

    def read_text(path: Any, encoding: Any = None) -> str:
        from toolkit.lab.windows.encoding import decode_text

        data = read(path)
        # File.ReadAllText detects a BOM, else decodes as UTF-8 (not ANSI) unless told otherwise.
        return decode_text(data, "utf8" if encoding is None else _preamble(encoding)[0].replace("-", ""))

    def delete(path: Any) -> None:
        if fs.node(physical_path(machine, path)) is None:
            return  # File.Delete of a missing file is not an error
        try:
            fs.delete(physical_path(machine, path), machine.token)
        except FsError as exc:
            fs_error(exc, str(path))

    return {
        "Exists": lambda path: (n := fs.node(physical_path(machine, path))) is not None and not n.is_dir,
        "ReadAllBytes": read,
        "ReadAllText": read_text,
        "WriteAllBytes": lambda path, data: write(path, bytes(data)),
        "WriteAllText": write_text,
        "Move": lambda source, target: _move(machine, source, target, False),
        "Replace": lambda source, target, backup=None: _replace(machine, source, target, backup),
        "Copy": lambda source, target, overwrite=False: (
            fs_error(FsError("exists", str(target)), str(target))
            if fs.node(physical_path(machine, target)) is not None and not overwrite
            else write(target, read(source))
        ),
        "Delete": delete,
        "Create": lambda path, size=4096, options=None, security=None: _create_file(machine, path, security),
        "OpenRead": lambda path: _open(machine, path, "Open", "Read"),
        "GetAccessControl": lambda path, *_: _get_acl(machine, path, False),
        "SetAccessControl": lambda path, security: _set_acl(machine, path, security),
    }


def _create_file(machine: WindowsMachine, path: Any, security: Any) -> DotNetObject:
    """File.Create(path, bufferSize, options, FileSecurity): a new file gets ``security`` in the same call."""
    from toolkit.lab.windows.streams import open_stream

    return open_stream(machine, physical_path(machine, path), "Create", "ReadWrite", security)


def _open(machine: WindowsMachine, path: Any, mode: str, access: str) -> DotNetObject:
    from toolkit.lab.windows.streams import open_stream

    return open_stream(machine, physical_path(machine, path), mode, access)


def temp_path(machine: WindowsMachine) -> str:
    """Path.GetTempPath: %TEMP% with a trailing backslash."""
    return machine.environment()["TEMP"].rstrip("\\") + "\\"


def temp_file(machine: WindowsMachine) -> str:
    """Path.GetTempFileName: creates an empty ``tmpXXXX.tmp`` in %TEMP% and returns its path (IOException
    when the folder is missing or full: learn.microsoft.com/dotnet/api/system.io.path.gettempfilename)."""
    folder = machine.environment()["TEMP"]
    fs = machine.state.fs
    for number in range(1, 0x10000):
        candidate = f"{folder}\\tmp{number:X}.tmp"
        if fs.node(candidate) is None:
            try:
                fs.write(candidate, b"", machine.token)
            except FsError:
                dotnet_throw("System.IO.IOException", "The directory name is invalid.\r\n")
            return candidate
    dotnet_throw("System.IO.IOException", "The file exists.\r\n")


def _replace(machine: WindowsMachine, source: Any, target: Any, backup: Any) -> None:
    """File.Replace: the target must exist; its old content goes to ``backup`` when given."""
    fs = machine.state.fs
    if fs.node(physical_path(machine, target)) is None:
        dotnet_throw("System.IO.FileNotFoundException", "Unable to find the specified file.")
    if backup:
        try:
            fs.write(
                physical_path(machine, backup), fs.read(physical_path(machine, target), machine.token), machine.token
            )
        except FsError as exc:
            fs_error(exc, str(backup))
    _move(machine, source, target, True)


def _get_acl(machine: WindowsMachine, path: Any, is_dir: bool) -> DotNetObject:
    try:
        sd = machine.state.fs.read_sd(physical_path(machine, path), machine.token)
    except FsError as exc:
        fs_error(exc, str(path))
    return acl_object(machine.state, sd, is_dir, str(path))
