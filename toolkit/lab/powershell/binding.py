"""Parameter binding for scripts, script functions and CommandSpec commands.

Follows PowerShell's binder (``src/System.Management.Automation/engine/ParameterBinderController.cs``,
``CmdletParameterBinderController.cs``) for what the lab needs: names by exact match, then any unambiguous
prefix without case (aliases included); ``-Name:value``; switches; positional arguments in ``Position`` order
(advanced scripts without ``Position`` are positional in declaration order, switches excepted); parameter
sets; Mandatory; ``[Validate*]``; type conversion. Messages are PowerShell's own resource strings
(``ParameterBinderStrings.resx``, ``Metadata.resx``), as the previous lab engine used them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.lab.powershell.convert import convert_to, full_type_name
from toolkit.lab.powershell.errors import PSError, make_record
from toolkit.lab.powershell.values import SecureString, to_string

# The common parameters of every advanced script, function and cmdlet (about_CommonParameters).
COMMON_PARAMETERS = (
    "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ErrorVariable", "WarningVariable",
    "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
)
COMMON_ALIASES = {"vb": "Verbose", "db": "Debug", "ea": "ErrorAction", "wa": "WarningAction",
                  "infa": "InformationAction", "ev": "ErrorVariable", "wv": "WarningVariable",
                  "iv": "InformationVariable", "ov": "OutVariable", "ob": "OutBuffer", "pv": "PipelineVariable",
                  "wi": "WhatIf", "cf": "Confirm"}
SHOULD_PROCESS_PARAMETERS = ("WhatIf", "Confirm")
COMMON_SWITCHES = frozenset({"verbose", "debug", "whatif", "confirm"})
ACTION_PREFERENCES = ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend")


@dataclass
class ParamInfo:
    """One parameter as the binder sees it."""

    name: str
    type: str = "object"  # a full .NET type name, "switch", or "object"
    position: int | None = None
    mandatory: bool = False
    pipeline: bool = False
    aliases: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    validators: list[Callable[[str, Any], None]] = field(default_factory=list)
    allow_empty_string: bool = False
    allow_null: bool = False
    default: Callable[[Any], Any] | None = None  # evaluated in the new scope when not bound

    @property
    def is_switch(self) -> bool:
        return self.type == "switch"


@dataclass
class Signature:
    """What a command accepts."""

    name: str
    params: list[ParamInfo]
    advanced: bool = False  # CmdletBinding or a cmdlet: common parameters, no $args
    should_process: bool = False
    default_set: str | None = None
    # Parameter names already resolved (lower-cased as written -> canonical name, parameter): binding runs for
    # every command call, the resolution depends only on the signature.
    resolved: dict[str, tuple[str, ParamInfo | None]] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Bound:
    """The binding's result."""

    values: dict[str, Any]
    common: dict[str, Any]
    parameter_set: str
    extra: list[Any]  # unbound positional arguments ($args of a simple function)
    pipeline_param: ParamInfo | None


class Arg:
    """One command element: ``-Name``, ``-Name:value`` or a value."""

    __slots__ = ("has_value", "name", "value")

    def __init__(self, name: str | None, value: Any = None, has_value: bool = True) -> None:
        self.name, self.value, self.has_value = name, value, has_value


def binding_error(message: str, error_id: str, command: str, *, validation: bool = False,
                  target: str = "") -> PSError:
    exception = "ParameterBindingValidationException" if validation else "ParameterBindingException"
    record = make_record(message, f"{error_id},{command}" if command else error_id,
                         "InvalidData" if validation else "InvalidArgument",
                         f"System.Management.Automation.{exception}", target or None)
    return PSError(record)


def _resolve(sig: Signature, name: str) -> tuple[str, ParamInfo | None]:
    """The canonical parameter ``name`` refers to (a ParamInfo, or None for a common parameter)."""
    key = name.lower()
    found = sig.resolved.get(key)
    if found is None:
        found = sig.resolved[key] = _resolve_uncached(sig, name)
    return found


