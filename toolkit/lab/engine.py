"""The lab's PowerShell endpoint: it runs a received pipeline on the host's simulated Windows machine.

Each host has one :class:`~toolkit.lab.windows.machine.WindowsMachine` (:mod:`toolkit.lab.hostmachine`);
each PSRP runspace pool one :class:`~toolkit.lab.powershell.Runspace` over it, so what one pipeline
dot-sources (pypsrp's ``add_script`` without ``use_local_scope``) is there for the next one, as on Windows.
A script is PowerShell and simply runs: the engine binds its parameters with PowerShell's own messages, and
its output objects cross PSRP as strings (``to_host_string``). The host's injected faults (extra error
records, a terminating error after the output, a malformed output) are applied to what the script printed.

Everything here is free of protocol code so it can be tested on its own; ``toolkit.lab.psrp`` turns an
:class:`EngineResult` into PSRP messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.lab.host import LabHost
from toolkit.lab.hostmachine import catch_up, host_lock, machine_of
from toolkit.lab.powershell import ErrorRecordInfo, Runspace, UnsupportedConstruct, to_host_string
from toolkit.templates import read_marker

# Commands a client may wrap around a script without changing its output here (pypsrp's
# Client.execute_ps sends ``Invoke-Expression -Command <script> | Out-String -Stream``).
PASS_THROUGH_COMMANDS = frozenset({"out-string", "out-default"})
SCRIPT_RUNNERS = frozenset({"invoke-expression", "iex"})


@dataclass(frozen=True)
class LabError:
    """An error record as PowerShell would build it, without any serialisation concerns.

    Attributes:
        message: the exception message (what ``$_.Exception.Message`` shows).
        exception_type: the .NET exception type name.
        category: the ``System.Management.Automation.ErrorCategory`` name.
        reason: the category's reason (PowerShell uses the exception's short type name).
        fully_qualified_error_id: ``FullyQualifiedErrorId``.
        activity: the category's activity (the command that failed).
        target_name: the category's target name (for example the parameter name).
    """

    message: str
    exception_type: str = "System.Management.Automation.RuntimeException"
    category: str = "NotSpecified"
    reason: str = "RuntimeException"
    fully_qualified_error_id: str = "RuntimeException"
    activity: str = ""
    target_name: str = ""


@dataclass
class EngineResult:
    """What a pipeline produced.

    Attributes:
        output: the output stream (strings).
        errors: non-terminating error records, written beside the output; the pipeline still completes.
        terminating: the error that stopped the pipeline (its state becomes Failed), or None.
        action: the action that ran, when one was recognised.
    """

    output: list[str] = field(default_factory=list)
    errors: list[LabError] = field(default_factory=list)
    terminating: LabError | None = None
    action: str | None = None


@dataclass(frozen=True)
class LabCommand:
    """One command of a received pipeline.

    Attributes:
        text: the command name, or the script text when ``is_script``.
        is_script: whether ``text`` is a script (``AddScript``) rather than a command name.
        parameters: ``(name, value)`` pairs in the order sent; ``name`` is None for positional arguments.
        end_of_statement: whether this command closes a statement (``AddStatement``).
        use_local_scope: run the script in a new scope (psrpcore's ``Command.use_local_scope``); False or
            None dot-sources it into the runspace's global scope, as ``Command.CreateCommandProcessor`` does.
    """

    text: str
    is_script: bool = False
    parameters: Sequence[tuple[str | None, Any]] = ()
    end_of_statement: bool = False
    use_local_scope: bool = False


def _command_not_found(name: str) -> LabError:
    return LabError(
        message=(
            f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable "
            "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
            "and try again."
        ),
        exception_type="System.Management.Automation.CommandNotFoundException",
        category="ObjectNotFound",
        reason="CommandNotFoundException",
        fully_qualified_error_id="CommandNotFoundException",
        target_name=name,
    )


def lab_error(record: ErrorRecordInfo) -> LabError:
    """An engine error record as the lab's protocol side carries it (reason: the exception's short name)."""
    return LabError(
        message=record.message,
        exception_type=record.exception_type,
        category=record.category,
        reason=record.exception_type.rsplit(".", 1)[-1],
        fully_qualified_error_id=record.fully_qualified_error_id,
        target_name=record.target_name,
    )


def _malformed_output(kind: str, output: list[str]) -> list[str]:
    """The output a broken script would print instead of its one document (a lab fault)."""
    if kind == "none" or not output:
        return output
    if kind == "empty":
        return []
    if kind == "two":
        return [*output, output[-1]]
    if kind == "not_json":
        return [*output[:-1], "WARNING: this is not JSON {" + output[-1][:40]]
    try:
        document = json.loads(output[-1])
    except ValueError:
        return output
    if kind == "wrong_shape" and isinstance(document, dict):
        shape = {"schema": document.get("schema"), "status": "fine", "result": document.get("data")}
        return [*output[:-1], json.dumps(shape)]
    return output


def _write_error(message: str) -> LabError:
    return LabError(
        message=message,
        exception_type="Microsoft.PowerShell.Commands.WriteErrorException",
        category="NotSpecified",
        reason="WriteErrorException",
        fully_qualified_error_id="Microsoft.PowerShell.Commands.WriteErrorException",
        activity="Write-Error",
    )


def _engine_failure(fqid: str, message: str) -> LabError:
    return LabError(message=message, category="NotImplemented", fully_qualified_error_id=fqid)


def run_script(
    host: LabHost,
    script: str,
    parameters: Sequence[tuple[str | None, Any]] = (),
    *,
    runspace: Runspace | None = None,
    use_local_scope: bool = False,
) -> EngineResult:
    """Run one script with its PSRP parameters on ``host``'s machine, in ``runspace`` (a new one: None).

    Before it runs, the machine's clock catches up with real time and the agent syncs. A construct the
    engine cannot run, or a bug of the lab (``ScriptRun.lab_bug``), fails the pipeline with a message that
    says so: neither may pass for a Windows answer.
    """
    marker = read_marker(script)
    action = marker[0] if marker is not None else None
    with host_lock(host):
        catch_up(host)
        runspace = runspace if runspace is not None else Runspace(machine_of(host))
        try:
            run = runspace.run_script(script, parameters, use_local_scope=use_local_scope)
        except UnsupportedConstruct as exc:
            message = f"Lab host {host.hostname}: the lab's PowerShell engine cannot run this script: {exc}"
            return EngineResult(action=action, terminating=_engine_failure("JcfixLabUnsupportedConstruct", message))
    if run.lab_bug is not None:
        message = f"Lab host {host.hostname}: a bug of the lab (not a Windows answer): {run.lab_bug}"
        return EngineResult(
            action=action,
            output=[to_host_string(o) for o in run.output],
            terminating=_engine_failure("JcfixLabBug", message),
        )
    output = _malformed_output(host.faults.malformed_result, [to_host_string(o) for o in run.output])
    result = EngineResult(output=output, errors=[lab_error(r) for r in run.errors], action=action)
    result.errors.extend(_write_error(text) for text in host.faults.error_records)
    if run.terminating is not None:
        result.terminating = lab_error(run.terminating)
    elif host.faults.terminating_error is not None:
        # What Write-Error does under $ErrorActionPreference = 'Stop' once the document was printed.
        result.terminating = _write_error(host.faults.terminating_error)
    return result


def _statements(commands: Sequence[LabCommand]) -> list[list[LabCommand]]:
    statements: list[list[LabCommand]] = []
    statement: list[LabCommand] = []
    for command in commands:
        statement.append(command)
        if command.end_of_statement:
            statements.append(statement)
            statement = []
    if statement:
        statements.append(statement)
    return statements


def run_pipeline(host: LabHost, commands: Sequence[LabCommand], runspace: Runspace | None = None) -> EngineResult:
    """Run a whole received pipeline: statements of commands, as pypsrp's clients build them.

    A script added with ``AddScript`` runs through :func:`run_script` with its parameters, in ``runspace``
    (the pool's; a new one when None); so does the ``-Command`` of ``Invoke-Expression`` (pypsrp's
    ``Client.execute_ps``), which runs its text in the caller's scope. ``Out-String`` passes the strings
    through, ``Out-Null`` swallows them, ``New-Item -Path env:`` (execute_ps' environment) is accepted.
    Anything else is a command this endpoint does not serve.
    """
    result = EngineResult()
    for commands_of_statement in _statements(commands):
        output: list[str] = []
        for command in commands_of_statement:
            lowered = command.text.lower()
            if command.is_script:
                step = run_script(
                    host, command.text, command.parameters, runspace=runspace, use_local_scope=command.use_local_scope
                )
            elif lowered in SCRIPT_RUNNERS:
                script = next((v for n, v in command.parameters if n is None or n.lower() == "command"), None)
                step = run_script(host, str(script or ""), (), runspace=runspace)
            elif lowered in PASS_THROUGH_COMMANDS or lowered == "new-item":
                continue
            elif lowered == "out-null":
                output = []
                continue
            else:
                step = EngineResult(terminating=_command_not_found(command.text))
            result.action = result.action or step.action
            result.errors.extend(step.errors)
            output.extend(step.output)
            if step.terminating is not None:
                result.output.extend(output)
                result.terminating = step.terminating
                return result
        result.output.extend(output)
    return result
