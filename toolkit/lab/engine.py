"""The lab's stand-in for PowerShell: it runs a received pipeline against a simulated host.

A lab host cannot execute PowerShell. Instead it reads the first-line marker of the script it is sent
(``# jcfix-template: NAME vN``), finds that action in :func:`toolkit.actions.registry`, binds the PSRP
parameters the way PowerShell binds them to an advanced script's ``param()`` block, and runs the action's
simulation. The simulation returns the result document the real script would print; the engine hands it
back as the pipeline's single output string (``json.dumps``), exactly what ``ConvertTo-Json`` would emit.

Everything here is free of protocol code so it can be tested on its own; ``toolkit.lab.psrp`` turns an
:class:`EngineResult` into PSRP messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.actions import Action, Param, registry
from toolkit.lab.events import agent_sync
from toolkit.lab.host import LabHost
from toolkit.templates import read_marker

# PowerShell's common parameters: every advanced script accepts them. Only WhatIf changes what a
# simulation does; the rest are accepted and ignored, as they would change nothing visible here.
COMMON_PARAMETERS: tuple[str, ...] = (
    "Verbose",
    "Debug",
    "ErrorAction",
    "WarningAction",
    "InformationAction",
    "ErrorVariable",
    "WarningVariable",
    "InformationVariable",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
    "WhatIf",
    "Confirm",
)
COMMON_SWITCHES = frozenset({"Verbose", "Debug", "WhatIf", "Confirm"})

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
    """

    text: str
    is_script: bool = False
    parameters: Sequence[tuple[str | None, Any]] = ()
    end_of_statement: bool = False


class BindingError(Exception):
    """A parameter binding failure, carrying the PowerShell-style error record."""

    def __init__(self, error: LabError) -> None:
        super().__init__(error.message)
        self.error = error


def _binding_error(message: str, error_id: str, *, target: str = "", validation: bool = False) -> BindingError:
    exception = "ParameterBindingValidationException" if validation else "ParameterBindingException"
    return BindingError(
        LabError(
            message=message,
            exception_type=f"System.Management.Automation.{exception}",
            category="InvalidData" if validation else "InvalidArgument",
            reason=exception,
            fully_qualified_error_id=error_id,
            target_name=target,
        )
    )


def _resolve_name(name: str, action: Action) -> tuple[str, Param | None]:
    """The canonical parameter a (possibly abbreviated) name refers to, as PowerShell resolves it.

    PowerShell accepts any unambiguous prefix of a parameter name, case-insensitively; an exact match
    wins over prefixes. Returns the canonical name and the script's :class:`Param` (None for a common
    parameter).
    """
    candidates: dict[str, Param | None] = {p.name: p for p in action.params}
    for common in COMMON_PARAMETERS:
        candidates.setdefault(common, None)
    wanted = name.lower()
    for canonical, param in candidates.items():
        if canonical.lower() == wanted:
            return canonical, param
    matches = [canonical for canonical in candidates if canonical.lower().startswith(wanted)]
    if len(matches) == 1:
        return matches[0], candidates[matches[0]]
    if matches:
        listed = " ".join(f"-{m}" for m in matches)
        raise _binding_error(
            f"Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
            f"Possible matches include: {listed}.",
            "AmbiguousParameter",
            target=name,
        )
    raise _binding_error(
        f"A parameter cannot be found that matches parameter name '{name}'.", "NamedParameterNotFound", target=name
    )


