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

Each step runs one action (``action:`` is a name from ``jcfix templates``, or ``diagnose``). ``params``
values may hold ``{{ expr }}`` placeholders and ``when`` is a condition, both in the small language of
:mod:`toolkit.expressions` (parsed at load, never ``eval``-ed); ``when: {finding: CODE}`` is short for
``has_finding('CODE')``. A value only ever becomes a PSRP parameter, checked by the action's declaration.

What expressions see on a host: ``vars`` (playbook vars, then the host's inventory variables), ``host``
(``name``), ``check_mode``, ``run`` (``id``), ``findings`` and ``blockers`` (of the latest diagnose),
each ``register`` name (``status``, ``changed``, ``findings``, ``blockers``, ``data``, ``error``, and
``results`` for a loop), and ``item`` inside a loop. ``RunId`` parameters default to the run's id, so
``jcfix undo --run-id ID`` undoes a whole playbook run on a host.

A step that fails stops its host (later steps are skipped) unless it says ``continue_on_error: true``;
every item of a loop runs either way.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from toolkit.actions import Action, get_action, registry
from toolkit.agentfiles import DEFAULT_LOG_LINES
from toolkit.errors import UsageError
from toolkit.expressions import (
    Expression,
    ExpressionError,
    parse_expression,
    parse_value,
    render_value,
    value_roots,
)
from toolkit.results import ResultDocument, failed
from toolkit.rules import Finding, diagnose
from toolkit.rules.decided import DecidedFacts
from toolkit.runner import HostChannel, HostReport, Step, skipped_result
from toolkit.yamllines import Locations, describe_path, load_yaml, parse_yaml

DIAGNOSE = "diagnose"
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
    timeout: float | None = Field(default=None, gt=0)
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
    action: Action | None  # None for diagnose
    params: dict[str, Any]
    when: Expression | None
    register: str | None
    loop: Any  # a parsed value that renders to a list, or None
    for_each: ForEachFindings | None
    timeout: float | None
    continue_on_error: bool

    @property
    def runs_action(self) -> Action:
        """The action the step sends to the host (``collect_facts`` for diagnose)."""
        return self.action or get_action("collect_facts")

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
    node = document
    for part in err["loc"]:
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
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
    more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
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


def _validate_step(
    index: int, spec: StepSpec, known: set[str], locations: Locations
) -> tuple[PlaybookStep, str | None]:
    path: tuple[str | int, ...] = ("steps", index)
    if spec.action == DIAGNOSE:
        action = None
        allowed = {"jc_users", "log_lines"}
        for key in spec.params:
            if key not in allowed:
                raise _fail(locations, (*path, "params", key), f"unknown parameter of diagnose ({', '.join(allowed)})")
    else:
        try:
            action = get_action(spec.action)
        except UsageError:
            names = ", ".join([DIAGNOSE, *registry()])
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
            if param.required and param.name not in spec.params and param.name != "RunId":
                raise _fail(locations, (*path, "params"), f"{action.name}: parameter {param.name} is required")
            if param.secret and param.required:
                raise _fail(locations, (*path, "action"), f"{action.name} needs a secret; playbooks cannot run it")
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
    )
    return step, spec.register_name


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
    steps = []
    for index, step_spec in enumerate(spec.steps):
        step, registered = _validate_step(index, step_spec, known, locations)
        steps.append(step)
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
    if path.is_file():
        document_text = path.read_text(encoding="utf-8")
        return parse_playbook(document_text, str(path))
    root = importlib.resources.files(PLAYBOOK_PACKAGE)
    for candidate in (name_or_path, f"{name_or_path}.yml", f"{name_or_path}.yaml"):
        resource = root.joinpath(candidate)
        if "/" not in candidate and resource.is_file():
            return parse_playbook(resource.read_text(encoding="utf-8"), f"{PLAYBOOK_PACKAGE}/{candidate}")
    if path.suffix in (".yml", ".yaml") or "/" in name_or_path:
        load_yaml(path, "playbook")  # raises the file's own error (missing, unreadable)
    raise UsageError(f"no playbook {name_or_path!r} (a file, or one of: {', '.join(shipped_playbooks())})")


# ---- running on one host ----------------------------------------------------------------------------


