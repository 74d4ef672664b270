"""Choosing hosts by what is wrong with them or by how a past run went (issue 13 item 10).

- ``--where finding=MSA_LINKED`` / ``--where severity=blocker`` (repeatable, ANDed): the hosts with a finding
  that meets every condition, judged by a fresh diagnosis (one ``collect_facts`` pass, recorded like any
  run) or, with ``--from-run RUN``, by the findings of that run in the run history.
- ``--limit @RUN:failed`` (also ``@RUN:changed``, ``@RUN:all``): the hosts that failed or were unreachable
  (changed; were part of) in run RUN, by the run history; combined with the other ``--limit`` patterns.
- ``--limit @=NAME``: exactly the host NAME (no wildcards, never a group of that name): the form the
  suggested commands use, so that a fix printed for host ``sales`` does not also run on a group ``sales``.

Bad expressions and run ids the history does not know are :class:`~toolkit.errors.UsageError` (exit 2).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import UsageError
from toolkit.history import History, history_path
from toolkit.history.read import RunRow
from toolkit.models import FAILURE_STATUSES
from toolkit.results import SEVERITY_ORDER, Finding
from toolkit.transport.base import HostTarget

WHERE_KEYS = ("finding", "severity")
RUN_SELECTIONS = ("failed", "changed", "all")
_CODE = re.compile(r"[A-Za-z0-9_*?\[\]]+")
_RUN_PATTERN = re.compile(r"@(?P<run>[^:]+)(?::(?P<kind>.*))?")
# "@=NAME": one host by its exact name. "=" is not in a run id (RUN_ID_RE), so no run's pattern reads so.
HOST_PATTERN_PREFIX = "@="


def host_pattern(name: str) -> str:
    """The ``--limit`` pattern that selects exactly the host ``name``: not a group, not a wildcard match."""
    return HOST_PATTERN_PREFIX + name


@dataclass(frozen=True)
class Condition:
    """One ``--where KEY=VALUE``: ``finding`` (a code, shell wildcards allowed) or ``severity``."""

    key: str
    value: str

    def matches(self, finding: Finding) -> bool:
        """Whether ``finding`` meets this condition."""
        if self.key == "severity":
            return finding.severity == self.value
        return fnmatch.fnmatchcase(finding.code.upper(), self.value)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


def parse_where(expressions: Sequence[str]) -> list[Condition]:
    """``--where`` values as conditions; a :class:`UsageError` naming the bad one."""
    conditions = []
    for text in expressions:
        key, equals, value = (part.strip() for part in text.partition("="))
        if not equals or key not in WHERE_KEYS or not value:
            raise UsageError(f"--where {text!r}: expected finding=CODE or severity=LEVEL")
        if key == "severity" and value.lower() not in SEVERITY_ORDER:
            raise UsageError(f"--where {text!r}: severity is one of {', '.join(SEVERITY_ORDER)}")
        if key == "finding" and not _CODE.fullmatch(value):
            raise UsageError(f"--where {text!r}: a finding code is letters, digits and _ (wildcards * ?)")
        conditions.append(Condition(key, value.lower() if key == "severity" else value.upper()))
    return conditions


def selected(findings: Iterable[Finding], conditions: Sequence[Condition]) -> bool:
    """Whether one of ``findings`` meets every condition (conditions AND, over the same finding)."""
    return any(all(c.matches(f) for c in conditions) for f in findings)


def _attempts(history: History, run_id: str, path: Path) -> list[RunRow]:
    attempts = history.attempts(run_id)
    if not attempts:
        raise UsageError(f"run {run_id} is not in the run history ({path}); see jcfix runs list")
    return attempts


def run_hosts(history_file: Path | None, run_id: str, kind: str) -> set[str]:
    """The hosts of run ``run_id`` (every attempt; the latest status of a host wins) that ``kind`` selects.

    ``failed``: failed or unreachable; ``changed``: the run changed them; ``all``: every host it recorded.
    """
    if kind not in RUN_SELECTIONS:
        raise UsageError(f"--limit @{run_id}:{kind}: after the run id comes one of {', '.join(RUN_SELECTIONS)}")
    path = history_path(history_file)
    if not path.exists():
        raise UsageError(f"run {run_id} is not in the run history ({path}: no such file)")
    latest: dict[str, tuple[str, bool]] = {}
    with History(path) as history:
        for attempt in _attempts(history, run_id, path):
            for row in history.hosts(attempt.seq):
                latest[row.host] = (row.status, row.changed or row.status == "changed")
    if kind == "failed":
        return {h for h, (status, _) in latest.items() if status in FAILURE_STATUSES}
    if kind == "changed":
        return {h for h, (_, changed) in latest.items() if changed}
    return set(latest)


def run_pattern(pattern: str) -> tuple[str, str] | None:
    """``(run_id, kind)`` of a ``@RUN:kind`` limit pattern; None for an ordinary pattern."""
    found = _RUN_PATTERN.fullmatch(pattern)
    if found is None:
        return None
    kind = found["kind"]
    if not kind:
        raise UsageError(f"--limit {pattern!r}: write @RUN:failed, @RUN:changed or @RUN:all")
    return found["run"], kind


def run_resolver(history_file: Path | None) -> Callable[[str], set[str]]:
    """For :func:`toolkit.inventory.apply_limit`: a ``@RUN:kind`` or ``@=NAME`` pattern -> the host names it
    selects."""

    resolved: dict[str, set[str]] = {}  # read once per pattern, not once per host

    def resolve(pattern: str) -> set[str]:
        if pattern.startswith(HOST_PATTERN_PREFIX):
            name = pattern[len(HOST_PATTERN_PREFIX) :].strip()
            if not name:
                raise UsageError(f"--limit {pattern!r}: write @=NAME, NAME a host's exact name")
            return {name}
        if pattern not in resolved:
            parsed = run_pattern(pattern)
            if parsed is None:
                raise UsageError(f"--limit {pattern!r}: write @RUN:failed, @RUN:changed or @RUN:all")
            resolved[pattern] = run_hosts(history_file, *parsed)
        return resolved[pattern]

    return resolve


def recorded_findings(
    history_file: Path | None, run_id: str, targets: Sequence[HostTarget]
) -> dict[str, list[Finding]]:
    """Each recorded host's findings in run ``run_id``: its steps' own findings and, for its last facts
    step, the diagnosis the run showed (stored since history schema 3), else the diagnosis rules over the
    stored facts (for the users the inventory expects on it now)."""
    path = history_path(history_file)
    if not path.exists():
        raise UsageError(f"--from-run {run_id}: the run history {path} does not exist")
    by_name = {t.name: t for t in targets}
    found: dict[str, list[Finding]] = {}
    with History(path) as history:
        for attempt in _attempts(history, run_id, path):
            for row in history.hosts(attempt.seq):
                if row.host in by_name:
                    found[row.host] = _step_findings(history.steps(attempt.seq, row.host), by_name[row.host])
    return found


def _step_findings(steps: Sequence[Any], target: HostTarget) -> list[Finding]:
    from toolkit.facts import HostFacts
    from toolkit.rules import diagnose
    from toolkit.services.diagnose import expected_users

    findings: list[Finding] = []
    facts = None
    shown: list[Finding] | None = None  # the diagnosis the run showed for its last facts step, when stored
    for step in steps:
        for stored in step.document.get("findings") or []:
            if isinstance(stored, Mapping) and stored.get("severity") in SEVERITY_ORDER:
                findings.append(Finding(str(stored.get("code")), stored["severity"], str(stored.get("message", ""))))
        data = step.document.get("data")
        if step.action == "collect_facts" and isinstance(data, Mapping) and not step.document.get("data_partial"):
            facts, shown = data, getattr(step, "findings", None)
    if shown is not None:  # judged as the run judged (its expected users), not by the rules run again
        return findings + list(shown)
    if facts is not None:
        try:
            parsed = HostFacts.model_validate(facts)
        except ValueError:  # stored by another jcfix version (or compacted): only the steps' own findings
            return findings
        findings += diagnose(target.name, parsed, expected_users(target))
    return findings


@dataclass(frozen=True)
class WhereResult:
    """The hosts ``--where`` selected, in the fleet's order, and those it could not judge."""

    targets: list[HostTarget]
    undiagnosed: list[str]
    source: str  # "a fresh diagnosis (run ID)" or "run RUN": said in the summary line


def where_from_run(
    targets: Sequence[HostTarget], conditions: Sequence[Condition], history_file: Path | None, run_id: str
) -> WhereResult:
    """``--where`` judged by the findings run ``run_id`` recorded (hosts it did not record are left out)."""
    recorded = recorded_findings(history_file, run_id, targets)
    chosen = [t for t in targets if selected(recorded.get(t.name, ()), conditions)]
    return WhereResult(chosen, [t.name for t in targets if t.name not in recorded], f"run {run_id}")


def where_fresh(fleet: Any, conditions: Sequence[Condition]) -> WhereResult:
    """``--where`` judged by a fresh diagnosis of ``fleet`` (a :class:`~toolkit.services.run_action.Fleet`)."""
    from toolkit.services.diagnose import diagnose_fleet, expected_users

    diagnosed = diagnose_fleet(fleet, {t.name: expected_users(t) for t in fleet.targets})
    chosen, undiagnosed = [], []
    for report, diagnosis in diagnosed:
        if report.status in FAILURE_STATUSES or diagnosis.facts is None:
            undiagnosed.append(report.target.name)
        elif selected(diagnosis.findings, conditions):
            chosen.append(report.target)
    return WhereResult(chosen, undiagnosed, "a fresh diagnosis")
