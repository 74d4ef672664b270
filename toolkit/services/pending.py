"""Pending fixes, read from the run history: a blocker whose fix already ran and now waits (for a sign-out,
for the user) is reported as pending, with no second fix suggested.

A fix step that returned ``pending`` opens a pending fix for the finding its action remedies (the
action's declared :class:`~toolkit.actions.Remedy`: ``HELLO_PIN_SET`` for ``remove_pin``...) on that host
and account. It stays open until, in a later run of the same host, the same fix returns ``ok`` or
``changed`` (done), or a later diagnosis read the host's facts and the finding was gone: a finding that
comes back after that is a new one, and gets its fix suggested again; or when the task the fix left on
the host expired unused (``remove_pin``'s sign-in task: ``ExpireDays`` after the run, default 14). Only
the history is read (:class:`toolkit.history.History`, through its steps' indexes: what is read grows with
the fixes run, not with the hosts diagnosed); nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.actions import Action, Remedy, remedies
from toolkit.actions.remove_pin import DEFAULT_EXPIRE_DAYS
from toolkit.facts import HostFacts
from toolkit.history import History, RunRow, StepRow
from toolkit.results import Finding

# How many of the latest runs are read: a pending fix older than that is forgotten.
RECENT_RUNS = 500
# A remedy parameter written as one finding field: ``{{ item.subject }}``, ``{{ item.evidence.local_username }}``.
_FIELD = re.compile(r"^\{\{\s*item\.(subject|evidence\.\w+)\s*\}\}$")
_FIX_STATUSES = ("pending", "ok", "changed")  # a fix step that opens (pending) or ends (ok, changed) one
EXPIRE_PARAM = "ExpireDays"  # a fix's parameter: days until the task it left on the host expires
_DEFAULT_WAIT = "the fix to complete on the host; run 'jcfix diagnose' again later"


@dataclass(frozen=True)
class PendingFix:
    """A fix step that returned ``pending``: which finding it fixes, where, and what it waits for.

    ``fields``: the finding fields the step's parameters name (``{"evidence.local_username": "pat"}``).
    ``expires``: for a fix that leaves a task waiting on the host (``remove_pin``'s sign-in task, which
    deletes itself ``ExpireDays`` after the run), when it stops waiting.
    """

    host: str
    action: str
    codes: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]
    run_id: str
    started: str
    waiting_for: str
    expires: str | None = None  # when the fix's sign-in task expires unused (ISO 8601), None: never

    def matches(self, finding: Finding) -> bool:
        """Whether ``finding`` is the one this fix is waiting to clear."""
        return finding.code in self.codes and all(_field(finding, name) == value for name, value in self.fields)

    def entry(self, finding: Finding) -> dict[str, Any]:
        """The diagnosis document's ``pending`` entry for ``finding``."""
        subject = finding.subject
        return {"code": finding.code, "subject": subject, "run_id": self.run_id, "waiting_for": self.waiting_for}


def _expires(action: Action, step: StepRow, run: RunRow) -> str | None:
    """When the task a fix step left on the host expires: ``ExpireDays`` (its recorded parameter, else the
    action's default) after the run started; None for an action without such a task."""
    if not any(param.name == EXPIRE_PARAM for param in action.params):
        return None
    try:
        days = int(step.parameters.get(EXPIRE_PARAM) or DEFAULT_EXPIRE_DAYS)
        return (_instant(run.started) + timedelta(days=days)).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError):
        return None  # an unreadable record: left pending, as before expiry was known


def _instant(text: str) -> datetime:
    """An ISO 8601 time as the history stores it (naive ones taken as UTC)."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _field(finding: Finding, name: str) -> Any:
    if name == "subject":
        return finding.subject
    return finding.evidence.get(name.removeprefix("evidence."))


def _bound_fields(remedy: Remedy, step: StepRow) -> tuple[tuple[str, str], ...] | None:
    """The finding fields ``step``'s parameters pin down through ``remedy`` (None: the step does not say)."""
    fields = []
    for param, template in remedy.params.items():
        found = _FIELD.match(template) if isinstance(template, str) else None
        if found is None or param not in step.parameters:
            continue
        fields.append((found.group(1), str(step.parameters[param])))
    return tuple(fields) or None


def _waiting_for(step: StepRow) -> str:
    """What the host said the fix waits for: its last note (the fix scripts end with it), else a default."""
    data = step.document.get("data")
    notes = data.get("notes") if isinstance(data, dict) else None
    if isinstance(notes, list) and notes and isinstance(notes[-1], str):
        return notes[-1]
    return _DEFAULT_WAIT


def _facts(step: StepRow) -> HostFacts | None:
    """The facts a ``collect_facts`` step read, as stored (None: not readable any more)."""
    data = step.document.get("data")
    if not isinstance(data, dict):
        return None
    try:
        return HostFacts.model_validate(_uncompacted(data))
    except ValidationError:
        return None


