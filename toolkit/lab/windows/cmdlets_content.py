"""Get-Content, Set-Content, Add-Content, Get-Acl, Set-Acl as Windows PowerShell 5.1 runs them.

Encodings: see :mod:`toolkit.lab.windows.encoding` (about_Character_Encoding, 5.1: Get-Content decodes a
BOM-less file with the ANSI code page unless ``-Encoding``; Set-Content writes ANSI by default and a BOM with
``-Encoding UTF8``; each value is followed by a newline unless ``-NoNewline``). Set-Acl writes only the
sections the security object had set (owner, DACL): ``SetAccessControl`` with the modified sections.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandSpec, ErrorSpec
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows.cmdlet_support import as_list, flag, machine_of, param, parsed_paths, text
from toolkit.lab.windows.cmdlets_change import fs_error
from toolkit.lab.windows.cmdlets_items import DOCS, MODULE, PATH_PARAMS, resolve
from toolkit.lab.windows.dotnet_security import acl_object, descriptor_of
from toolkit.lab.windows.encoding import decode_text, encode_text, split_lines
from toolkit.lab.windows.filesystem import FsError

SECURITY_MODULE = "Microsoft.PowerShell.Security"
SECURITY_DOCS = "https://learn.microsoft.com/powershell/module/microsoft.powershell.security/"


def _get_content(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    encoding = text(call, "Encoding")
    for path in resolve(call, "PathNotFound"):
        physical = pv.fs_physical(machine, path)
        try:
            data = machine.state.fs.read(physical, machine.token)
        except FsError as exc:
            fs_error(call, exc, path.path, "GetContentReader")
            continue
        if encoding and encoding.lower() == "byte":
            if flag(call, "Raw"):
                yield data
            else:
                yield from data
            continue
        content = decode_text(data, encoding, machine.state.language)
        if flag(call, "Raw"):
            if content:  # an empty file gives nothing, not an empty string
                yield content
            continue
        lines = split_lines(content)
        if "TotalCount" in call.bound and int(call.bound["TotalCount"]) >= 0:
            lines = lines[: int(call.bound["TotalCount"])]
        if "Tail" in call.bound and int(call.bound["Tail"]) >= 0:
            count = int(call.bound["Tail"])
            lines = lines[len(lines) - count :] if count else []
        yield from lines


def _write_content(call: CommandCall, append: bool) -> Iterator[Any]:
    machine = machine_of(call)
    values = as_list(call.bound.get("Value")) if "Value" in call.bound else list(call.input or [])
    newline = "" if flag(call, "NoNewline") else "\r\n"
    body = "".join(("" if v is None else str(v)) + newline for v in values)
    for _, path in parsed_paths(call, machine):
        physical = pv.fs_physical(machine, path)
        action = "Add Content" if append else "Set Content"
        if not call.should_process(f"Path: {path.path}", action):
            continue
        fs = machine.state.fs
        existing = fs.node(physical)
        encoding = text(call, "Encoding")
        data = encode_text(body, encoding, machine.state.language)
        try:
            if append and existing is not None:
                # Appending never writes a second BOM.
                old = fs.read(physical, machine.token)
                bom_free = encode_text(body, encoding, machine.state.language)
                for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
                    if bom_free.startswith(bom):
                        bom_free = bom_free[len(bom) :]
                data = old + bom_free
            fs.write(physical, data, machine.token)
        except FsError as exc:
            fs_error(call, exc, path.path, "SetContentWriter" if not append else "AddContentWriter")
    yield from ()


def _get_acl(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    for path in resolve(call, "PathNotFound"):
        if path.is_registry:
            call.write_error(
                ErrorSpec(
                    "Registry ACLs are not modelled by the lab.",
                    "NotImplemented",
                    "NotImplemented",
                    "System.NotImplementedException",
                    path.path,
                )
            )
            continue
        physical = pv.fs_physical(machine, path)
        try:
            sd = machine.state.fs.read_sd(physical, machine.token)
        except FsError:
            call.write_error(
                ErrorSpec(
                    "Attempted to perform an unauthorized operation.",
                    "GetAcl_UnauthorizedAccess",
                    "PermissionDenied",
                    "System.UnauthorizedAccessException",
                    path.path,
                )
            )
            continue
        acl = acl_object(machine.state, sd, machine.state.fs.get(physical).is_dir, path.ps_path)
        yield acl


def _set_acl(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    sd, owner_set, dacl_set = descriptor_of(call.bound.get("AclObject"))
    for path in resolve(call, "PathNotFound"):
        if not call.should_process(path.path, "Set-Acl"):
            continue
        try:
            machine.state.fs.set_sd(pv.fs_physical(machine, path), machine.token, sd, owner=owner_set, dacl=dacl_set)
        except FsError as exc:
            if exc.kind == "invalid_owner":
                # SetSecurityInfo with an owner the caller may not assign: ERROR_INVALID_OWNER.
                message, kind = (
                    "The security identifier is not allowed to be the owner of this object.",
                    "System.InvalidOperationException",
                )
            else:
                message, kind = "Attempted to perform an unauthorized operation.", "System.UnauthorizedAccessException"
            call.write_error(
                ErrorSpec(
                    message,
                    "SetAcl_OperationNotPermitted" if "Invalid" in kind else "System.UnauthorizedAccessException",
                    "PermissionDenied",
                    kind,
                    path.path,
                )
            )
    yield from ()


CONTENT_PARAMS = (
    *PATH_PARAMS,
    param("Value", "object[]", 1, pipeline=True),
    param("Encoding", "string"),
    param("NoNewline", "switch"),
    param("Force", "switch"),
)

COMMANDS = [
    CommandSpec(
        "Get-Content",
        MODULE,
        "cmdlet",
        (
            *PATH_PARAMS,
            param("Raw", "switch"),
            param("Tail", "int", aliases=("Last",)),
            param("TotalCount", "long", aliases=("First", "Head")),
            param("Encoding", "string"),
            param("ReadCount", "long"),
        ),
        False,
        _get_content,
        DOCS + "get-content?view=powershell-5.1",
    ),
    CommandSpec(
        "Set-Content",
        MODULE,
        "cmdlet",
        CONTENT_PARAMS,
        True,
        lambda call: _write_content(call, False),
        DOCS + "set-content?view=powershell-5.1",
    ),
    CommandSpec(
        "Add-Content",
        MODULE,
        "cmdlet",
        CONTENT_PARAMS,
        True,
        lambda call: _write_content(call, True),
        DOCS + "add-content?view=powershell-5.1",
    ),
    CommandSpec(
        "Get-Acl",
        SECURITY_MODULE,
        "cmdlet",
        PATH_PARAMS,
        False,
        _get_acl,
        SECURITY_DOCS + "get-acl?view=powershell-5.1",
    ),
    CommandSpec(
        "Set-Acl",
        SECURITY_MODULE,
        "cmdlet",
        (*PATH_PARAMS, param("AclObject", "object", 1, mandatory=True, pipeline=True)),
        True,
        _set_acl,
        SECURITY_DOCS + "set-acl?view=powershell-5.1",
    ),
]
