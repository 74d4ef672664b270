"""Pending fixes, read from the run history: a blocker whose fix already ran and now waits (for a sign-out,
for the user) is reported as pending, with no second fix suggested.

A fix step that returned ``pending`` opens a pending fix for the finding its action remedies (the
action's declared :class:`~toolkit.actions.Remedy`: ``HELLO_PIN_SET`` for ``remove_pin``...) on that host
and account. It stays open until, in a later run of the same host, the same fix returns ``ok`` or
``changed`` (done), or a later diagnosis read the host's facts and the finding was gone: a finding that
comes back after that is a new one, and gets its fix suggested again. Only the history is read
(:class:`toolkit.history.History`); nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.actions import Remedy, remedies
from toolkit.facts import HostFacts
from toolkit.history import History, RunRow, StepRow
from toolkit.results import Finding

# How many of the latest runs are read: a pending fix older than that is forgotten.
RECENT_RUNS = 500
# A remedy parameter written as one finding field: ``{{ item.subject }}``, ``{{ item.evidence.local_username }}``.
_FIELD = re.compile(r"^\{\{\s*item\.(subject|evidence\.\w+)\s*\}\}$")
_MAY_HOLD_PENDING = ("pending", "failed")
_DEFAULT_WAIT = "the fix to complete on the host; run 'jcfix diagnose' again later"


@dataclass(frozen=True)
class PendingFix:
    """A fix step that returned ``pending``: which finding it fixes, where, and what it waits for.

    ``fields``: the finding fields the step's parameters name (``{"evidence.local_username": "pat"}``).
    """

    host: str
    action: str
    codes: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]
    run_id: str
    started: str
    waiting_for: str

    def matches(self, finding: Finding) -> bool:
        """Whether ``finding`` is the one this fix is waiting to clear."""
        return finding.code in self.codes and all(_field(finding, name) == value for name, value in self.fields)

    def entry(self, finding: Finding) -> dict[str, Any]:
        """The diagnosis document's ``pending`` entry for ``finding``."""
        subject = finding.subject
        return {"code": finding.code, "subject": subject, "run_id": self.run_id, "waiting_for": self.waiting_for}


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
    def read(cls, path: Path, hosts: Iterable[str], *, recent: int = RECENT_RUNS) -> PendingIndex:
        """The open pending fixes of ``hosts`` in the history at ``path`` (none when it does not exist)."""
        index = cls()
        if not path.exists():
            return index
        wanted = set(hosts)
        with History(path) as history:
            for run in reversed(history.runs(recent)):
                if not run.check_mode:
                    index._replay(history, run, wanted)
        return index

    def _replay(self, history: History, run: RunRow, wanted: set[str]) -> None:
        # Only a pending step opens one, and only a host with open ones can close any: a run that
        # recorded no pending host (its counts say so) is read only for the hosts with open ones. A failed
        # host may hold a pending step too (the host shows its worst step).
        may_open = run.counts is None or any(run.counts.get(status, 0) for status in _MAY_HOLD_PENDING)
        if may_open:
            rows = [h for h in history.hosts(run.seq) if h.host in wanted]
        else:
            waiting = sorted(name for name, fixes in self.open.items() if fixes)
            rows = [h for name in waiting for h in history.hosts(run.seq, name)]
        for host in rows:
            if host.status in _MAY_HOLD_PENDING or self.open.get(host.host):
                for step in history.steps(run.seq, host.host):
                    if not step.whatif:
                        self._step(run, host.host, step)

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
                kept.append(PendingFix(host, action.name, remedy.findings, fields, run.run_id, run.started, waiting))
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
