"""Running a validated playbook (:mod:`toolkit.playbook`) on one host: conditions, loops, registers, diagnose.

The ``diagnose`` step goes through the one diagnosis (:class:`toolkit.services.diagnose.DiagnoseService`):
device facts, JumpCloud's view of the device and its users, and the rules, as ``jcfix diagnose`` runs them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from toolkit.actions import RUN_ID_PARAM, Action
from toolkit.agentfiles import DEFAULT_LOG_LINES
from toolkit.errors import UsageError
from toolkit.expressions import ExpressionError, render_value
from toolkit.models import worst_status
from toolkit.playbook import Playbook, PlaybookStep
from toolkit.results import ResultDocument, failed
from toolkit.rules import Finding
from toolkit.runner import HostChannel, HostReport, Step, skipped_result
from toolkit.services.diagnose import DiagnoseService


@dataclass
class PlayOptions:
    """How a playbook runs: check mode, the run id, the fleet-wide stop flag and the run's diagnosis.

    ``diagnoser`` is shared by every host of the run (its JumpCloud reader reads each user list and
    device once); the default diagnoses from the device alone.
    """

    check_mode: bool
    run_id: str
    stop: Any = None  # a threading.Event; set: finish the current step, skip the rest
    diagnoser: DiagnoseService = field(default_factory=DiagnoseService)


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
    first = results[0] if results else None
    value: dict[str, Any] = {
        # The worst status of the step's results (one order for the whole product); no result: skipped.
        "status": worst_status(r.status for r in results) if results else "skipped",
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
            findings = state.findings if step.pseudo is not None else []
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
        # A finding that lacks what its fix needs (a spaced name with no JumpCloud username to rename to)
        # is for the admin to decide: skipped with the reason, not a failed step.
        unknown = sorted(k for k, v in values.items() if v is None) if step.for_each is not None else []
        if unknown:
            result = skipped_result(action.name, f"the finding gives no {', '.join(unknown)}: decide it, fix by hand")
            report.results.append((placeholder, result))
            yield result
            continue
        if step.pseudo is not None:  # diagnose, the one pseudo-action: its service judges the facts
            result, run_step = _diagnose(step, name, values, scope, state, channel, options.diagnoser)
            if result.status != "failed" and result.data is not None:
                report.diagnoses[len(report.results)] = list(state.findings)
        else:
            if action.needs_run_id:
                values.setdefault(RUN_ID_PARAM, options.run_id)
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
    diagnoser: DiagnoseService,
) -> tuple[ResultDocument[Any], Step]:
    """collect_facts (reused while nothing has changed the host), then the one diagnosis over them."""
    action = step.runs_action
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
        diagnosis = diagnoser.diagnose_facts(channel.target.name, result.data, jc_users, log_lines=log_lines)
        state.findings = diagnosis.findings
        state.scope["findings"] = [finding_dict(f) for f in state.findings]
        state.scope["blockers"] = sum(f.severity == "blocker" for f in state.findings)
    return result, run_step
