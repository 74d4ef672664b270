"""Hosts running on threads of this process: start one, collect the ones that ended.

:class:`ThreadHostPool` is what runs hosts, both in a run that stays in one process and inside
each worker process of a run split across cores (:mod:`toolkit.workers`). It turns everything that
can happen to a host's worker into that host's report: it returned (its report), it raised (``failed``:
a bug costs one host, not the run), it outlived the per-host deadline (``unreachable``), or the run
stopped waiting for it (:meth:`toolkit.runner.FleetControl.abandoning`: what is known of it).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from toolkit.livehost import LiveChannel
from toolkit.models import ErrorCategory, HostReport, Step, skipped_result
from toolkit.results import failed
from toolkit.transport.base import HostTarget

if TYPE_CHECKING:
    from toolkit.runner import FleetControl

__all__ = ["DEADLINE_GRACE_S", "Describe", "HostWork", "ThreadHostPool", "synthesised"]

# Extra seconds past a host's deadline before the run stops waiting for its worker: the transport itself
# gives up at the deadline, this only covers a worker stuck outside it.
DEADLINE_GRACE_S = 5.0

HostWork = Callable[[HostTarget], HostReport]
Describe = Callable[[HostTarget], Iterable[Step]]
_Futures = dict[concurrent.futures.Future[HostReport], HostTarget]


class ThreadHostPool:
    """Runs each started host's ``work`` on a thread; :meth:`collect` returns the reports of those that ended.

    Args:
        work: what to do on one host; returns its report.
        max_threads: the most hosts at once (threads are made as needed, up to this).
        deadline_s: the per-host deadline; past it plus :data:`DEADLINE_GRACE_S`, the host is ``unreachable``.
        control: the run's stop and abandon requests, and its running channels.
        describe: the steps a host would have run, for reports made without its worker.
        on_end: called from the worker's thread as each host ends (a worker process wakes its loop with it).
    """

    def __init__(
        self,
        work: HostWork,
        *,
        max_threads: int,
        deadline_s: float,
        control: FleetControl,
        describe: Describe,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="jcfix-host")
        self._work = work
        self._grace = deadline_s + DEADLINE_GRACE_S
        self._control = control
        self._describe = describe
        self._on_end = on_end
        self.running: _Futures = {}
        self._started: dict[concurrent.futures.Future[HostReport], float] = {}

    def __len__(self) -> int:
        return len(self.running)

    def start(self, target: HostTarget) -> None:
        """Start ``target``'s work (on a free thread, or as soon as one frees)."""
        future = self._executor.submit(self._work, target)
        self.running[future] = target
        if self._on_end is not None:
            on_end = self._on_end
            future.add_done_callback(lambda _: on_end())

    def collect(self, timeout: float | None = 0.2) -> list[HostReport]:
        """The reports of hosts that ended, waiting up to ``timeout`` for the first (None: no wait)."""
        if self.running and timeout is not None:
            concurrent.futures.wait(self.running, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED)
        done = [future for future in self.running if future.done()]
        return self._collect_done(done) + self._collect_overdue()

    def close(self) -> None:
        """Stop making threads; running workers are not joined (the run may be abandoning them)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _collect_done(self, done: Iterable[concurrent.futures.Future[HostReport]]) -> list[HostReport]:
        finished: list[HostReport] = []
        for future in done:
            target = self.running.pop(future)
            self._started.pop(future, None)
            try:
                report = future.result()
                # Reports are matched to their hosts by the target object (a worker process maps it back to the
                # host's position): a work function that reported on a copy still reports on this host.
                report.target = target
                finished.append(report)
            except Exception as exc:  # a bug must cost one host, not the run
                message = f"internal error: {exc!r}"
                finished.append(synthesised(target, self._describe, category="script_failed", message=message))
        return finished

    def _collect_overdue(self) -> list[HostReport]:
        """Reports for workers past the deadline plus grace, or all of them once the run abandons them."""
        now = time.monotonic()
        control = self._control
        finished: list[HostReport] = []
        for future, target in list(self.running.items()):
            if future.running():
                self._started.setdefault(future, now)
            overdue = now - self._started.get(future, now) > self._grace
            if not (overdue or control.abandoning()):
                continue
            self.running.pop(future)
            self._started.pop(future, None)
            channel = control.channels.get(target.name)
            if overdue:
                message = f"{target.name}: no answer within the per-host deadline"
                finished.append(synthesised(target, self._describe, category="unreachable", message=message))
            elif future.cancel():
                reason = control.stopped_reason or "interrupted before it started"
                finished.append(synthesised(target, self._describe, status_reason=reason))
            elif isinstance(channel, LiveChannel):
                # Still running: record what is known (a change that was sent is never recorded as untouched).
                reason = control.stopped_reason or "interrupted"
                finished.append(channel.partial_report(self._describe(target), reason))
            else:
                finished.append(lost(target, self._describe, "interrupted while running"))
        return finished


def synthesised(
    target: HostTarget,
    describe: Describe,
    *,
    status_reason: str | None = None,
    category: ErrorCategory = "script_failed",
    message: str = "",
) -> HostReport:
    """A report for a host whose worker did not report: skipped (never started) or failed/unreachable."""
    report = HostReport(target, skipped_reason=status_reason)
    for step in describe(target):
        if status_reason is not None:
            report.results.append((step, skipped_result(step.action.name, status_reason)))
        else:
            report.results.append((step, failed(step.action.name, category, message)))
    if status_reason is None:
        report.add_note(message)
        report.failure_category = category
    return report


def lost(target: HostTarget, describe: Describe, what: str) -> HostReport:
    """A host whose worker is gone while it ran: each planned step ``failed``, and ``changed`` when it could
    change the host (nothing says which step was running, so a change is never recorded as untouched)."""
    message = f"{what}: the last step may or may not have completed"
    report = HostReport(target)
    for step in describe(target):
        result = failed(step.action.name, "script_failed", message)
        may_change = step.action.changes_state and not step.whatif
        report.results.append((step, result.model_copy(update={"changed": may_change})))
    report.add_note(message)
    report.failure_category = "script_failed"
    return report
