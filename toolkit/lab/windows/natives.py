"""Native programs a script runs (``& $exe args``), as the calling process's user: certutil, takeown, icacls,
schtasks; reg.exe lives in :mod:`toolkit.lab.windows.regexe`.

- ``certutil -DeleteHelloContainer`` acts on the CALLER's Hello container and only marks it: "Users need to
  sign out after using this option for it to complete" (certutil help; fact sheet §8). What it prints and
  returns for a caller without a container is UNCONFIRMED (modelled as certutil's generic failure line with
  NTE_NOT_FOUND).
- ``takeown /d`` takes the localised answer letter (fact sheet §8); the letters per language and the error
  text for a wrong one are UNCONFIRMED beyond "Y" (English) and "J" (German). takeown needs
  SeTakeOwnershipPrivilege (an elevated administrator).
- ``icacls`` /grant, /setowner, /inheritance and display (learn.microsoft.com/windows-server/administration/
  windows-commands/icacls): exit code 0 when every file was processed, else the last Win32 error (5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit.lab.powershell.contract import CommandError, ErrorSpec, NativeResult
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.dotnet_security import account_text
from toolkit.lab.windows.filesystem import FsError, normalize, redirect
from toolkit.lab.windows.lifecycle import principal_sid, run_task
from toolkit.lab.windows.security import Ace, SecurityDescriptor
from toolkit.lab.windows.tasks import normalize_task_path

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

YES_LETTERS = {"en": "Y", "de": "J", "fr": "O", "es": "S", "it": "S", "nl": "J", "pt": "S", "sv": "J"}
NTE_NOT_FOUND = -2146893807  # 0x80090011 as $LASTEXITCODE shows it (signed)


def run_native(machine: WindowsMachine, path: str, args: list[str]) -> NativeResult:
    """Run a program by path or bare name; a missing program is CommandNotFoundException, as PowerShell reports it."""
    name = path.replace("/", "\\").rsplit("\\", 1)[-1].lower().removesuffix(".exe")
    if "\\" in path and machine.state.fs.node(redirect(path, machine.is_64bit_process)) is None:
        raise CommandError(
            ErrorSpec(
                f"The term '{path}' is not recognized as the name of a cmdlet, function, script file, or operable "
                "program. Check the spelling of the name, or if a path was included, verify that the path is "
                "correct and try again.",
                "CommandNotFoundException",
                "ObjectNotFound",
                "System.Management.Automation.CommandNotFoundException",
                path,
            )
        )
    handlers = {
        "certutil": _certutil,
        "takeown": _takeown,
        "icacls": _icacls,
        "schtasks": _schtasks,
        "secedit": _secedit,
    }
    if name == "reg":
        from toolkit.lab.windows.regexe import reg_exe

        return reg_exe(machine, args)
    handler = handlers.get(name)
    if handler is None:
        return NativeResult(1, (), (f"The lab does not model {name}.exe.",))
    return handler(machine, args)


# ------------------------------------------------------------------------------------------- certutil
def _certutil(machine: WindowsMachine, args: list[str]) -> NativeResult:
    verb = args[0].lstrip("-/").lower() if args else ""
    if verb != "deletehellocontainer":
        return NativeResult(
            -2147024809, (f"CertUtil: Unknown arg: {args[0] if args else ''}", "CertUtil: The parameter is incorrect.")
        )
    container = machine.state.hello.get(machine.token.user)
    if container is None:
        return NativeResult(
            NTE_NOT_FOUND,
            (
                "CertUtil: -DeleteHelloContainer command FAILED: 0x80090011 (-2146893807 NTE_NOT_FOUND)",
                "CertUtil: Object was not found.",
            ),
        )
    container.pending_delete = True
    return NativeResult(0, ("CertUtil: -DeleteHelloContainer command completed successfully.",))


# ------------------------------------------------------------------------------------------- takeown
def _option(args: list[str], name: str) -> str | None:
    lowered = [a.lower() for a in args]
    if name in lowered and lowered.index(name) + 1 < len(args):
        return args[lowered.index(name) + 1]
    return None


def _takeown(machine: WindowsMachine, args: list[str]) -> NativeResult:
    target = _option(args, "/f")
    lowered = [a.lower() for a in args]
    answer = _option(args, "/d")
    yes = YES_LETTERS.get(machine.state.language.split("-")[0], "Y")
    if target is None:
        return NativeResult(1, (), ("ERROR: Invalid syntax. Mandatory option '/F' is missing.",))
    if answer is not None and answer.upper() not in (yes, "N"):
        return NativeResult(1, (), ("ERROR: Invalid syntax. Value for '/D' option is not valid.",))
    token = machine.token
    if not (token.is_admin and token.elevated):
        message = "ERROR: The current logged on user does not have ownership privileges on the file (or folder)"
        return NativeResult(1, (), (f'{message} "{target}".',))
    owner = sec.ADMINISTRATORS if "/a" in lowered else token.user
    fs = machine.state.fs
    path = normalize(target)
    if fs.node(path) is None:
        return NativeResult(1, (), ("ERROR: The system cannot find the file specified.",))
    lines: list[str] = []
    todo = [path]
    while todo:
        current = todo.pop(0)
        node = fs.get(current)
        node.sd = SecurityDescriptor(owner, node.sd.dacl, node.sd.protected)
        lines.append(
            f'SUCCESS: The file (or folder): "{current}" now owned by user "{account_text(machine.state, owner)}".'
        )
        if not node.is_dir or "/r" not in lowered:
            continue
        if not sec.has_access(node.sd, token, sec.READ):
            if answer is None or answer.upper() != yes:
                continue
            # "/D Y": replace the folder's permissions with full control for the caller, then go on.
            node.sd = SecurityDescriptor(owner, [Ace(token.user, sec.FULL, True, 3)], True)
        todo.extend(f"{current.rstrip(chr(92))}\\{child.name}" for child in node.children.values())
    return NativeResult(0, tuple(lines))


# ------------------------------------------------------------------------------------------- icacls
_SIMPLE = {
    "F": sec.FULL,
    "M": sec.FILE_RIGHTS["Modify"],
    "RX": sec.FILE_RIGHTS["ReadAndExecute"],
    "R": sec.FILE_RIGHTS["Read"],
    "W": sec.FILE_RIGHTS["Write"],
}


def _grant(machine: WindowsMachine, spec: str) -> Ace:
    identity, _, perms = spec.rpartition(":")
    sid = identity[1:] if identity.startswith("*") else machine.state.lookup_name(identity)
    if sid is None:
        raise ValueError(f"{identity}: No mapping between account names and security IDs was done.")
    inheritance = (1 if "(CI)" in perms.upper() else 0) | (2 if "(OI)" in perms.upper() else 0)
    rights_text = perms.upper().replace("(CI)", "").replace("(OI)", "").strip("()")
    return Ace(sid, _SIMPLE.get(rights_text, sec.FULL), True, inheritance)


def _icacls(machine: WindowsMachine, args: list[str]) -> NativeResult:
    if not args:
        return NativeResult(87, (), ("Invalid parameter",))
    fs = machine.state.fs
    path = normalize(args[0])
    options = [a.lower() for a in args[1:]]
    if fs.node(path) is None:
        return NativeResult(
            2,
            (),
            (
                f"{args[0]}: The system cannot find the file specified.",
                "Successfully processed 0 files; Failed processing 1 files",
            ),
        )
    if not options:
        entries = [f"{account_text(machine.state, a.sid)}:{sec.icacls_rights(a.rights)}" for a in fs.get(path).sd.dacl]
        lines = [f"{path} {entries[0] if entries else ''}", *(" " * (len(path) + 1) + e for e in entries[1:])]
        return NativeResult(0, (*lines, "", "Successfully processed 1 files; Failed processing 0 files"))
    targets = [path] + ([p for p, _ in fs.walk(path)] if "/t" in options else [])
    done, failed, out, err = 0, 0, [], []
    for target in targets:
        try:
            _apply_icacls(machine, target, args[1:])
            done += 1
            out.append(f"processed file: {target}")
        except (FsError, ValueError) as exc:
            failed += 1
            err.append(f"{target}: {'Access is denied.' if isinstance(exc, FsError) else exc}")
            if "/c" not in options:
                break
    out.append(f"Successfully processed {done} files; Failed processing {failed} files")
    return NativeResult(5 if failed else 0, tuple(out), tuple(err))


def _apply_icacls(machine: WindowsMachine, target: str, args: list[str]) -> None:
    fs = machine.state.fs
    node = fs.get(target)
    sd = node.sd.copy()
    lowered = [a.lower() for a in args]
    owner_change = dacl_change = False
    for index, option in enumerate(lowered):
        value = args[index + 1] if index + 1 < len(args) else ""
        if option in ("/grant", "/grant:r"):
            ace = _grant(machine, value)
            if option == "/grant:r":
                sd.dacl = [a for a in sd.dacl if a.inherited or a.sid != ace.sid]
            sd.dacl.append(ace)
            dacl_change = True
        elif option == "/setowner":
            sid = value[1:] if value.startswith("*") else machine.state.lookup_name(value)
            sd.owner = sid or value
            owner_change = True
        elif option == "/inheritance:r":
            sd.protected, sd.dacl, dacl_change = True, [a for a in sd.dacl if not a.inherited], True
        elif option == "/inheritance:d":
            sd.protected, dacl_change = True, True
    # icacls enables SeRestorePrivilege when it has it (an elevated administrator or SYSTEM): /setowner may
    # then name any SID (icacls docs: "/setowner ... changes the owner of all matching names").
    restore = machine.token.user == sec.SYSTEM or (machine.token.is_admin and machine.token.elevated)
    fs.set_sd(target, machine.token, sd, owner=owner_change, dacl=dacl_change, restore=restore)


# ------------------------------------------------------------------------------------------- schtasks
def _schtasks(machine: WindowsMachine, args: list[str]) -> NativeResult:
    """/Delete /TN name /F and /Run /TN name. Whether a task's own (non-admin) principal may delete it is
    UNCONFIRMED; the model lets it."""
    lowered = [a.lower() for a in args]
    full = _option(args, "/tn") or ""
    path, _, name = full.replace("/", "\\").rpartition("\\")
    key = (normalize_task_path(path).lower(), name.lower())
    task = machine.state.tasks.get(key)
    if task is None:
        return NativeResult(1, (), ("ERROR: The system cannot find the file specified.",))
    allowed = machine.token.is_admin or principal_sid(machine.state, task) == machine.token.user
    if not allowed:
        return NativeResult(1, (), ("ERROR: Access is denied.",))
    if "/delete" in lowered:
        if "/f" not in lowered:
            return NativeResult(1, (), ("ERROR: The task cannot be deleted without /F in a non-interactive session.",))
        del machine.state.tasks[key]
        return NativeResult(0, (f'SUCCESS: The scheduled task "{name}" was successfully deleted.',))
    if "/run" in lowered:
        run_task(machine, task)
        return NativeResult(0, (f'SUCCESS: Attempted to run the scheduled task "{name}".',))
    return NativeResult(1, (), ("ERROR: Invalid syntax.",))


# ------------------------------------------------------------------------------------------- secedit
def _secedit(machine: WindowsMachine, args: list[str]) -> NativeResult:
    """``secedit /export /cfg FILE [/areas SECURITYPOLICY] [/quiet]``: the local policy as an INF file in
    UTF-16 LE (learn.microsoft.com/windows-server/administration/windows-commands/secedit-export; the
    [System Access] key names MinimumPasswordLength and PasswordComplexity are those of secedit templates).
    Needs an administrator. The messages it prints are UNCONFIRMED."""
    lowered = [a.lower() for a in args]
    target = _option(args, "/cfg")
    if "/export" not in lowered or target is None:
        return NativeResult(87, ("The parameter is incorrect.",))
    if not machine.token.is_admin:
        return NativeResult(5, ("Access is denied.",))
    policy = machine.state.sam.policy
    lines = [
        "[Unicode]",
        "Unicode=yes",
        "[System Access]",
        "MinimumPasswordAge = 0",
        "MaximumPasswordAge = 42",
        f"MinimumPasswordLength = {policy.min_length}",
        f"PasswordComplexity = {int(policy.complexity)}",
        "PasswordHistorySize = 0",
        "LockoutBadCount = 0",
        "[Version]",
        'signature="$CHICAGO$"',
        "Revision=1",
    ]
    data = b"\xff\xfe" + ("\r\n".join(lines) + "\r\n").encode("utf-16-le")
    try:
        machine.state.fs.write(redirect(normalize(target), machine.is_64bit_process), data, machine.token)
    except FsError:
        return NativeResult(5, ("Access is denied.",))
    return NativeResult(0, () if "/quiet" in lowered else ("The task has completed successfully.",))
