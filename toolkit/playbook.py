"""Playbooks: steps that call jcfix actions on each host, with conditions, registers and loops.

::

    name: Fix takeover blockers
    vars: {log_lines: 20}                 # defaults; the inventory's host variables override them
    steps:
      - name: Diagnose
        action: diagnose                   # collect_facts + the diagnosis rules (read-only)
        register: before
      - name: Rename to the JumpCloud username
        action: rename_user
        for_each: {findings: [CASE_MISMATCH, FULLNAME_ONLY_MATCH], severity: blocker}
        params: {UserName: "{{ item.evidence.local_username }}", NewName: "{{ item.subject }}"}
        timeout: 60
      - action: diagnose
        when: not check_mode and before.blockers > 0

Each step runs one action (``action:`` is a name from ``jcfix templates``) or a declared pseudo-action:
``diagnose`` (collect_facts + the one diagnosis, :mod:`toolkit.services.diagnose`), or ``fix_findings``
(one step per fix that declares a :class:`~toolkit.actions.Remedy`, each looping over its findings). ``params``
values may hold ``{{ expr }}`` placeholders and ``when`` is a condition, both in the small language of
:mod:`toolkit.expressions` (parsed at load, never ``eval``-ed); ``when: {finding: CODE}`` is short for
``has_finding('CODE')``. A value only ever becomes a PSRP parameter, checked by the action's declaration.

What expressions see on a host: ``vars`` (playbook vars, then the host's inventory variables), ``host``
(``name``), ``check_mode``, ``run`` (``id``), ``findings`` and ``blockers`` (of the latest diagnose),
each ``register`` name (``status``, ``changed``, ``findings``, ``blockers``, ``data``, ``error``, and
``results`` for a loop), and ``item`` inside a loop. ``RunId`` parameters default to the run's id, so
``jcfix undo --run-id ID`` undoes a whole playbook run on a host. Running a playbook on a host:
:mod:`toolkit.playbook_run`.

A step that fails stops its host (later steps are skipped) unless it says ``continue_on_error: true``;
every item of a loop runs either way.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolkit.actions import (
    RUN_ID_PARAM,
    Action,
    Param,
    PseudoAction,
    get_action,
    pseudo_actions,
    registry,
    remedies,
)
from toolkit.errors import UsageError
from toolkit.expressions import (
    Expression,
    ExpressionError,
    Template,
    parse_expression,
    parse_value,
    value_roots,
)
from toolkit.textvalues import plural
from toolkit.yamllines import Locations, describe_path, load_yaml, parse_yaml, read_text_file

DIAGNOSE = "diagnose"  # the pseudo-action collect_facts declares (toolkit.actions.collect_facts)
PLAYBOOK_PACKAGE = "toolkit.playbooks"
_REGISTER_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Names every expression may read; registers add theirs, loops add ``item``.
SCOPE_NAMES = frozenset({"vars", "host", "check_mode", "run", "findings", "blockers"})
FINDING_SEVERITIES = ("blocker", "warning", "info")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class ForEachFindings(_Strict):
    """Loop over the latest diagnose's findings with these codes (and, optionally, this severity)."""

    findings: list[str] = Field(min_length=1)
    severity: Literal["blocker", "warning", "info"] | None = None

    @field_validator("findings", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class StepSpec(_Strict):
    """One step as written in the playbook."""

    name: str | None = None
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    when: str | dict[str, Any] | None = None
    register_name: str | None = Field(default=None, alias="register")
    loop: list[Any] | str | None = None
    for_each: ForEachFindings | None = None
    timeout: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    continue_on_error: bool = False


class PlaybookSpec(_Strict):
    """A playbook as written."""

    name: str
    description: str = ""
    vars: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepSpec] = Field(min_length=1)


@dataclass(frozen=True)
class PlaybookStep:
    """A validated step: its action, parsed params, condition and loop."""

    index: int
    name: str
    action: Action | None  # None for a pseudo-action
    params: dict[str, Any]
    when: Expression | None
    register: str | None
    loop: Any  # a parsed value that renders to a list, or None
    for_each: ForEachFindings | None
    timeout: float | None
    continue_on_error: bool
    pseudo: PseudoAction | None = None  # the declared pseudo-action (diagnose), when the step is one

    @property
    def runs_action(self) -> Action:
        """The action the step sends to the host (a pseudo-action's declared ``runs``: collect_facts)."""
        if self.action is not None:
            return self.action
        assert self.pseudo is not None  # a step is an action or a pseudo-action
        return self.pseudo.action

    @property
    def changes_state(self) -> bool:
        return self.action is not None and self.action.changes_state


@dataclass(frozen=True)
class Playbook:
    """A validated playbook, ready to run on hosts."""

    name: str
    source: str
    description: str
    vars: dict[str, Any]
    steps: tuple[PlaybookStep, ...]

    @property
    def can_change(self) -> bool:
        """Whether any step can change a host (then it runs in check mode unless applied)."""
        return any(step.changes_state for step in self.steps)


