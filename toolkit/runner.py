"""Runs work on many hosts: one session per host, bounded concurrency, a deadline per host.

Each host gets one :class:`~toolkit.transport.base.HostSession` for all of its steps (a
:class:`HostChannel`), opened on the first step and closed in every path. Whatever happens on one
host — refused, hung, wrong password, a broken script — ends as that host's ``failed`` or
``unreachable`` results and never touches the others.

:func:`run_hosts` schedules hosts: at most ``forks`` at once from a bounded window (hosts are started
from the target list as slots free up, so memory does not grow with the fleet), optionally in
``serial`` batches, stopping new hosts when ``max_fail_percent`` is exceeded or a stop is requested;
every host that was not started still yields a ``skipped`` report that says why.

Retry policy (:class:`RetryPolicy`): only ``unreachable`` transport errors are retried (refused,
timed out, dropped, 502/503/504), never a refused password, a protocol fault or a script's own
failure, and never past the host's deadline. A read-only step is simply run again on a fresh
session. A state-changing step that may have run is not re-run blindly: its ``-WhatIf`` check runs
first, and the change is applied again only when the check says it is still needed. A step whose
document came back is never retried, and one that reports ``changed: true`` (even ``failed``) never
runs again.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from toolkit.actions import Action
from toolkit.errors import UsageError
from toolkit.results import SCHEMA_VERSION, Finding, ResultDocument, failed, status_label
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
    retries: int = 0  # sessions reopened after a transient (unreachable) error
    failure_category: str | None = None  # set when the host failed as a whole (worker lost, past the deadline)
    # The diagnosis rules' findings for the result at each position, set by whoever ran the rules over that
    # step's facts (a playbook's diagnose step), so reports and exit codes judge by that same diagnosis.
    diagnoses: dict[int, list[Any]] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        """Why the host was skipped or stopped early, else None."""
        return self.skipped_reason or self.note

    @property
    def status(self) -> str:
        """The host's overall status: ``unreachable`` when it could not be reached, else the worst step."""
        if self.skipped_reason is not None:
            return "skipped"
        if self.failure_category is not None:
            return "unreachable" if self.failure_category == "unreachable" else "failed"
        for _, result in self.results:
            if result.status == "failed" and result.error is not None and result.error.category == "unreachable":
                return "unreachable"
        # A step skipped by its condition does not make the host "skipped": only a host where nothing ran is.
        order = ("failed", "pending", "changed", "ok", "skipped")
        statuses = {result.status for _, result in self.results}
        return next((s for s in order if s in statuses), "ok")

    @property
    def changed(self) -> bool:
        """Whether any step changed the host (check-mode steps never do), including steps that failed after."""
        return any(result.changed and not step.whatif for step, result in self.results)

    @property
    def label(self) -> str:
        """The host's status in words: ``failed (changed)`` when something changed before the failure."""
        return status_label(self.status, self.changed)

    def add_note(self, text: str) -> None:
        """Add one line to the host's note (why it stopped early, what a retry did)."""
        self.note = f"{self.note}; {text}" if self.note else text


def _default_session_factory(target: HostTarget, settings: ConnectionSettings) -> HostSession:
    if getattr(settings, "via", "winrm") == "jumpcloud":
        # --via jumpcloud: the settings are toolkit.transport.jumpcloud.JumpCloudSettings (JumpCloud Commands).
        from toolkit.transport.jumpcloud import open_session as open_jumpcloud_session

        return open_jumpcloud_session(target, settings)
    from toolkit.transport.winrm import open_session

    return open_session(target, settings)


SKIPPED_FINDING = "STEP_SKIPPED"


def skipped_result(action: str, reason: str) -> ResultDocument[Any]:
    """A ``skipped`` document made on the Python side; its one ``STEP_SKIPPED`` info finding says why."""
    return ResultDocument[BaseModel](
        schema=SCHEMA_VERSION,
        action=action,
        status="skipped",
        changed=False,
        data=None,
        findings=[Finding(code=SKIPPED_FINDING, severity="info", message=reason)],
        error=None,
    )


def skip_reason(result: ResultDocument[Any]) -> str | None:
    """Why a step was skipped (from :func:`skipped_result`), else None."""
    return next((f.message for f in result.findings if f.code == SKIPPED_FINDING), None)


