"""Actions: one PowerShell template plus one declaration beside it.

An action module in this package defines ``ACTION = Action(...)``: its template, the parameters of the
script's ``param()`` block (type, required, secret, validator), its result data model and whether it
changes state. The CLI, playbooks, runner and transport only ever see :class:`Action`
objects, so adding a script means adding a template and a module here, nothing else.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from toolkit.errors import UsageError
from toolkit.secrets import Secret
from toolkit.templates import RenderedScript, extra_dirs, read_marker, render_template
from toolkit.textvalues import parse_bool

if TYPE_CHECKING:  # the result contract (pydantic) is imported when a result is parsed, not to list actions
    from pydantic import BaseModel

    from toolkit.results import DataT, RawOutput, ResultDocument

Validator = Callable[[Any], None]

RUN_ID_PARAM = "RunId"  # the run's id: names a fix's backups on the host, so undo finds them
PARAM_KINDS = ("string", "string[]", "int", "bool", "secret")


@dataclass(frozen=True)
class Param:
    """One parameter of a script's ``param()`` block.

    Attributes:
        name: the PowerShell parameter name, exactly as in the template's ``param()`` block.
        kind: ``string``, ``string[]``, ``int``, ``bool`` (a switch) or ``secret`` (a password that is
            never shown and never accepted on the command line).
        required: the action refuses to render without it.
        help: one line for ``jcfix templates`` and ``--help``.
        validate: raises ``ValueError`` with a user-facing message when a value is not acceptable.
        default: the value used when none is given (None: not sent at all).
        flag: the option(s) of the action's ``jcfix fix`` command (``--user``); None: not offered there.
        env: for a secret, the environment variable it is read from (else the keyring, else a prompt).
        required_when: required only when this holds for the other values (``--method unlink``...).
        warning: printed before anything connects when the parameter is given a true value.
    """

    name: str
    kind: str = "string"
    required: bool = False
    help: str = ""
    validate: Validator | None = None
    default: Any = None
    flag: str | tuple[str, ...] | None = None
    env: str | None = None
    required_when: Callable[[Mapping[str, Any]], bool] | None = None
    warning: str | None = None

    def needed(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter must be given, seeing the other values."""
        return self.required or (self.required_when is not None and self.required_when(values))

    @property
    def flags(self) -> tuple[str, ...]:
        if self.flag is None:
            return ()
        return (self.flag,) if isinstance(self.flag, str) else self.flag

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"parameter {self.name}: unknown kind {self.kind!r}")

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    def convert(self, value: Any) -> Any:
        """Coerce a value from the CLI, a playbook or Python into the declared kind."""
        if self.kind == "secret":
            if not isinstance(value, Secret):
                raise ValueError("is a secret: give it through the environment, the keyring or a prompt")
            return value
        if self.kind == "string[]":
            if isinstance(value, str):
                items = [value]
            elif isinstance(value, (list, tuple)):
                items = list(value)
            else:
                raise ValueError(f"takes text values, not {type(value).__name__}")
            if not all(isinstance(v, str) for v in items):
                raise ValueError("takes text values")
            return items
        if self.kind == "int":
            if isinstance(value, bool):
                raise ValueError("takes a whole number")
            try:
                return int(value)
            except (TypeError, ValueError):
                raise ValueError(f"takes a whole number, not {value!r}") from None
        if self.kind == "bool":
            try:
                return parse_bool(value)
            except ValueError:
                raise ValueError(f"takes true or false, not {value!r}") from None
        if not isinstance(value, str):
            raise ValueError(f"takes text, not {type(value).__name__}")
        return value


@dataclass(frozen=True)
class Remedy:
    """Which findings an action fixes, and its parameters for one of them.

    The ``fix_findings`` playbook step runs every declared remedy, in ``order``, once per matching finding
    of the host's latest diagnosis; so a new fix that declares a remedy joins ``fix-takeover-blockers``
    without an edit to the playbook.

    Attributes:
        findings: the finding codes it fixes.
        params: the action's parameters, as a playbook writes them (``{{ item.subject }}``: the finding).
        severity: only findings of this severity (None: any).
        step: the step's name in reports (default: the action's name).
        order: where it runs among the remedies (lower first).
    """

    findings: tuple[str, ...]
    params: Mapping[str, Any]
    severity: str | None = None
    step: str = ""
    order: int = 50