@dataclass
class PlayOptions:
    """How a playbook runs: check mode, the run id, and the fleet-wide stop flag."""

    check_mode: bool
    run_id: str
    stop: Any = None  # a threading.Event; set: finish the current step, skip the rest


@dataclass
class HostPlayState:
    """One host's expression scope as the playbook advances."""

    scope: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    facts_fresh: ResultDocument[Any] | None = None  # the last facts, until a step may have changed the host


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A finding as expressions and loops see it."""
    return finding.to_dict()


def static_steps(playbook: Playbook, check_mode: bool) -> list[Step]:
    """One placeholder :class:`Step` per playbook step (for hosts that never started)."""
    steps = []
    for step in playbook.steps:
        action = step.runs_action
        rendered = _placeholder_rendered(action)
        steps.append(Step(action, rendered, whatif=check_mode and step.changes_state, name=step.name))
    return steps


def _placeholder_rendered(action: Action) -> Any:
    from toolkit.templates import RenderedScript

    return RenderedScript(action.name, action.version, "", {})


def _host_vars(playbook: Playbook, target_vars: Mapping[str, Any]) -> dict[str, Any]:
    return {**playbook.vars, **target_vars}


def _items(step: PlaybookStep, state: HostPlayState) -> list[Any] | None:
    """The loop items of ``step`` on this host, or None for a step without a loop."""
    if step.for_each is not None:
        wanted = set(step.for_each.findings)
        return [
            finding_dict(f)
            for f in state.findings
            if f.code in wanted and (step.for_each.severity is None or f.severity == step.for_each.severity)
        ]
    if step.loop is not None:
        items = render_value(step.loop, state.scope)
        if not isinstance(items, list):
            raise ExpressionError(f"loop gives a {type(items).__name__}, not a list")
        return items
    return None


def _item_label(item: Any) -> str:
    if isinstance(item, Mapping) and "code" in item:
        who = item.get("subject") or (item.get("evidence") or {}).get("local_username") or ""
        return f"{item['code']} {who}".strip()
    text = str(item)
    return text if len(text) <= 40 else text[:37] + "..."


def _register_value(step: PlaybookStep, results: list[ResultDocument[Any]], findings: list[Finding]) -> dict[str, Any]:
    order = ("failed", "pending", "changed", "ok", "skipped")
    statuses = {r.status for r in results} or {"skipped"}
    first = results[0] if results else None
    value: dict[str, Any] = {
        "status": next(s for s in order if s in statuses),
        "changed": any(r.changed for r in results),
        "findings": [finding_dict(f) for f in findings],
        "blockers": sum(f.severity == "blocker" for f in findings),
        "data": first.data.model_dump(mode="json") if first is not None and first.data is not None else None,
        "error": first.error.model_dump() if first is not None and first.error is not None else None,
    }
    if step.loop is not None or step.for_each is not None:
        value["results"] = [r.to_json_dict() for r in results]
    return value


def _jc_users(values: Mapping[str, Any], scope: Mapping[str, Any]) -> list[str]:
    listed = values.get("jc_users", scope["vars"].get("jc_users") or [])
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
        raise ExpressionError("jc_users must be a list of usernames")
    return listed


def run_playbook_on_host(
    playbook: Playbook,
    channel: HostChannel,
    options: PlayOptions,
) -> HostReport:
    """Run every step of ``playbook`` on ``channel``'s host; never raises for host trouble."""
    target = channel.target
    report = HostReport(target)
    state = HostPlayState(
        scope={
            "vars": _host_vars(playbook, target.vars),
            "host": {"name": target.name, "address": target.connect_address},
            "check_mode": options.check_mode,
            "run": {"id": options.run_id},
            "findings": [],
            "blockers": 0,
        }
    )
    stopped: str | None = None
    for step in playbook.steps:
        if stopped is None and options.stop is not None and options.stop.is_set():
            stopped = "interrupted"
            report.add_note(f"interrupted before step {step.index + 1} ({step.name})")
        if stopped is not None:
            placeholder = Step(step.runs_action, _placeholder_rendered(step.runs_action), name=step.name)
            report.results.append((placeholder, skipped_result(step.runs_action.name, f"not run: {stopped}")))
            continue
        results = list(_run_step(step, state, channel, options, report))
        if step.register is not None:
            findings = state.findings if step.action is None else []
            state.scope[step.register] = _register_value(step, results, findings)
        if any(r.status == "failed" for r in results) and not step.continue_on_error:
            stopped = f"step {step.index + 1} ({step.name}) failed"
    return report