@dataclass(frozen=True)
class RetryPolicy:
    """How often a transient (``unreachable``) failure is retried, and the backoff between tries.

    Attributes:
        retries: extra attempts after the first (0: never retry).
        backoff_s: the first wait; each later wait doubles, with up to 25% jitter, capped at ``max_backoff_s``.
        min_time_left_s: no retry starts with less than this left of the host's deadline.
    """

    retries: int = 0
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    min_time_left_s: float = 2.0

    def delay(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * (2 ** max(0, attempt - 1)))
        return base * (1 + random.uniform(0, 0.25))


def is_transient(error: TransportError) -> bool:
    """Whether ``error`` may go away by itself: the host could not be reached or stopped answering."""
    return error.category == "unreachable"


class HostChannel:
    """One host's connection for a whole run: one session, reopened only after a transient error.

    :meth:`run` never raises for host trouble: it returns the step's result document. After a
    failure that is not retried the channel is *broken* and later steps return ``failed`` ("not
    run") without touching the host. The host's deadline spans every session the channel opens.
    """

    def __init__(
        self,
        target: HostTarget,
        settings: ConnectionSettings,
        session_factory: SessionFactory = _default_session_factory,
        retry: RetryPolicy | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self.session_factory = session_factory
        self.retry = retry or RetryPolicy()
        self.stop = stop or threading.Event()
        self.expires = time.monotonic() + settings.deadline
        self.session: HostSession | None = None
        self.broken: TransportError | None = None
        self.retries = 0
        self.notes: list[str] = []

    def time_left(self) -> float:
        return self.expires - time.monotonic()

    def _open(self) -> HostSession:
        if self.session is None:
            # A reopened session gets what is left of the host's deadline, not a fresh one.
            settings = replace(self.settings, deadline=max(0.1, self.time_left()))
            session = self.session_factory(self.target, settings)
            self.session = session
            connect = getattr(session, "open", None)
            if connect is not None:
                connect()  # raises TransportError; nothing has run on the host yet
        return self.session

    def _drop_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def _may_retry(self, error: TransportError, attempt: int) -> bool:
        if not is_transient(error) or attempt > self.retry.retries or self.stop.is_set():
            return False
        delay = self.retry.delay(attempt)
        if self.time_left() - delay < self.retry.min_time_left_s:
            return False
        self._drop_session()
        self.retries += 1
        # Interruptible: Ctrl-C ends the wait at once.
        return not self.stop.wait(delay)

    def _attempt(self, step: Step, whatif: bool, timeout: float | None) -> ResultDocument[Any]:
        session = self._open()
        limit = getattr(session, "limit_to", None)
        scope = limit(timeout) if (timeout is not None and limit is not None) else contextlib.nullcontext()
        started = time.monotonic()
        try:
            with scope:
                raw = session.run(step.rendered, whatif=whatif)
        except TransportError:
            if timeout is not None and time.monotonic() - started >= timeout - 0.05 and self.time_left() > 0:
                # The step's own timeout, not the host's deadline: worded so, and not retried (the
                # pipeline may still be running on the host).
                raise StepTimeout(
                    f"{self.target.name}: {step.name}: no answer within its timeout of {timeout:g}s"
                ) from None
            raise
        return step.action.parse(raw)

    def run(self, step: Step, *, timeout: float | None = None) -> ResultDocument[Any]:
        """Run ``step`` (retrying transient failures per the policy); returns its result document."""
        if self.broken is not None:
            return failed(step.action.name, self.broken.category, f"not run: {self.broken.message}")
        attempt = 0
        check_first = False
        while True:
            attempt += 1
            try:
                if check_first:
                    # The apply may have reached the host before the connection broke: ask first.
                    check = self._attempt(step, True, timeout)
                    if check.changed:
                        # A step that reports it changed the host is never run again, whatever its status.
                        self.notes.append(
                            f"{step.name}: the connection broke during the change; its check afterwards reports "
                            "a change already made, so it was not applied again"
                        )
                        return check
                    if check.status != "changed":
                        self.notes.append(
                            f"{step.name}: the connection broke during the change; its check afterwards says "
                            f"{check.status}, so it was not applied again"
                        )
                        return check
                    self.notes.append(f"{step.name}: re-applied after its check showed it still needed")
                    check_first = False
                return self._attempt(step, step.whatif, timeout)
            except StepTimeout as exc:
                self.broken = TransportError("unreachable", str(exc))
                return failed(step.action.name, "unreachable", str(exc))
            except TransportError as exc:
                if self._may_retry(exc, attempt):
                    check_first = check_first or (step.action.changes_state and not step.whatif)
                    continue
                self.broken = exc
                return failed(step.action.name, exc.category, exc.message)

    def close(self) -> None:
        """Close the session, if one is open; never raises."""
        try:
            self._drop_session()
        except Exception:  # closing is best effort; every result is already decided
            self.session = None

    def __enter__(self) -> HostChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class StepTimeout(Exception):
    """A step ran past its own ``timeout``."""


def run_host(
    target: HostTarget,
    steps: Sequence[Step],
    settings: ConnectionSettings,
    session_factory: SessionFactory = _default_session_factory,
    retry: RetryPolicy | None = None,
    stop: threading.Event | None = None,
) -> HostReport:
    """Run ``steps`` in order on one host over one session; never raises for host trouble."""
    report = HostReport(target)
    with HostChannel(target, settings, session_factory, retry, stop) as channel:
        for index, step in enumerate(steps):
            if stop is not None and stop.is_set() and channel.broken is None:
                for rest in steps[index:]:
                    report.results.append((rest, skipped_result(rest.action.name, "interrupted")))
                report.add_note(f"interrupted after {index} of {len(steps)} step(s)")
                break
            report.results.append((step, channel.run(step)))
    report.retries = channel.retries
    for note in channel.notes:
        report.add_note(note)
    return report


# ---- scheduling -----------------------------------------------------------------------------------

HostWork = Callable[[HostTarget], HostReport]


def parse_serial(spec: str | None) -> list[str]:
    """``--serial`` values: ``N`` or ``N%``, comma-separated (``5%,50%,100%``); raises :class:`UsageError`."""
    if spec is None or not spec.strip():
        return []
    parts = [p.strip() for p in spec.split(",")]
    for part in parts:
        number = part[:-1] if part.endswith("%") else part
        if not number.isdigit() or int(number) < 1 or (part.endswith("%") and int(number) > 100):
            raise UsageError(f"--serial {spec!r}: each batch is a count (5) or a percentage (10%) of the hosts")
    return parts


def batch_sizes(serial: Sequence[str], total: int) -> Iterator[int]:
    """Batch sizes for ``total`` hosts: each ``serial`` value in turn, the last repeated until all are covered.

    A percentage is of all hosts, rounded down but at least 1 (Ansible's rule); with no ``serial``,
    one batch of everything.
    """
    if not serial:
        if total:
            yield total
        return
    covered = 0
    index = 0
    while covered < total:
        spec = serial[min(index, len(serial) - 1)]
        size = max(1, math.floor(total * int(spec[:-1]) / 100)) if spec.endswith("%") else int(spec)
        size = min(size, total - covered)
        yield size
        covered += size
        index += 1


@dataclass
class FleetControl:
    """What the caller may tell a running fleet, and what it reports back.

    Attributes:
        stop: set it (Ctrl-C) to start no new host; running hosts finish their current step and skip the rest.
        abandon: set it (a second Ctrl-C) to stop waiting for running hosts; they are reported ``failed``.
        stopped_reason: why new hosts stopped being started, once they did.
    """

    stop: threading.Event = field(default_factory=threading.Event)
    abandon: threading.Event = field(default_factory=threading.Event)
    stopped_reason: str | None = None

    @property
    def interrupted(self) -> bool:
        return self.stop.is_set()


def _counts_as_failure(report: HostReport) -> bool:
    return report.status in ("failed", "unreachable")


def run_hosts(
    targets: Sequence[HostTarget],
    work: HostWork,
    *,
    forks: int = 32,
    deadline_s: float = 120.0,
    serial: Sequence[str] = (),
    max_fail_percent: float | None = None,
    control: FleetControl | None = None,
    describe: Callable[[HostTarget], Iterable[Step]] = lambda target: (),
) -> Iterator[HostReport]:
    """Run ``work`` for each target with at most ``forks`` at once; yields one report per target as each ends.

    Hosts start in target order, in ``serial`` batches (each batch finishes before the next starts).
    Once more than ``max_fail_percent`` of the current batch (all hosts, without ``serial``) has failed
    or been unreachable, or ``control.stop`` is set, no new host starts: running hosts finish and every
    host not started yields a ``skipped`` report with the reason. A worker past ``deadline_s`` (plus a
    grace) yields ``unreachable``; a worker that raised yields ``failed``. ``describe`` names the steps
    a host would have run, for those synthesised reports.
    """
    if forks < 1:
        raise ValueError("forks must be at least 1")
    control = control or FleetControl()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=forks, thread_name_prefix="jcfix-host")
    position = 0
    try:
        for size in batch_sizes(serial, len(targets)):
            batch = targets[position : position + size]
            position += size
            yield from _run_batch(batch, work, pool, forks, deadline_s, max_fail_percent, control, describe)
            if control.stopped_reason is not None:
                break
        reason = control.stopped_reason or "not started"
        for target in targets[position:]:
            yield _synthesised(target, describe, status_reason=reason)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _run_batch(
    batch: Sequence[HostTarget],
    work: HostWork,
    pool: concurrent.futures.ThreadPoolExecutor,
    forks: int,
    deadline_s: float,
    max_fail_percent: float | None,
    control: FleetControl,
    describe: Callable[[HostTarget], Iterable[Step]],
) -> Iterator[HostReport]:
    waiting = iter(batch)
    running: dict[concurrent.futures.Future[HostReport], HostTarget] = {}
    started: dict[concurrent.futures.Future[HostReport], float] = {}
    failures = 0
    grace = deadline_s + DEADLINE_GRACE_S

    def threshold_reached() -> bool:
        return max_fail_percent is not None and failures * 100 > max_fail_percent * len(batch)

    while True:
        if control.stop.is_set() and control.stopped_reason is None:
            control.stopped_reason = "interrupted before it started"
        # Fill the window: a bounded number of futures, never one per host up front.
        while control.stopped_reason is None and len(running) < forks:
            target = next(waiting, None)
            if target is None:
                break
            future = pool.submit(work, target)
            running[future] = target
        if not running:
            break
        done, _ = concurrent.futures.wait(running, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED)
        now = time.monotonic()
        finished: list[HostReport] = []
        for future in done:
            target = running.pop(future)
            started.pop(future, None)
            try:
                finished.append(future.result())
            except Exception as exc:  # a bug must cost one host, not the run
                finished.append(
                    _synthesised(target, describe, category="script_failed", message=f"internal error: {exc!r}")
                )
        for future, target in list(running.items()):
            if future.running():
                started.setdefault(future, now)
            overdue = now - started.get(future, now) > grace
            if overdue or control.abandon.is_set():
                running.pop(future)
                started.pop(future, None)
                if overdue:
                    message = f"{target.name}: no answer within the per-host deadline"
                    finished.append(_synthesised(target, describe, category="unreachable", message=message))
                elif future.cancel():
                    finished.append(_synthesised(target, describe, status_reason="interrupted before it started"))
                else:
                    message = "interrupted while running: the last step may or may not have completed"
                    finished.append(_synthesised(target, describe, category="script_failed", message=message))
        for report in finished:
            failures += _counts_as_failure(report)
            yield report
        if threshold_reached() and control.stopped_reason is None:
            control.stopped_reason = (
                f"max-fail-percent {max_fail_percent:g} exceeded: {failures} of {len(batch)} host(s) in the batch "
                "failed or were unreachable"
            )
    for target in waiting:
        yield _synthesised(target, describe, status_reason=control.stopped_reason or "not started")


def _synthesised(
    target: HostTarget,
    describe: Callable[[HostTarget], Iterable[Step]],
    *,
    status_reason: str | None = None,
    category: str = "script_failed",
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


def run_fleet(
    plan: Sequence[tuple[HostTarget, Sequence[Step]]],
    settings: ConnectionSettings,
    *,
    forks: int = 32,
    session_factory: SessionFactory = _default_session_factory,
    retry: RetryPolicy | None = None,
) -> Iterator[HostReport]:
    """Run each host's steps with at most ``forks`` hosts at once; yields reports as hosts finish.

    Every planned host yields exactly one report, including hosts whose worker outlived the
    deadline (reported ``unreachable``) and hosts whose worker raised unexpectedly (``failed``).
    """
    steps_of = {target.name: steps for target, steps in plan}

    def work(target: HostTarget) -> HostReport:
        return run_host(target, steps_of[target.name], settings, session_factory, retry)

    yield from run_hosts(
        [target for target, _ in plan],
        work,
        forks=forks,
        deadline_s=settings.deadline,
        describe=lambda target: steps_of[target.name],
    )