@dataclass(frozen=True)
class Action:
    """The declaration that sits beside one template.

    Attributes:
        name: the action's name, also the template marker's name.
        template: the ``.ps1.j2`` file in ``ps_templates/``.
        version: the template version, as in its first-line marker.
        summary: one line for ``jcfix templates``.
        params: the script's ``param()`` block, in order.
        result_model: the pydantic model of the document's ``data``, or where it is (``"module:Name"``),
            imported when a result is first parsed: listing actions (``jcfix templates``) then needs no pydantic.
        changes_state: whether the script can change the host (it then honours ``-WhatIf``).
        options: jinja2 shape switches and their defaults; never values.
        command: the name of its ``jcfix fix`` subcommand (None: not a fix).
        remedies: the findings it fixes (:class:`Remedy`), for the ``fix_findings`` playbook step.
        undo_kinds: the kinds of backup record the script saves (``rename``, ``registry``, ``policy``...):
            what ``jcfix undo`` restores after it; empty for an action that saves none.
        preflight: checks the bound parameters together (``--method unlink`` needs
            ``--accept-data-loss``...) and raises ``ValueError`` with a user-facing message.
    """

    name: str
    template: str
    version: int
    summary: str
    params: tuple[Param, ...]
    result_model: type[BaseModel] | str
    changes_state: bool
    options: Mapping[str, Any] = field(default_factory=dict)
    command: str | None = None
    preflight: Callable[[Mapping[str, Any]], None] | None = None
    undo_kinds: tuple[str, ...] = ()
    remedies: tuple[Remedy, ...] = ()

    @property
    def needs_run_id(self) -> bool:
        """Whether the script takes the run's id (``RunId``, its backups' name): callers fill it in, never the user."""
        return any(p.name == RUN_ID_PARAM for p in self.params)

    def data_model(self) -> type[BaseModel]:
        """The pydantic model of the document's ``data`` (imported now when declared as ``"module:Name"``)."""
        if not isinstance(self.result_model, str):
            return self.result_model
        module, _, name = self.result_model.partition(":")
        model: type[BaseModel] = getattr(importlib.import_module(module), name)
        return model

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name.lower() == name.lower():
                return param
        known = ", ".join(p.name for p in self.params) or "none"
        raise UsageError(f"{self.name}: unknown parameter {name!r} (parameters: {known})")

    def bind(self, values: Mapping[str, Any], *, secrets: bool = True) -> dict[str, Any]:
        """Check and convert parameter values; raises :class:`UsageError` naming the parameter.

        With ``secrets=False`` a missing secret is not an error yet: the CLI checks everything else
        before it asks for a password.
        """
        bound: dict[str, Any] = {}
        for key, value in values.items():
            param = self.param(key)
            try:
                converted = param.convert(value)
                if param.validate is not None:
                    param.validate(converted)
            except ValueError as exc:
                raise UsageError(f"{self.name}: parameter {param.name} {exc}") from None
            bound[param.name] = converted
        for param in self.params:
            if param.name in bound:
                continue
            if param.needed(bound) and (secrets or not param.secret):
                raise UsageError(f"{self.name}: parameter {param.name} is required")
            if param.default is not None:
                bound[param.name] = param.default
        if self.preflight is not None:
            try:
                self.preflight(bound)
            except ValueError as exc:
                raise UsageError(f"{self.name}: {exc}") from None
        return bound

    def render_script(self, **options: Any) -> str:
        """The script text for shape ``options``; it takes no values, so none can reach the script."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise UsageError(f"{self.name}: unknown template option(s): {', '.join(sorted(unknown))}")
        script = render_template(self.template, {**self.options, **options})
        marker = read_marker(script)
        if marker != (self.name, self.version):
            raise UsageError(
                f"template {self.template} starts with marker {marker}, declaration says {(self.name, self.version)}"
            )
        return script

    def render(self, values: Mapping[str, Any] | None = None, **options: Any) -> RenderedScript:
        """Check and bind ``values`` (before anything else), then render the script for ``options``."""
        bound = self.bind(values or {})
        return RenderedScript(self.name, self.version, self.render_script(**options), bound)

    def parse(self, raw: RawOutput) -> ResultDocument[Any]:
        """Validate a run's raw output against the contract and this action's data model."""
        from toolkit.results import parse_result

        return parse_result(self.name, raw, self.data_model())


@dataclass(frozen=True)
class PseudoAction:
    """A step name playbooks may use that is no script of its own: it sends ``runs`` and judges the result.

    Declared beside the action it runs (``PSEUDO_ACTION = PseudoAction(...)``); playbooks validate its
    ``params`` like an action's, and the step hands its result to the service of the same name
    (``diagnose``: :mod:`toolkit.services.diagnose`).

    Attributes:
        name: the name a playbook step gives as ``action:``.
        summary: one line for the docs and error messages.
        runs: the action sent to the host; None for a step that stands for other steps (``expands``).
        params: what a step may pass (never script parameters: the service reads them).
        expands: the step becomes one step per declared :class:`Remedy` (``fix_findings``).
    """

    name: str
    summary: str
    runs: str | None
    params: tuple[Param, ...] = ()
    expands: bool = False

    @property
    def action(self) -> Action:
        """The declared action this step sends to the host."""
        if self.runs is None:
            raise UsageError(f"{self.name} runs no action of its own")
        return get_action(self.runs)


def parse_param_args(action: Action, args: Iterable[str]) -> dict[str, Any]:
    """Parse ``--param Name=value`` strings; repeating a ``string[]`` parameter adds values."""
    values: dict[str, Any] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {arg!r}: expected NAME=VALUE")
        param = action.param(key.strip())
        if param.secret:
            raise UsageError(
                f"--param {param.name}: secrets are never taken on the command line "
                f"(set JCFIX_{param.name.upper()} or use the keyring)"
            )
        if param.kind == "string[]":
            values.setdefault(param.name, []).append(value)
        elif param.name in values:
            raise UsageError(f"--param {param.name} given twice")
        else:
            values[param.name] = value
    return values


def _declared_modules() -> Iterable[Any]:
    """This package's declaration modules, then each ``*.py`` in the ``JCFIX_ACTIONS_DIR`` folders."""
    for module_info in pkgutil.iter_modules(__path__):
        if not module_info.name.startswith("_"):
            yield importlib.import_module(f"{__name__}.{module_info.name}")
    for folder in extra_dirs():
        for path in sorted(folder.glob("*.py")):
            spec = importlib.util.spec_from_file_location(f"jcfix_actions_{path.stem}", path)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            yield module


