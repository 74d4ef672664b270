"""reg.exe: export, import, query, add, delete (learn.microsoft.com/windows-server/administration/windows-commands/reg).

- A 32-bit process runs SysWOW64\\reg.exe, which sees the 32-bit view unless ``/reg:64`` (and the reverse with
  ``/reg:32``).
- ``reg export`` writes a .reg file in UTF-16 LE with a BOM, header ``Windows Registry Editor Version 5.00``.
- ``reg import`` reports success on STDERR ("The operation completed successfully."): widely reported, and the
  reason a remote script under ``$ErrorActionPreference = 'Stop'`` fails on it (fact sheet §8: a native
  command's stderr line becomes an error record). Failures print ``ERROR: ...`` on stderr with exit code 1.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from toolkit.lab.powershell.contract import NativeResult
from toolkit.lab.windows.filesystem import FsError, normalize, redirect
from toolkit.lab.windows.registry import RegistryError, RegKey, ValueKind

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

OK = "The operation completed successfully."
NOT_FOUND = "ERROR: The system was unable to find the specified registry key or value."
DENIED = "ERROR: Access is denied."
TYPES: dict[str, ValueKind] = {
    "REG_SZ": "String",
    "REG_EXPAND_SZ": "ExpandString",
    "REG_MULTI_SZ": "MultiString",
    "REG_DWORD": "DWord",
    "REG_QWORD": "QWord",
    "REG_BINARY": "Binary",
}


def _view(machine: WindowsMachine, args: list[str]) -> int:
    lowered = [a.lower() for a in args]
    if "/reg:64" in lowered:
        return 64
    if "/reg:32" in lowered:
        return 32
    return machine.view


def reg_exe(machine: WindowsMachine, args: list[str]) -> NativeResult:
    verb = args[0].lower() if args else ""
    handlers = {"export": _export, "import": _import, "query": _query, "add": _add, "delete": _delete}
    handler = handlers.get(verb)
    if handler is None:
        return NativeResult(1, (), ("ERROR: Invalid syntax.", 'Type "REG /?" for usage.'))
    try:
        return handler(machine, args[1:], _view(machine, args))
    except RegistryError as exc:
        return NativeResult(1, (), (DENIED if exc.kind == "access_denied" else NOT_FOUND,))


def _hex(data: bytes) -> str:
    return ",".join(f"{b:02x}" for b in data)


def _format_value(name: str, kind: str, data: Any) -> str:
    label = "@" if name == "" else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "String":
        return f'{label}="' + str(data).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "DWord":
        return f"{label}=dword:{int(data) & 0xFFFFFFFF:08x}"
    if kind == "QWord":
        return f"{label}=hex(b):{_hex(int(data).to_bytes(8, 'little'))}"
    if kind == "ExpandString":
        return f"{label}=hex(2):{_hex((str(data) + chr(0)).encode('utf-16-le'))}"
    if kind == "MultiString":
        encoded = "".join(s + chr(0) for s in data).encode("utf-16-le") + bytes(2)
        return f"{label}=hex(7):{_hex(encoded)}"
    return f"{label}=hex:{_hex(bytes(data))}"


def _export(machine: WindowsMachine, args: list[str], view: int) -> NativeResult:
    if len(args) < 2:
        return NativeResult(1, (), ("ERROR: Invalid syntax.",))
    key_path, file_path = args[0], args[1]
    key = machine.state.registry.open(key_path, view, machine.token)
    hive, _ = machine.state.registry.resolve(key_path, view, machine.token)
    logical = "\\".join([hive, *key_path.replace("/", "\\").strip("\\").split("\\")[1:]])
    lines = ["Windows Registry Editor Version 5.00", ""]

    def emit(path: str, node: RegKey) -> None:
        lines.append(f"[{path}]")
        lines.extend(_format_value(v.name, v.kind, v.data) for v in node.values.values())
        lines.append("")
        for sub in node.subkeys.values():
            emit(f"{path}\\{sub.name}", sub)

    emit(logical, key)
    target = redirect(normalize(file_path), machine.is_64bit_process)
    if machine.state.fs.node(target) is not None and "/y" not in [a.lower() for a in args]:
        return NativeResult(1, (), (f"File {file_path} already exists. Overwrite (Yes/No)?", "ERROR: Invalid syntax."))
    try:
        machine.state.fs.write(target, b"\xff\xfe" + ("\r\n".join(lines) + "\r\n").encode("utf-16-le"), machine.token)
    except FsError:
        return NativeResult(1, (), (DENIED,))
    return NativeResult(0, (OK,))


_LINE_VALUE = re.compile(r'^(@|"(?:[^"\\]|\\.)*")=(.*)$')


def _parse_data(raw: str) -> tuple[ValueKind, Any]:
    if raw.startswith('"'):
        return "String", raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if raw.startswith("dword:"):
        return "DWord", int(raw[6:], 16)
    kind_tag, _, payload = raw.partition(":")
    data = bytes(int(h, 16) for h in payload.replace("\\", "").replace(" ", "").split(",") if h)
    if kind_tag == "hex(2)":
        return "ExpandString", data.decode("utf-16-le").rstrip("\x00")
    if kind_tag == "hex(7)":
        return "MultiString", [s for s in data.decode("utf-16-le").split("\x00") if s]
    if kind_tag == "hex(b)":
        return "QWord", int.from_bytes(data, "little")
    return "Binary", data


def _import(machine: WindowsMachine, args: list[str], view: int) -> NativeResult:
    target = redirect(normalize(args[0]), machine.is_64bit_process) if args else ""
    try:
        raw = machine.state.fs.read(target, machine.token)
    except FsError:
        return NativeResult(1, (), ("ERROR: Error opening the file. There may be a disk or file system error.",))
    text = raw[2:].decode("utf-16-le") if raw.startswith(b"\xff\xfe") else raw.decode("utf-8", errors="replace")
    registry = machine.state.registry
    current: str | None = None
    try:
        for line in (ln.strip() for ln in text.replace("\\\r\n", "").splitlines()):
            if line.startswith("[-") and line.endswith("]"):
                if registry.exists(line[2:-1], view, machine.token):
                    registry.delete(line[2:-1], view, machine.token, recurse=True)
                current = None
            elif line.startswith("[") and line.endswith("]"):
                current = line[1:-1]
                registry.create(current, view, machine.token)
            elif current and (match := _LINE_VALUE.match(line)):
                name = "" if match.group(1) == "@" else match.group(1)[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                kind, data = _parse_data(match.group(2))
                registry.set_value(current, view, machine.token, name, kind, data)
    except RegistryError:
        return NativeResult(1, (), ("ERROR: Error accessing the registry.",))
    return NativeResult(0, (), (OK,))


def _query(machine: WindowsMachine, args: list[str], view: int) -> NativeResult:
    key = machine.state.registry.open(args[0], view, machine.token)
    wanted = args[args.index("/v") + 1] if "/v" in args else None
    values = [v for v in key.values.values() if wanted is None or v.name.lower() == wanted.lower()]
    if wanted is not None and not values:
        return NativeResult(1, (), (NOT_FOUND,))
    kinds = {v: k for k, v in TYPES.items()}
    lines = ["", args[0]] + [f"    {v.name or '(Default)'}    {kinds[v.kind]}    {v.data}" for v in values] + [""]
    return NativeResult(0, tuple(lines))


def _add(machine: WindowsMachine, args: list[str], view: int) -> NativeResult:
    registry = machine.state.registry
    registry.create(args[0], view, machine.token)
    if "/v" in args:
        kind = TYPES.get((args[args.index("/t") + 1] if "/t" in args else "REG_SZ").upper(), "String")
        raw = args[args.index("/d") + 1] if "/d" in args else ""
        data: Any = int(raw, 0) if kind in ("DWord", "QWord") else raw
        registry.set_value(args[0], view, machine.token, args[args.index("/v") + 1], kind, data)
    return NativeResult(0, (OK,))


def _delete(machine: WindowsMachine, args: list[str], view: int) -> NativeResult:
    registry = machine.state.registry
    if "/v" in args:
        registry.remove_value(args[0], view, machine.token, args[args.index("/v") + 1])
    else:
        registry.delete(args[0], view, machine.token, recurse=True)
    return NativeResult(0, (OK,))