# ---- loading and validation ---------------------------------------------------------------------------


def _pydantic_error(exc: ValidationError, document: Any, locations: Locations) -> UsageError:
    err = exc.errors()[0]
    # Keep the part of pydantic's location that exists in the document (it adds type names for unions).
    path: list[str | int] = []
    node: Any = document
    for part in err["loc"]:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[int(part)]  # int(): mypy does not carry the narrowing of ``part`` here
        elif err["type"] in ("missing", "extra_forbidden") and isinstance(node, Mapping) and isinstance(part, str):
            path.append(part)
            break
        else:
            continue
        path.append(part)
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "missing":
        message = "required field missing"
    line_path = path if err["type"] != "missing" else path[:-1]
    more = f" (and {plural(len(exc.errors()) - 1, 'more problem')})" if len(exc.errors()) > 1 else ""
    return UsageError(f"{locations.where(line_path)}: {describe_path(path)}: {message}{more}")


def _fail(locations: Locations, path: Sequence[str | int], message: str) -> UsageError:
    return UsageError(f"{locations.where(path)}: {describe_path(path)}: {message}")


def _parse_when(when: str | dict[str, Any] | None, locations: Locations, path: tuple[str | int, ...]) -> Any:
    if when is None:
        return None
    if isinstance(when, dict):
        if set(when) != {"finding"}:
            raise _fail(locations, path, "a mapping condition is {finding: CODE} or {finding: [CODE, ...]}")
        codes = when["finding"]
        codes = [codes] if isinstance(codes, str) else codes
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            raise _fail(locations, (*path, "finding"), "must be a finding code or a list of codes")
        when = "has_finding(" + ", ".join(repr(c) for c in codes) + ")"
    try:
        return parse_expression(when)
    except ExpressionError as exc:
        raise _fail(locations, path, f"{exc}") from None


def _check_roots(roots: set[str], known: set[str], locations: Locations, path: tuple[str | int, ...]) -> None:
    unknown = sorted(roots - known)
    if unknown:
        raise _fail(
            locations,
            path,
            f"unknown name {unknown[0]!r} (known here: {', '.join(sorted(known))}; a register is known after its step)",
        )


def _step_action(
    spec: StepSpec, locations: Locations, path: tuple[str | int, ...]
) -> tuple[PseudoAction | None, Action | None]:
    """The step's declared pseudo-action or action, its ``params`` checked against the declaration."""
    pseudo = pseudo_actions().get(spec.action)
    action: Action | None = None
    if pseudo is not None:
        allowed = [p.name for p in pseudo.params]
        for key in spec.params:
            if key not in allowed:
                message = f"unknown parameter of {pseudo.name} ({', '.join(allowed)})"
                raise _fail(locations, (*path, "params", key), message)
    else:
        try:
            action = get_action(spec.action)
        except UsageError:
            names = ", ".join([*pseudo_actions(), *registry()])
            raise _fail(locations, (*path, "action"), f"unknown action {spec.action!r} (actions: {names})") from None
        for key in spec.params:
            try:
                param = action.param(key)
            except UsageError as exc:
                raise _fail(locations, (*path, "params", key), str(exc)) from None
            if param.secret:
                raise _fail(
                    locations, (*path, "params", key), "a secret is never written in a playbook; it cannot be given"
                )
        for param in action.params:
            filled_in = action.needs_run_id and param.name == RUN_ID_PARAM  # the run's id, given by the run
            if param.required and param.name not in spec.params and not filled_in:
                raise _fail(locations, (*path, "params"), f"{action.name}: parameter {param.name} is required")
            if param.secret and param.required:
                raise _fail(locations, (*path, "action"), f"{action.name} needs a secret; playbooks cannot run it")
    return pseudo, action


def _has_placeholder(value: Any) -> bool:
    if isinstance(value, Template):
        return True
    if isinstance(value, Mapping):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_placeholder(v) for v in value)
    return False


def _check_literals(
    owner: str, declared: Sequence[Param], params: Mapping[str, Any], locations: Locations, path: tuple[str | int, ...]
) -> None:
    """Check each parameter written as a literal by its declared rules, once at load: a bad one would fail on
    every host. A value with a ``{{ }}`` placeholder is checked when it is rendered on a host."""
    by_name = {param.name.lower(): param for param in declared}
    for key, value in params.items():
        param = by_name.get(str(key).lower())
        if param is None or _has_placeholder(value):
            continue
        try:
            converted = param.convert(value)
            if param.validate is not None:
                param.validate(converted)
        except ValueError as exc:
            raise _fail(locations, (*path, key), f"{owner}: parameter {param.name} {exc}") from None