@cache
def pseudo_actions() -> dict[str, PseudoAction]:
    """Every pseudo-action declared beside an action (``PSEUDO_ACTION``), by name."""
    found: dict[str, PseudoAction] = {}
    for module in _declared_modules():
        pseudo = getattr(module, "PSEUDO_ACTION", None)
        if isinstance(pseudo, PseudoAction):
            found[pseudo.name] = pseudo
    return found


@cache
def registry() -> dict[str, Action]:
    """Every action declared in this package (and in the ``JCFIX_ACTIONS_DIR`` folders), by name.

    An action of your own is a template (``NAME.ps1.j2``) and a declaration (a module with ``ACTION =
    Action(...)``) in one folder named by ``JCFIX_ACTIONS_DIR`` (several: ``os.pathsep``-separated):
    ``jcfix run``/``jcfix fix``, playbooks and undo see it like a shipped one.
    """
    actions: dict[str, Action] = {}
    for module in _declared_modules():
        action = getattr(module, "ACTION", None)
        if isinstance(action, Action):
            if action.name in actions:
                raise RuntimeError(f"two actions named {action.name!r}")
            actions[action.name] = action
    return dict(sorted(actions.items()))


def remedies() -> list[tuple[Action, Remedy]]:
    """Every declared remedy with its action, in the order they run."""
    found = [(action, remedy) for action in registry().values() for remedy in action.remedies]
    return sorted(found, key=lambda pair: (pair[1].order, pair[0].name))


def undo_kinds() -> tuple[str, ...]:
    """Every backup record kind some declared action saves: what ``jcfix undo`` must know how to restore."""
    return tuple(sorted({kind for action in registry().values() for kind in action.undo_kinds}))


def get_action(name: str) -> Action:
    """The action called ``name`` (``-`` and ``_`` are the same), or a :class:`UsageError`."""
    key = name.replace("-", "_")
    actions = registry()
    if key not in actions:
        raise UsageError(f"unknown template {name!r} (known: {', '.join(actions)})")
    return actions[key]


def __getattr__(name: str) -> Any:
    # ``DataT`` is re-exported from :mod:`toolkit.results` on first access, so importing this package needs no pydantic.
    if name == "DataT":
        from toolkit.results import DataT

        return DataT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RUN_ID_PARAM",
    "Action",
    "DataT",
    "Param",
    "PseudoAction",
    "Remedy",
    "get_action",
    "parse_param_args",
    "pseudo_actions",
    "registry",
    "remedies",
    "undo_kinds",
]