def _resolve_uncached(sig: Signature, name: str) -> tuple[str, ParamInfo | None]:
    candidates: dict[str, ParamInfo | None] = {}
    for param in sig.params:
        candidates[param.name] = param
        for alias in param.aliases:
            candidates.setdefault(alias, param)
    if sig.advanced:
        for common in COMMON_PARAMETERS:
            candidates.setdefault(common, None)
        if sig.should_process:
            for common in SHOULD_PROCESS_PARAMETERS:
                candidates.setdefault(common, None)
        for alias, common in COMMON_ALIASES.items():
            if common in candidates and candidates[common] is None:
                candidates.setdefault(alias, None)
    wanted = name.lower()
    for canonical, candidate in candidates.items():
        if canonical.lower() == wanted:
            return (candidate.name if candidate else COMMON_ALIASES.get(wanted, canonical)), candidate
    matches: dict[str, ParamInfo | None] = {}
    for canonical, candidate in candidates.items():
        if canonical.lower().startswith(wanted):
            key = candidate.name if candidate else COMMON_ALIASES.get(canonical.lower(), canonical)
            matches.setdefault(key, candidate)
    if len(matches) == 1:
        key = next(iter(matches))
        return key, matches[key]
    if matches:
        listed = " ".join(f"-{m}" for m in matches)
        raise binding_error(
            f"Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
            f"Possible matches include: {listed}.", "AmbiguousParameter", sig.name, target=name)
    raise binding_error(f"A parameter cannot be found that matches parameter name '{name}'.",
                        "NamedParameterNotFound", sig.name, target=name)


def _type_label(param: ParamInfo) -> str:
    if param.is_switch:
        return "System.Management.Automation.SwitchParameter"
    return "System.Object" if param.type == "object" else param.type


def convert_param(sig: Signature, param: ParamInfo, value: Any) -> Any:
    """Coerce ``value`` to the parameter's type, failing with ParameterArgumentTransformationError."""
    if param.is_switch:
        if value is None:
            return True
        if isinstance(value, (bool, int)):
            return bool(value)
        raise _transformation(sig, param, value, "Invalid cast.")
    if param.type == "object" or value is None:
        return value
    if param.type == "System.Security.SecureString" and isinstance(value, str):
        # PSRP carries a SecureString as such; a plain string does not convert.
        raise _transformation(sig, param, value, "Invalid cast.")
    if isinstance(value, (list, tuple)) and not param.type.endswith("[]") and param.type == "System.String":
        # An array bound to [string] joins with $OFS (a space).
        return " ".join(to_string(v) for v in value)
    try:
        return convert_to(value, param.type)
    except PSError as exc:
        why = exc.record.exception.message
        inner = why.split('Error: "', 1)[1].rstrip('"') if 'Error: "' in why else why
        raise _transformation(sig, param, value, inner) from None


def _transformation(sig: Signature, param: ParamInfo, value: Any, why: str) -> PSError:
    return binding_error(
        f"Cannot process argument transformation on parameter '{param.name}'. "
        f'Cannot convert value "{to_string(value)}" to type "{_type_label(param)}". Error: "{why}"',
        "ParameterArgumentTransformationError", sig.name, target=param.name)


def _take_named(sig: Signature, args: Sequence[Arg]) -> tuple[dict[str, tuple[ParamInfo | None, Any]], list[Any]]:
    named: dict[str, tuple[ParamInfo | None, Any]] = {}
    positional: list[Any] = []
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        i += 1
        if arg.name is None:
            positional.append(arg.value)
            continue
        canonical, param = _resolve(sig, arg.name)
        is_switch = param.is_switch if param is not None else canonical.lower() in COMMON_SWITCHES
        if arg.has_value:
            value = arg.value
        elif is_switch:
            value = True
        elif i < len(items) and items[i].name is None:
            value = items[i].value
            i += 1
        else:
            label = _type_label(param) if param else "System.Object"
            raise binding_error(f"Missing an argument for parameter '{canonical}'. Specify a parameter of type "
                                f"'{label}' and try again.", "MissingArgument", sig.name, target=canonical)
        if canonical in named:
            raise binding_error(f"Cannot bind parameter because parameter '{canonical}' is specified more than once.",
                                "ParameterAlreadyBound", sig.name, target=canonical)
        named[canonical] = (param, value)
    return named, positional