def _plain(value: Any) -> Any:
    """A deserialised PSRP value as plain Python (psrpcore's str/int subclasses, lists, SecureStrings)."""
    decrypt = getattr(value, "decrypt", None)
    if callable(decrypt):  # a SecureString: the host sees the clear text
        return str(decrypt())
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _convert(param: Param, value: Any) -> Any:
    """Coerce a bound value into the parameter's declared type, failing as PowerShell's binder would."""
    value = _plain(value)

    def cannot(type_name: str, why: str) -> BindingError:
        return _binding_error(
            f"Cannot process argument transformation on parameter '{param.name}'. "
            f'Cannot convert value "{value}" to type "{type_name}". Error: "{why}"',
            f"ParameterArgumentTransformationError,{param.name}",
            target=param.name,
        )

    if param.kind == "string[]":
        items = value if isinstance(value, list) else [value]
        return ["" if v is None else str(v) for v in items]
    if param.kind == "int":
        if isinstance(value, bool):
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise cannot("System.Int32", "Input string was not in a correct format.") from None
    if param.kind == "bool":
        if value is None:  # AddParameter('Switch') without a value means the switch is present
            return True
        if isinstance(value, (bool, int)):
            return bool(value)
        raise cannot("System.Management.Automation.SwitchParameter", "Invalid cast.")
    if value is None:
        return None
    if isinstance(value, list):  # PowerShell joins an array bound to [string] with $OFS (a space)
        return " ".join(str(v) for v in value)
    return str(value)


def bind_parameters(action: Action, parameters: Sequence[tuple[str | None, Any]]) -> tuple[dict[str, Any], bool]:
    """Bind PSRP parameters to the action's ``param()`` block like PowerShell does.

    Returns the bound script parameters (canonical names, converted values) and whether ``-WhatIf`` was
    given. Raises :class:`BindingError` with PowerShell's own message for an unknown, ambiguous, repeated,
    missing mandatory or invalid parameter.
    """
    bound: dict[str, Any] = {}
    whatif = False
    positional: list[Any] = []
    for name, value in parameters:
        if name is None:
            positional.append(value)
            continue
        canonical, param = _resolve_name(name.lstrip("-"), action)
        if canonical in bound or (param is None and canonical == "WhatIf" and whatif):
            raise _binding_error(
                f"Cannot bind parameter because parameter '{canonical}' is specified more than once.",
                "ParameterAlreadyBound",
                target=canonical,
            )
        if param is None:
            if canonical == "WhatIf":
                whatif = True if value is None else bool(_plain(value))
            continue
        bound[canonical] = _convert(param, value)
    free = [p for p in action.params if p.name not in bound and p.kind != "bool"]
    for value in positional:
        if not free:
            raise _binding_error(
                f"A positional parameter cannot be found that accepts argument '{_plain(value)}'.",
                "PositionalParameterNotFound",
            )
        param = free.pop(0)
        bound[param.name] = _convert(param, value)
    missing = [p.name for p in action.params if p.required and p.name not in bound]
    if missing:
        raise _binding_error(
            f"Cannot process command because of one or more missing mandatory parameters: {' '.join(missing)}.",
            "MissingMandatoryParameter",
        )
    for param in action.params:
        if param.name in bound and param.validate is not None and bound[param.name] is not None:
            try:
                param.validate(bound[param.name])
            except ValueError as exc:
                raise _binding_error(
                    f"Cannot validate argument on parameter '{param.name}'. {exc}",
                    f"ParameterArgumentValidationError,{param.name}",
                    target=param.name,
                    validation=True,
                ) from None
    return bound, whatif


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


def _unknown_script(host: LabHost, script: str) -> LabError:
    first_line = script.split("\n", 1)[0].strip()[:80]
    return LabError(
        message=(
            f"Lab host {host.hostname} simulates only jcfix templates; this script has no known "
            f"'# jcfix-template: NAME vN' marker on its first line (it starts with {first_line!r})."
        ),
        exception_type="System.Management.Automation.RuntimeException",
        category="NotImplemented",
        reason="RuntimeException",
        fully_qualified_error_id="JcfixLabUnknownScript",
    )