def _run_step(
    step: PlaybookStep, state: HostPlayState, channel: HostChannel, options: PlayOptions, report: HostReport
) -> Iterator[ResultDocument[Any]]:
    action = step.runs_action
    whatif = options.check_mode and step.changes_state
    try:
        items = _items(step, state)
    except ExpressionError as exc:
        result = failed(action.name, "invalid_input", f"loop: {exc}")
        report.results.append((Step(action, _placeholder_rendered(action), name=step.name), result))
        yield result
        return
    iterations: list[tuple[str, Mapping[str, Any]]]
    if items is None:
        iterations = [(step.name, state.scope)]
    else:
        iterations = [(f"{step.name} [{_item_label(item)}]", {**state.scope, "item": item}) for item in items]
        if not iterations:
            result = skipped_result(action.name, "nothing to loop over (no matching findings or items)")
            report.results.append((Step(action, _placeholder_rendered(action), name=step.name), result))
            yield result
            return
    for name, scope in iterations:
        placeholder = Step(action, _placeholder_rendered(action), whatif=whatif, name=name)
        try:
            if step.when is not None and not step.when.test(scope):
                result = skipped_result(action.name, f"condition is false: {step.when.source}")
                report.results.append((placeholder, result))
                yield result
                continue
            values = render_value(step.params, scope)
        except ExpressionError as exc:
            result = failed(action.name, "invalid_input", f"{name}: {exc}")
            report.results.append((placeholder, result))
            yield result
            continue
        if step.action is None:
            result, run_step = _diagnose(step, name, values, scope, state, channel)
            if result.status != "failed" and result.data is not None:
                report.diagnoses[len(report.results)] = list(state.findings)
        else:
            if any(p.name == "RunId" for p in action.params):
                values.setdefault("RunId", options.run_id)
            try:
                rendered = action.render(values)
            except UsageError as exc:
                result = failed(action.name, "invalid_input", str(exc))
                report.results.append((placeholder, result))
                yield result
                continue
            run_step = Step(action, rendered, whatif=whatif, name=name)
            result = channel.run(run_step, timeout=step.timeout)
            if action.changes_state and not whatif:
                state.facts_fresh = None  # the host may have changed: read facts again
        report.results.append((run_step, result))
        yield result


def _diagnose(
    step: PlaybookStep,
    name: str,
    values: Mapping[str, Any],
    scope: Mapping[str, Any],
    state: HostPlayState,
    channel: HostChannel,
) -> tuple[ResultDocument[Any], Step]:
    """collect_facts (reused while nothing has changed the host) and the diagnosis rules."""
    action = get_action("collect_facts")
    try:
        jc_users = _jc_users(values, scope)
        # log_lines bounds how many ERROR/WARN lines the diagnosis keeps: decided in Python from the raw tail.
        log_lines = int(values["log_lines"]) if "log_lines" in values else DEFAULT_LOG_LINES
        rendered = action.render({})
    except (ExpressionError, UsageError) as exc:
        return failed(action.name, "invalid_input", f"{name}: {exc}"), Step(action, _placeholder_rendered(action))
    run_step = Step(action, rendered, name=name)
    # Batching honestly: two diagnoses with nothing state-changing between them read the same facts,
    # so the second reuses the first's pipeline instead of running another.
    result = state.facts_fresh if state.facts_fresh is not None else channel.run(run_step, timeout=step.timeout)
    if result.status != "failed" and result.data is not None:
        state.facts_fresh = result
        decided = DecidedFacts.from_raw(result.data, log_lines=log_lines)
        state.findings = diagnose(channel.target.name, result.data, jc_users, decided=decided)
        state.scope["findings"] = [finding_dict(f) for f in state.findings]
        state.scope["blockers"] = sum(f.severity == "blocker" for f in state.findings)
    return result, run_step