def _uncompacted(value: Any) -> Any:
    """A stored document without the history's ``base64_omitted_chars`` markers (big raw files left out)."""
    if isinstance(value, list):
        return [_uncompacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _uncompacted(v) for k, v in value.items() if k != "base64_omitted_chars"}
    return value


@dataclass
class PendingIndex:
    """The open pending fixes of some hosts, by host."""

    open: dict[str, list[PendingFix]] = field(default_factory=dict)

    @classmethod
    def read(
        cls, path: Path, hosts: Iterable[str], *, recent: int = RECENT_RUNS, now: datetime | None = None
    ) -> PendingIndex:
        """The open pending fixes of ``hosts`` in the history at ``path`` (none when it does not exist).

        Bounded for big fleets: one indexed query for the fix steps of the latest ``recent`` runs (as many
        rows as fixes were run, not hosts diagnosed), then, only for the hosts a fix left pending, their
        later ``collect_facts`` steps (which may end it). A fix whose sign-in task expired by ``now``
        (``ExpireDays`` after its run) is no longer pending.
        """
        index = cls()
        if not path.exists():
            return index
        wanted = set(hosts)
        with History(path) as history:
            latest = history.runs(recent)
            runs = {run.seq: run for run in latest if not run.check_mode}
            if not runs:
                return index
            since = min(run.seq for run in latest)
            actions = sorted({action.name for action, _ in remedies()})
            steps = [
                (seq, step)
                for seq, step in history.action_steps(actions, since, _FIX_STATUSES)
                if seq in runs and step.host in wanted and not step.whatif
            ]
            opened: dict[str, int] = {}  # host -> the first run a fix step of it returned pending
            for seq, step in steps:
                if step.status == "pending":
                    opened.setdefault(step.host, seq)
            for host, first in sorted(opened.items()):
                diagnoses = history.host_steps(host, "collect_facts", first, "ok")
                steps.extend((seq, step) for seq, step in diagnoses if seq in runs and not step.whatif)
        # Each host's steps in the order they ran: run by run, and by position within a run.
        for seq, step in sorted(steps, key=lambda pair: (pair[0], pair[1].position)):
            index._step(runs[seq], step.host, step)
        index._drop_expired(now or datetime.now(timezone.utc))
        return index

    def _drop_expired(self, now: datetime) -> None:
        """End the pending fixes whose sign-in task expired unused: nothing on the host waits any more."""
        for host, fixes in self.open.items():
            self.open[host] = [p for p in fixes if p.expires is None or _instant(p.expires) > now]

    def _step(self, run: RunRow, host: str, step: StepRow) -> None:
        if step.action == "collect_facts" and step.status == "ok":
            self._close_cleared(host, step)
            return
        for action, remedy in remedies():
            fields = _bound_fields(remedy, step) if action.name == step.action else None
            if fields is None:
                continue
            if step.status not in ("pending", "ok", "changed"):
                continue  # failed or skipped: whatever was pending before still is
            # The same fix of the same account again: pending replaces the older one, ok or changed ends it.
            kept = [p for p in self.open.get(host, []) if (p.action, p.fields) != (action.name, fields)]
            if step.status == "pending":
                waiting = _waiting_for(step)
                fix = PendingFix(host, action.name, remedy.findings, fields, run.run_id, run.started, waiting)
                kept.append(replace(fix, expires=_expires(action, step, run)))
            self.open[host] = kept

    def _close_cleared(self, host: str, step: StepRow) -> None:
        """A later diagnosis that no longer shows the finding ends its pending fix."""
        if not self.open.get(host):
            return
        facts = _facts(step)
        if facts is None:
            return
        from toolkit.rules import diagnose

        # Every account's own blockers, whoever was expected then: what a pending fix waits to clear.
        present = diagnose(host, facts, [], users_known=False)
        self.open[host] = [p for p in self.open[host] if any(p.matches(f) for f in present)]

    def apply(self, host: str, findings: Sequence[Finding]) -> tuple[list[Finding], list[dict[str, Any]]]:
        """``findings`` with no fix on those a pending fix waits to clear, and the ``pending`` entries."""
        waiting = self.open.get(host, [])
        shown: list[Finding] = []
        entries: list[dict[str, Any]] = []
        for finding in findings:
            fix = next((p for p in waiting if p.matches(finding)), None)
            if fix is None:
                shown.append(finding)
                continue
            shown.append(finding.model_copy(update={"fix": None}))
            entries.append(fix.entry(finding))
        return shown, entries


def pending_fixes(path: Path, hosts: Iterable[str]) -> PendingIndex:
    """Shorthand for :meth:`PendingIndex.read`."""
    return PendingIndex.read(path, hosts)


__all__ = ["RECENT_RUNS", "PendingFix", "PendingIndex", "pending_fixes"]
