"""Runs planned actions on many hosts: one session per host, bounded concurrency, a deadline per host.

Each host gets one :class:`~toolkit.transport.base.HostSession` for all of its steps, opened on the
first step and closed in every path. Whatever happens on one host — refused, hung, wrong password,
a broken script — ends as that host's ``failed`` results and never touches the others.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.actions import Action
from toolkit.results import ResultDocument, failed
from toolkit.settings import ConnectionSettings
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostSession, HostTarget, TransportError

SessionFactory = Callable[[HostTarget, ConnectionSettings], HostSession]

# Extra seconds the runner waits past a host's deadline before it stops waiting for the worker:
# the transport itself gives up at the deadline, this only covers a worker stuck outside it.
DEADLINE_GRACE_S = 5.0


@dataclass(frozen=True)
class Step:
    """One action to run on a host, already rendered, in apply or check (``-WhatIf``) mode.

    ``name`` is what reports call the step (a playbook step's name); it defaults to the action's name.
    """

    action: Action
    rendered: RenderedScript
    whatif: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.action.name)


@dataclass
class HostReport:
    """Everything one host produced: a result per planned step, in order.

    ``skipped_reason`` marks a host that was never started (``--max-fail-percent`` reached, Ctrl-C):
    its status is then ``skipped`` and ``reason`` says why.
    """

    target: HostTarget
    results: list[tuple[Step, ResultDocument[Any]]] = field(default_factory=list)
    skipped_reason: str | None = None
    note: str | None = None

    @property
    def reason(self) -> str | None:
        """Why the host was skipped or stopped early, else None."""
        return self.skipped_reason or self.note

    @property
    def status(self) -> str:
        """The host's overall status: ``unreachable`` when it could not be reached, else the worst step."""
        if self.skipped_reason is not None:
            return "skipped"
        for _, result in self.results:
            if result.status == "failed" and result.error is not None and result.error.category == "unreachable":
                return "unreachable"
        order = ("failed", "pending", "changed", "skipped", "ok")
        statuses = {result.status for _, result in self.results}
        return next((s for s in order if s in statuses), "ok")


def _default_session_factory(target: HostTarget, settings: ConnectionSettings) -> HostSession:
    from toolkit.transport.winrm import open_session

    return open_session(target, settings)


def run_host(
    target: HostTarget,
    steps: Sequence[Step],
    settings: ConnectionSettings,
    session_factory: SessionFactory = _default_session_factory,
) -> HostReport:
    """Run ``steps`` in order on one host over one session; never raises for host trouble."""
    report = HostReport(target)
    with session_factory(target, settings) as session:
        broken: TransportError | None = None
        for step in steps:
            if broken is not None:
                # The session is gone: later steps did not run, and say why.
                result = failed(step.action.name, broken.category, f"not run: {broken.message}")
            else:
                try:
                    raw = session.run(step.rendered, whatif=step.whatif)
                    result = step.action.parse(raw)
                except TransportError as exc:
                    broken = exc
                    result = failed(step.action.name, exc.category, exc.message)
            report.results.append((step, result))
    return report


def run_fleet(
    plan: Sequence[tuple[HostTarget, Sequence[Step]]],
    settings: ConnectionSettings,
    *,
    forks: int = 32,
    session_factory: SessionFactory = _default_session_factory,
) -> Iterator[HostReport]:
    """Run each host's steps with at most ``forks`` hosts at once; yields reports as hosts finish.

    Every planned host yields exactly one report, including hosts whose worker outlived the
    deadline (reported ``unreachable``) and hosts whose worker raised unexpectedly (``failed``).
    """
    if forks < 1:
        raise ValueError("forks must be at least 1")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=forks, thread_name_prefix="jcfix-host")
    try:
        futures = {
            pool.submit(run_host, target, steps, settings, session_factory): (target, steps) for target, steps in plan
        }
        pending = set(futures)
        deadline_s = settings.deadline + DEADLINE_GRACE_S
        started: dict[concurrent.futures.Future[HostReport], float] = {}
        while pending:
            done, pending = concurrent.futures.wait(
                pending, timeout=0.5, return_when=concurrent.futures.FIRST_COMPLETED
            )
            now = time.monotonic()
            for future in done:
                target, steps = futures[future]
                try:
                    yield future.result()
                except Exception as exc:  # a bug must cost one host, not the run
                    yield _failed_report(target, steps, "script_failed", f"internal error: {type(exc).__name__}: {exc}")
            for future in list(pending):
                if future.running():
                    started.setdefault(future, now)
                    if now - started[future] > deadline_s:
                        pending.discard(future)
                        target, steps = futures[future]
                        yield _failed_report(
                            target, steps, "unreachable", f"{target.name}: no answer within the per-host deadline"
                        )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _failed_report(target: HostTarget, steps: Sequence[Step], category: str, message: str) -> HostReport:
    report = HostReport(target)
    for step in steps:
        report.results.append((step, failed(step.action.name, category, message)))
    return report