def _choose_set(sig: Signature, named: dict[str, tuple[ParamInfo | None, Any]]) -> str:
    sets: set[str] | None = None
    for param, _ in named.values():
        if param is not None and param.sets:
            sets = set(param.sets) if sets is None else sets & set(param.sets)
    if sets:
        if sig.default_set in sets:
            return sig.default_set
        return sorted(sets)[0]
    if sets is not None:
        raise binding_error("Parameter set cannot be resolved using the specified named parameters.",
                            "AmbiguousParameterSet", sig.name)
    return sig.default_set or "__AllParameterSets"


def bind(sig: Signature, args: Sequence[Arg], *, has_input: bool = False) -> Bound:
    """Bind ``args`` to ``sig``; raises PSError (ParameterBindingException) as PowerShell's binder does."""
    named, positional = _take_named(sig, args)
    chosen = _choose_set(sig, named)
    in_set = [p for p in sig.params if not p.sets or chosen in p.sets or chosen == "__AllParameterSets"]
    values: dict[str, Any] = {}
    common: dict[str, Any] = {}
    for canonical, (param, value) in named.items():
        if param is None:
            common[canonical] = _common_value(sig, canonical, value)
        else:
            values[param.name] = convert_param(sig, param, value)
    free = [p for p in in_set if p.name not in values and not p.is_switch and p.position is not None]
    free.sort(key=lambda p: p.position or 0)  # every free parameter has a position (filtered just above)
    extra: list[Any] = []
    for value in positional:
        if free:
            param = free.pop(0)
            values[param.name] = convert_param(sig, param, value)
        elif sig.advanced:
            raise binding_error(f"A positional parameter cannot be found that accepts argument '{to_string(value)}'.",
                                "PositionalParameterNotFound", sig.name, target=to_string(value))
        else:
            extra.append(value)
    pipeline_param = next((p for p in in_set if p.pipeline and p.name not in values), None) if has_input else None
    missing = [p.name for p in in_set if p.mandatory and p.name not in values and p is not pipeline_param]
    if missing:
        raise binding_error(
            f"Cannot process command because of one or more missing mandatory parameters: {' '.join(missing)}.",
            "MissingMandatoryParameter", sig.name)
    for param in in_set:
        if param.name in values:
            validate(sig, param, values[param.name])
    return Bound(values, common, chosen, extra, pipeline_param)


def _common_value(sig: Signature, name: str, value: Any) -> Any:
    if name in ("ErrorAction", "WarningAction", "InformationAction"):
        text = value.name if hasattr(value, "name") and not isinstance(value, str) else to_string(value)
        for choice in ACTION_PREFERENCES:
            if choice.lower() == text.lower():
                return choice
        raise binding_error(
            f"Cannot bind parameter '{name}'. Cannot convert value \"{text}\" to type "
            f"\"System.Management.Automation.ActionPreference\". Error: \"Unable to match the identifier name {text} "
            f"to a valid enumerator name. Specify one of the following enumerator names and try again:\r\n"
            f"{', '.join(ACTION_PREFERENCES)}\"", "CannotConvertArgumentNoMessage", sig.name, target=name)
    if name.lower() in COMMON_SWITCHES:
        return True if value is None else bool(value) if isinstance(value, (bool, int)) else bool(to_string(value))
    return value