def _malformed_output(kind: str, document: dict[str, Any]) -> list[str]:
    """The output a broken script would print instead of its one document (a lab fault)."""
    if kind == "empty":
        return []
    if kind == "two":
        return [json.dumps(document), json.dumps(document)]
    if kind == "not_json":
        return ["WARNING: this is not JSON {" + json.dumps(document)[:40]]
    if kind == "wrong_shape":
        return [json.dumps({"schema": document.get("schema"), "status": "fine", "result": document.get("data")})]
    return [json.dumps(document)]


def run_script(host: LabHost, script: str, parameters: Sequence[tuple[str | None, Any]] = ()) -> EngineResult:
    """Run one script with its PSRP parameters against ``host`` (which the simulation may change)."""
    marker = read_marker(script)
    actions = registry()
    if marker is None or marker[0] not in actions:
        return EngineResult(terminating=_unknown_script(host, script))
    name, version = marker
    action = actions[name]
    if version != action.version:
        return EngineResult(
            action=name,
            terminating=LabError(
                message=(
                    f"Lab host {host.hostname} simulates template {name} v{action.version}; the script is v{version}."
                ),
                category="InvalidOperation",
                fully_qualified_error_id="JcfixLabTemplateVersion",
            ),
        )
    try:
        bound, whatif = bind_parameters(action, parameters)
    except BindingError as exc:
        return EngineResult(action=name, terminating=exc.error)
    # The agent keeps working between scripts: let it provision what became due.
    agent_sync(host)
    try:
        document = action.simulate(host, bound, whatif)
    except Exception as exc:  # a bug in a simulation must show, not pass as a host answer
        return EngineResult(
            action=name,
            terminating=LabError(
                message=f"lab simulation of {name} raised {type(exc).__name__}: {exc}",
                fully_qualified_error_id="JcfixLabSimulationCrashed",
            ),
        )
    result = EngineResult(action=name, output=_malformed_output(host.faults.malformed_result, document))
    result.errors = [
        LabError(
            message=text,
            exception_type="Microsoft.PowerShell.Commands.WriteErrorException",
            category="NotSpecified",
            reason="WriteErrorException",
            fully_qualified_error_id="Microsoft.PowerShell.Commands.WriteErrorException",
            activity="Write-Error",
        )
        for text in host.faults.error_records
    ]
    if host.faults.terminating_error is not None:
        # What Write-Error does under $ErrorActionPreference = 'Stop' once the document was printed.
        result.terminating = LabError(
            message=host.faults.terminating_error,
            exception_type="Microsoft.PowerShell.Commands.WriteErrorException",
            category="NotSpecified",
            reason="WriteErrorException",
            fully_qualified_error_id="Microsoft.PowerShell.Commands.WriteErrorException",
            activity="Write-Error",
        )
    return result


def run_pipeline(host: LabHost, commands: Sequence[LabCommand]) -> EngineResult:
    """Run a whole received pipeline: statements of commands, as pypsrp's clients build them.

    A script added with ``AddScript`` runs through :func:`run_script` with its parameters; so does the
    ``-Command`` of ``Invoke-Expression`` (pypsrp's ``Client.execute_ps``). ``Out-String`` passes the
    strings through, ``Out-Null`` swallows them, ``New-Item -Path env:`` (execute_ps' environment) is
    accepted. Anything else is a command this host does not have.
    """
    result = EngineResult()
    statement: list[LabCommand] = []
    statements: list[list[LabCommand]] = []
    for command in commands:
        statement.append(command)
        if command.end_of_statement:
            statements.append(statement)
            statement = []
    if statement:
        statements.append(statement)

    for commands_of_statement in statements:
        output: list[str] = []
        for command in commands_of_statement:
            lowered = command.text.lower()
            if command.is_script:
                step = run_script(host, command.text, command.parameters)
            elif lowered in SCRIPT_RUNNERS:
                script = next((v for n, v in command.parameters if n is None or n.lower() == "command"), None)
                step = run_script(host, str(script or ""), ())
            elif lowered in PASS_THROUGH_COMMANDS:
                continue
            elif lowered == "out-null":
                output = []
                continue
            elif lowered == "new-item":
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
