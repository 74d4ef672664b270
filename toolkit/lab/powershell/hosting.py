"""``powershell.exe`` for the simulated machine's scheduled tasks: the engine behind ``task_runner``/``command_runner``.

The machine cannot run PowerShell itself (``WindowsMachine.task_runner``'s docstring); :func:`attach` gives it
this engine. Each task action runs in a new runspace on the task's own process (its user, its working folder,
its bitness), as a new ``powershell.exe`` would.

Exit codes (about_PowerShell_exe, Windows PowerShell 5.1): ``exit N`` gives N; a script that a terminating
error ends gives 1; otherwise 0. For ``-Command``/``-EncodedCommand`` PowerShell also gives 1 when the last
command failed (``$?`` false); the lab does not model ``$?``, so such a run gives 0 (a known simplification).
A ``-File`` path that does not exist gives -196608 (0xFFFD0000), UNCONFIRMED beyond community reports.
"""

from __future__ import annotations

from typing import Any

from toolkit.lab.powershell import Runspace, ScriptRun
from toolkit.lab.powershell.contract import CommandError, Machine

FILE_NOT_FOUND_EXIT = -196608


def exit_code(run: ScriptRun) -> int:
    """The process exit code of a ``powershell.exe`` that ran ``run`` (module docstring)."""
    if run.lab_bug is not None:
        # A bug of the lab must not pass for a Windows outcome: it surfaces in the task's caller.
        raise RuntimeError(run.lab_bug)
    if run.exit_code is not None:
        return run.exit_code
    return 1 if run.terminating is not None else 0


def file_arguments(args: list[str]) -> list[tuple[str | None, Any]]:
    """``-File script`` arguments as parameters: ``-Name value``, ``-Name:value``, a lone ``-Switch``, positionals.

    Every value is a string, as on a command line (the binder converts it to the parameter's type).
    """
    out: list[tuple[str | None, Any]] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if _is_name(arg):
            name, colon, value = arg[1:].partition(":")
            if colon:
                out.append((name, value))
            elif index < len(args) and not _is_name(args[index]):
                out.append((name, args[index]))
                index += 1
            else:
                out.append((name, True))
        else:
            out.append((None, arg))
    return out


def _is_name(arg: str) -> bool:
    """``-Name`` (a parameter name), not ``-5`` (a negative number)."""
    return len(arg) > 1 and arg[0] == "-" and (arg[1].isalpha() or arg[1] == "_")


def run_file(process: Machine, path: str, args: list[str]) -> int:
    """``powershell.exe -File path args`` on ``process``: the script runs in its own script scope."""
    try:
        read = process.static_member("System.IO.File", "ReadAllText")
        text = read(path)
    except (CommandError, KeyError):
        return FILE_NOT_FOUND_EXIT
    return exit_code(Runspace(process).run_script(str(text), file_arguments(args), use_local_scope=True))


def run_command(process: Machine, text: str) -> int:
    """``powershell.exe -Command text`` / ``-EncodedCommand`` on ``process``: the text runs in the global scope."""
    return exit_code(Runspace(process).run_script(text))


def attach(machine: Any) -> None:
    """Let ``machine``'s scheduled tasks run ``powershell.exe`` through this engine (every view of its state)."""
    machine.task_runner = run_file
    machine.command_runner = run_command