def validate(sig: Signature, param: ParamInfo, value: Any) -> None:
    """Mandatory null/empty checks, then the parameter's [Validate*] attributes."""
    if param.mandatory and not param.allow_null:
        if value is None:
            raise binding_error(f"Cannot bind argument to parameter '{param.name}' because it is null.",
                                "ParameterArgumentValidationErrorNullNotAllowed", sig.name, validation=True,
                                target=param.name)
        if value == "" and not param.allow_empty_string and param.type == "System.String":
            raise binding_error(f"Cannot bind argument to parameter '{param.name}' because it is an empty string.",
                                "ParameterArgumentValidationErrorEmptyStringNotAllowed", sig.name, validation=True,
                                target=param.name)
    for check in param.validators:
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            try:
                check(param.name, item)
            except ValueError as exc:
                raise binding_error(f"Cannot validate argument on parameter '{param.name}'. {exc}",
                                    "ParameterArgumentValidationError", sig.name, validation=True,
                                    target=param.name) from None


def validate_pattern(pattern: str) -> Callable[[str, Any], None]:
    """[ValidatePattern]: the text must match (case-insensitive by default, Metadata.resx)."""
    compiled = re.compile(pattern, re.IGNORECASE)

    def check(_name: str, value: Any) -> None:
        text = to_string(value)
        if not compiled.search(text):
            raise ValueError(f'The argument "{text}" does not match the "{pattern}" pattern. Supply an argument '
                             f'that matches "{pattern}" and try the command again.')

    return check


def validate_range(low: Any, high: Any) -> Callable[[str, Any], None]:
    """[ValidateRange(min, max)]."""

    def check(_name: str, value: Any) -> None:
        if value < low:
            raise ValueError(f"The {to_string(value)} argument is less than the minimum allowed range of {low}. "
                             f"Supply an argument that is greater than or equal to {low} and then try the "
                             "command again.")
        if value > high:
            raise ValueError(f"The {to_string(value)} argument is greater than the maximum allowed range of {high}. "
                             f"Supply an argument that is less than or equal to {high} and then try the command "
                             "again.")

    return check


def validate_set(choices: Sequence[str]) -> Callable[[str, Any], None]:
    """[ValidateSet(...)]: without case (IgnoreCase defaults to true)."""
    lowered = {c.lower() for c in choices}

    def check(_name: str, value: Any) -> None:
        text = to_string(value)
        if text.lower() not in lowered:
            raise ValueError(f'The argument "{text}" does not belong to the set "{",".join(choices)}" specified by '
                             "the ValidateSet attribute. Supply an argument that is in the set and then try the "
                             "command again.")

    return check


def validate_not_null_or_empty(_name: str, value: Any) -> None:
    """[ValidateNotNullOrEmpty]."""
    if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
        raise ValueError("The argument is null or empty. Provide an argument that is not null or empty, and then "
                         "try the command again.")


def plain_psrp(value: Any) -> Any:
    """A deserialised PSRP value as a lab value (psrpcore's str/int subclasses, lists, SecureStrings)."""
    decrypt = getattr(value, "decrypt", None)
    if callable(decrypt):
        return SecureString(str(decrypt()))
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain_psrp(v) for v in value]
    return value


SPEC_TYPES = {
    "object": "object", "string": "System.String", "string[]": "System.String[]", "int": "System.Int32",
    "long": "System.Int64", "bool": "System.Boolean", "switch": "switch", "scriptblock": "object",
    "hashtable": "System.Collections.Hashtable", "datetime": "System.DateTime", "timespan": "System.TimeSpan",
    "securestring": "System.Security.SecureString", "object[]": "System.Object[]", "char[]": "System.Char[]",
}


def type_for_declared(name: str) -> str:
    """A ``[type]`` constraint of a script parameter as a binder type."""
    lowered = name.lower()
    if lowered in ("switch", "system.management.automation.switchparameter"):
        return "switch"
    full = full_type_name(name)
    return "object" if full.lower() in ("system.object", "system.management.automation.psobject") else full