def _validate_step(
    index: int, spec: StepSpec, known: set[str], locations: Locations
) -> tuple[PlaybookStep, str | None]:
    path: tuple[str | int, ...] = ("steps", index)
    pseudo, action = _step_action(spec, locations, path)
    if spec.loop is not None and spec.for_each is not None:
        raise _fail(locations, (*path, "loop"), "give loop or for_each, not both")
    in_scope = set(known)
    if spec.loop is not None or spec.for_each is not None:
        in_scope.add("item")
    try:
        params = parse_value(spec.params)
        loop = parse_value(spec.loop) if spec.loop is not None else None
    except ExpressionError as exc:
        raise _fail(locations, (*path, "params" if spec.loop is None else "loop"), str(exc)) from None
    for key, value in params.items():
        _check_roots(value_roots(value), in_scope, locations, (*path, "params", key))
    declared = action or pseudo
    if declared is not None:
        _check_literals(declared.name, declared.params, params, locations, (*path, "params"))
    if loop is not None:
        if isinstance(loop, str):
            raise _fail(locations, (*path, "loop"), "must be a list or a '{{ expression }}' giving one")
        _check_roots(value_roots(loop), known, locations, (*path, "loop"))
    when = _parse_when(spec.when, locations, (*path, "when"))
    if when is not None:
        _check_roots(when.roots, in_scope, locations, (*path, "when"))
    if spec.register_name is not None and (
        not _REGISTER_NAME.match(spec.register_name) or spec.register_name in SCOPE_NAMES | {"item"}
    ):
        raise _fail(locations, (*path, "register"), f"{spec.register_name!r} cannot be a register name")
    name = spec.name or spec.action
    step = PlaybookStep(
        index=index,
        name=name,
        action=action,
        params=params,
        when=when,
        register=spec.register_name,
        loop=loop,
        for_each=spec.for_each,
        timeout=spec.timeout,
        continue_on_error=spec.continue_on_error,
        pseudo=pseudo,
    )
    return step, spec.register_name


def _expanded(spec: StepSpec, locations: Locations, path: tuple[str | int, ...]) -> list[StepSpec]:
    """``spec``, or for an expanding pseudo-action (``fix_findings``) one step per declared remedy."""
    pseudo = pseudo_actions().get(spec.action)
    if pseudo is None or not pseudo.expands:
        return [spec]
    for key in ("params", "loop", "for_each", "register_name"):
        if getattr(spec, key):
            field_name = "register" if key == "register_name" else key
            message = f"{pseudo.name} takes no {field_name}: each fix declares its own"
            raise _fail(locations, (*path, field_name), message)
    return [
        StepSpec(
            name=remedy.step or action.name,
            action=action.name,
            params=dict(remedy.params),
            when=spec.when,
            for_each=ForEachFindings(findings=list(remedy.findings), severity=remedy.severity),  # type: ignore[arg-type]
            timeout=spec.timeout,
            continue_on_error=spec.continue_on_error,
        )
        for action, remedy in remedies()
    ]


def parse_playbook(text: str, source: str) -> Playbook:
    """Validate playbook ``text`` (named ``source`` in errors); raises :class:`UsageError` with file:line: field."""
    document, locations = parse_yaml(text, source)
    if not isinstance(document, dict):
        raise UsageError(f"{locations.where(())}: a playbook is a mapping with 'name:' and 'steps:'")
    try:
        spec = PlaybookSpec.model_validate(document)
    except ValidationError as exc:
        raise _pydantic_error(exc, document, locations) from None
    known = set(SCOPE_NAMES)
    steps: list[PlaybookStep] = []
    for index, written in enumerate(spec.steps):
        for step_spec in _expanded(written, locations, ("steps", index)):
            step, registered = _validate_step(index, step_spec, known, locations)
            steps.append(replace(step, index=len(steps)))
            if registered is not None:
                known.add(registered)
    return Playbook(spec.name, source, spec.description, dict(spec.vars), tuple(steps))


def shipped_playbooks() -> list[str]:
    """Names of the playbooks shipped with jcfix."""
    root = importlib.resources.files(PLAYBOOK_PACKAGE)
    return sorted(p.name for p in root.iterdir() if p.name.endswith((".yml", ".yaml")))


def load_playbook(name_or_path: str) -> Playbook:
    """A playbook from a file, or a shipped one by name (``takeover-readiness`` or ``takeover-readiness.yml``)."""
    path = Path(name_or_path)
    if _is_file(path.is_file):
        return parse_playbook(read_text_file(path, "playbook"), str(path))
    root = importlib.resources.files(PLAYBOOK_PACKAGE)
    for candidate in (name_or_path, f"{name_or_path}.yml", f"{name_or_path}.yaml"):
        resource = root.joinpath(candidate)
        if "/" not in candidate and _is_file(resource.is_file):
            return parse_playbook(resource.read_text(encoding="utf-8"), f"{PLAYBOOK_PACKAGE}/{candidate}")
    if path.suffix in (".yml", ".yaml") or "/" in name_or_path:
        load_yaml(path, "playbook")  # raises the file's own error (missing, unreadable)
    raise UsageError(f"no playbook {name_or_path!r} (a file, or one of: {', '.join(shipped_playbooks())})")


def _is_file(is_file: Callable[[], bool]) -> bool:
    """``is_file()`` of a path, false for a name the OS refuses (too long...) rather than an error."""
    try:
        return is_file()
    except OSError:
        return False
