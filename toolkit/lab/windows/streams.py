"""``System.IO.FileStream`` (``New-Object System.IO.FileStream path, mode, access, share`` and
``[IO.File]::Create(path, bufferSize, options, FileSecurity)``) over the simulated volume.

Modes (learn.microsoft.com/dotnet/api/system.io.filemode): CreateNew 1 (fails if the file exists), Create 2
(truncates an existing file), Open 3, OpenOrCreate 4, Truncate 5, Append 6. ``File.Create`` with a
FileSecurity gives a NEW file that descriptor in the creating call; an existing file is truncated and keeps
its own ACL (.NET Framework ``FileStream`` with ``FileMode.Create``: the security attributes apply only when
the file is created).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.lab.powershell.contract import DotNetObject
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.errors import dotnet_throw
from toolkit.lab.windows.filesystem import FsError, FsNode

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

MODES = {"createnew": 1, "create": 2, "open": 3, "openorcreate": 4, "truncate": 5, "append": 6}
ACCESS = {"read": 1, "write": 2, "readwrite": 3}


def _number(value: Any, table: dict[str, int], default: int) -> int:
    if value is None:
        return default
    number = getattr(value, "value", value)
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    return table.get(str(getattr(value, "name", value)).replace(" ", "").lower(), default)


class _Stream:
    """An open file: position, and reads/writes straight to the node's bytes."""

    def __init__(self, machine: WindowsMachine, path: str, node: FsNode, access: int) -> None:
        self.machine = machine
        self.path = path
        self.node = node
        self.access = access
        self.position = 0
        self.closed = False

    def _check(self, want: int) -> None:
        if self.closed:
            dotnet_throw("System.ObjectDisposedException", "Cannot access a closed file.")
        if not self.access & want:
            dotnet_throw(
                "System.NotSupportedException", "Stream does not support " + ("reading." if want == 1 else "writing.")
            )

    def read(self, buffer: Any, offset: Any, count: Any) -> int:
        self._check(1)
        chunk = self.node.data[self.position : self.position + int(count)]
        if isinstance(buffer, bytearray):
            buffer[int(offset) : int(offset) + len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)

    def write(self, data: Any, offset: Any, count: Any) -> None:
        self._check(2)
        piece = bytes(data)[int(offset) : int(offset) + int(count)]
        current = self.node.data
        self.node.data = current[: self.position] + piece + current[self.position + len(piece) :]
        self.position += len(piece)

    def seek(self, offset: Any, origin: Any = 0) -> int:
        base = {0: 0, 1: self.position, 2: len(self.node.data)}[
            _number(origin, {"begin": 0, "current": 1, "end": 2}, 0)
        ]
        self.position = max(0, base + int(offset))
        return self.position


def open_stream(
    machine: WindowsMachine, path: str, mode: Any, access: Any = None, security: Any = None
) -> DotNetObject:
    """A FileStream on ``path`` (a physical, normalised path)."""
    fs = machine.state.fs
    mode_number = _number(mode, MODES, 3)
    access_number = _number(access, ACCESS, 1 if mode_number in (3,) else 3)
    node = fs.node(path)
    try:
        if node is None:
            if mode_number in (3, 5):
                dotnet_throw("System.IO.FileNotFoundException", f"Could not find file '{path}'.")
            node = _create(machine, path, security)
        else:
            if node.is_dir:
                dotnet_throw("System.UnauthorizedAccessException", f"Access to the path '{path}' is denied.")
            if mode_number == 1:
                dotnet_throw("System.IO.IOException", f"The file '{path}' already exists.")
            wanted = (sec.READ if access_number & 1 else 0) | (sec.WRITE_DATA if access_number & 2 else 0)
            if not sec.has_access(node.sd, machine.token, wanted):
                dotnet_throw("System.UnauthorizedAccessException", f"Access to the path '{path}' is denied.")
            if mode_number in (2, 5):
                node.data = b""
    except FsError as exc:
        dotnet_throw(
            "System.UnauthorizedAccessException" if exc.kind == "access_denied" else "System.IO.IOException",
            f"Access to the path '{path}' is denied." if exc.kind == "access_denied" else f"{exc.kind}: {path}",
        )
    stream = _Stream(machine, path, node, access_number)
    if mode_number == 6:
        stream.position = len(node.data)
    return _stream_object(stream)


def _create(machine: WindowsMachine, path: str, security: Any) -> FsNode:
    fs = machine.state.fs
    node = fs.write(path, b"", machine.token)
    if security is not None:
        from toolkit.lab.windows.dotnet_security import descriptor_of

        sd, owner_set, _ = descriptor_of(security)
        owner = sd.owner if owner_set else machine.token.default_owner
        if owner not in machine.token.sids():
            fs.delete(path, machine.token)
            dotnet_throw(
                "System.InvalidOperationException",
                "The security identifier is not allowed to be the owner of this object.",
            )
        parent = fs.get(path.rsplit("\\", 1)[0] or "C:\\")
        node.sd = sec.with_inherited(sec.SecurityDescriptor(owner, sd.dacl, sd.protected), parent.sd, False)
    return node


def _stream_object(stream: _Stream) -> DotNetObject:
    def close() -> None:
        stream.closed = True

    return DotNetObject(
        ["System.IO.FileStream", "System.IO.Stream", "System.MarshalByRefObject"],
        {
            "Length": lambda: len(stream.node.data),
            "Position": lambda: stream.position,
            "Name": stream.path,
            "CanRead": bool(stream.access & 1),
            "CanWrite": bool(stream.access & 2),
        },
        {
            "Read": stream.read,
            "Write": stream.write,
            "Seek": stream.seek,
            "Flush": lambda *_: None,
            "Close": close,
            "Dispose": close,
        },
        to_string="System.IO.FileStream",
    )
