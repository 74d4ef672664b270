"""Runs work on many hosts: one session per host, bounded concurrency, a deadline per host.

Each host gets one :class:`~toolkit.transport.base.HostSession` for all of its steps (a
:class:`HostChannel`), opened on the first step and closed in every path. Whatever happens on one
host — refused, hung, wrong password, a broken script — ends as that host's ``failed`` or
``unreachable`` results and never touches the others.

:func:`run_hosts` schedules hosts: at most ``forks`` at once from a bounded window (hosts are started
from the target list as slots free up, so memory does not grow with the fleet), optionally in
``serial`` batches, stopping new hosts when ``max_fail_percent`` is exceeded or a stop is requested;
every host that was not started still yields a ``skipped`` report that says why.

The per-host connection and its retry policy are in :mod:`toolkit.transport.channel`; the report
models (:class:`Step`, :class:`HostReport`) in :mod:`toolkit.models`. Both are re-exported here.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from toolkit.errors import UsageError
from toolkit.hostpool import DEADLINE_GRACE_S, Describe, HostWork, ThreadHostPool, synthesised
from toolkit.livehost import LiveChannel
from toolkit.models import (
    FAILURE_STATUSES,
    SKIPPED_FINDING,
    HostReport,
    Step,
    skip_reason,
    skipped_result,
)
from toolkit.settings import ConnectionSettings
from toolkit.textvalues import plural
from toolkit.transport.base import HostTarget
from toolkit.transport.channel import (
    HostChannel,
    RetryPolicy,
    StepTimeout,
    _default_session_factory,
    is_transient,
)
from toolkit.transport.registry import SessionFactory
from toolkit.window import DEFAULT_FORKS, AdaptiveWindow, FixedWindow, HostWindow
from toolkit.workers import ProcessHostPool, can_fork

__all__ = [
    "ADAPTIVE",
    "DEADLINE_GRACE_S",
    "DEFAULT_FORKS",
    "SKIPPED_FINDING",
    "FleetControl",
    "HostChannel",
    "HostReport",
    "LiveChannel",
    "RetryPolicy",
    "SessionFactory",
    "Step",
    "StepTimeout",
    "batch_sizes",
    "forkable",
    "is_transient",
    "parse_serial",
    "run_fleet",
    "run_host",
    "run_hosts",
    "skip_reason",
    "skipped_result",
    "worker_processes",
]


def run_host(
    target: HostTarget,
    steps: Sequence[Step],
    settings: ConnectionSettings,
    session_factory: SessionFactory = _default_session_factory,
    retry: RetryPolicy | None = None,
    stop: threading.Event | None = None,
    control: FleetControl | None = None,
) -> HostReport:
    """Run ``steps`` in order on one host over one session; never raises for host trouble.

    With ``control``, its ``stop`` applies and the host's channel is known to it while the host runs.
    """
    report = HostReport(target)
    if control is not None:
        stop = control.stop
    channel = LiveChannel(target, settings, session_factory, retry, stop)
    with channel, (control or FleetControl()).track(channel):
        for index, step in enumerate(steps):
            if stop is not None and stop.is_set() and channel.broken is None:
                for rest in steps[index:]:
                    report.results.append((rest, skipped_result(rest.action.name, "interrupted")))
                report.add_note(f"interrupted after {index} of {plural(len(steps), 'step')}")
                break
            report.results.append((step, channel.run(step)))
    report.retries = channel.retries
    for note in channel.notes:
        report.add_note(note)
    return report


# ---- scheduling -----------------------------------------------------------------------------------

_log = logging.getLogger("jcfix.runner")

# Whether the window adapts (see toolkit.window); benchmarks set it False to compare with fixed windows.
ADAPTIVE = True
PROCESS_MIN_HOSTS = 200  # smaller runs stay in one process: forking costs more than it saves
WORKERS_ENV = "JCFIX_WORKERS"  # worker processes for large runs (1: one process); default: one per core


def parse_serial(spec: str | None) -> list[str]:
    """``--serial`` values: ``N`` or ``N%``, comma-separated (``5%,50%,100%``); raises :class:`UsageError`."""
    if spec is None:
        return []
    if not spec.strip():
        raise UsageError("--serial is empty: give batch sizes (5 or 5%,50%,100%), or leave it out")
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
        abandon: set it (a second Ctrl-C) to stop waiting for running hosts; each is reported with what is
            known of it (:meth:`toolkit.livehost.LiveChannel.partial_report`).
        stopped_reason: why new hosts stopped being started, once they did.
        signum: the signal that stopped the run (:meth:`request_stop`), else None.
        channels: the running hosts' channels by host name (what is known of a host the run stops waiting for).
    """

    stop: threading.Event = field(default_factory=threading.Event)
    abandon: threading.Event = field(default_factory=threading.Event)
    stopped_reason: str | None = None
    signum: int | None = None
    channels: dict[str, HostChannel] = field(default_factory=dict)
    _abandon_at: float | None = field(default=None, init=False, repr=False)

    @property
    def interrupted(self) -> bool:
        return self.stop.is_set()

    def request_stop(self, signum: int, reason: str | None = None, grace_s: float | None = None) -> bool:
        """A stop request (a signal): the first stops new hosts, the next stops waiting; True once abandoned.

        ``reason`` names the stop in the skipped hosts' reports (default: "interrupted before it started");
        with ``grace_s``, running hosts get that long before the run stops waiting for them.
        """
        if self.stop.is_set():
            self.abandon.set()
            return True
        self.signum = signum
        if reason is not None and self.stopped_reason is None:
            self.stopped_reason = reason
        if grace_s is not None:
            self._abandon_at = time.monotonic() + grace_s
        self.stop.set()
        return False

    def abandoning(self) -> bool:
        """Whether to stop waiting for running hosts: asked to, or the grace after a stop has run out."""
        if self._abandon_at is not None and time.monotonic() >= self._abandon_at:
            self.abandon.set()
        return self.abandon.is_set()

    @contextmanager
    def track(self, channel: HostChannel) -> Iterator[HostChannel]:
        """Know ``channel`` while its host runs (a report of what is known, should the run stop waiting)."""
        self.channels[channel.target.name] = channel
        try:
            yield channel
        finally:
            self.channels.pop(channel.target.name, None)


def _counts_as_failure(report: HostReport) -> bool:
    return report.status in FAILURE_STATUSES


def worker_processes(hosts: int, processes: int | None) -> int:
    """How many worker processes a run of ``hosts`` hosts uses (1: none, the hosts run in this process).

    ``processes``: a number, or None to decide: ``JCFIX_WORKERS`` when set, else one per core for runs of
    at least :data:`PROCESS_MIN_HOSTS` hosts where processes can be forked.
    """
    if processes is None:
        configured = os.environ.get(WORKERS_ENV, "").strip()
        if configured.isdigit() and int(configured) >= 1:
            processes = int(configured)
        elif hosts >= PROCESS_MIN_HOSTS:
            processes = os.cpu_count() or 1
        else:
            processes = 1
    if processes > 1 and not can_fork():
        return 1
    return max(1, min(processes, hosts))


def run_hosts(
    targets: Sequence[HostTarget],
    work: HostWork,
    *,
    forks: int = DEFAULT_FORKS,
    deadline_s: float = 120.0,
    serial: Sequence[str] = (),
    max_fail_percent: float | None = None,
    control: FleetControl | None = None,
    describe: Describe = lambda target: (),
    processes: int | None = 1,
) -> Iterator[HostReport]:
    """Run ``work`` for each target, at most ``forks`` at once; yields one report per target as each ends.

    Hosts start in target order, in ``serial`` batches (each batch finishes before the next starts),
    within a window of hosts at once that adapts below ``forks`` (:mod:`toolkit.window`; fixed at
    ``forks`` when :data:`ADAPTIVE` is False). Once more than ``max_fail_percent`` of the current batch
    (all hosts, without ``serial``) has failed or been unreachable, or ``control.stop`` is set, no new
    host starts: running hosts finish and every host not started yields a ``skipped`` report with the
    reason. A worker past ``deadline_s`` (plus a grace) yields ``unreachable``; a worker that raised
    yields ``failed``. ``describe`` names the steps a host would have run, for those synthesised reports.
    ``processes``: worker processes (:func:`worker_processes`; 1, the default, keeps every host in this
    process: a caller passes None only when ``work`` is safe to run in a forked process).
    """
    if forks < 1:
        raise ValueError("forks must be at least 1")
    control = control or FleetControl()
    window: HostWindow = AdaptiveWindow(cap=forks) if ADAPTIVE else FixedWindow(forks)
    count = worker_processes(len(targets), processes)
    pool: HostPool
    if count > 1:
        pool = ProcessHostPool(
            work, targets=targets, processes=count, max_threads=forks, deadline_s=deadline_s,
            control=control, describe=describe,
        )  # fmt: skip
    else:
        pool = ThreadHostPool(work, max_threads=forks, deadline_s=deadline_s, control=control, describe=describe)
    position = 0
    sizes = list(batch_sizes(serial, len(targets)))
    try:
        for number, size in enumerate(sizes, start=1):
            batch = targets[position : position + size]
            position += size
            # With serial, each report carries its batch number (the reports show the batches, canary first).
            for report in _run_batch(batch, pool, window, max_fail_percent, control, describe):
                report.batch = number if serial else None
                yield report
            if control.stopped_reason is not None:
                break
        reason = control.stopped_reason or "not started"
        later = [n for n, size in enumerate(sizes, start=1) for _ in range(size)][position:]
        for target, later_batch in zip(targets[position:], later, strict=True):
            report = synthesised(target, describe, status_reason=reason)
            report.batch = later_batch if serial else None
            yield report
    finally:
        pool.close()
        if isinstance(window, AdaptiveWindow):
            _log.debug("window per period (hosts at once, hosts/s): %s", window.history)


class HostPool(Protocol):
    """Where hosts run: threads of this process (:class:`ThreadHostPool`) or worker processes."""

    def __len__(self) -> int: ...
    def start(self, target: HostTarget) -> None: ...
    def collect(self, timeout: float | None = 0.2) -> list[HostReport]: ...
    def close(self) -> None: ...


def _run_batch(
    batch: Sequence[HostTarget],
    pool: HostPool,
    window: HostWindow,
    max_fail_percent: float | None,
    control: FleetControl,
    describe: Describe,
) -> Iterator[HostReport]:
    """Run one batch within the window; yields a report per host as each ends."""
    waiting = iter(batch)
    began: dict[int, float] = {}  # id(target) -> when it started: the window learns from host durations
    failures = 0
    while True:
        if control.stop.is_set() and control.stopped_reason is None:
            control.stopped_reason = "interrupted before it started"
        # Fill the window: a bounded number of hosts in flight, never one per host up front.
        while control.stopped_reason is None and len(pool) < window.limit:
            target = next(waiting, None)
            if target is None:
                break
            began[id(target)] = now = time.monotonic()
            window.started(now)
            pool.start(target)
        if not len(pool):
            break
        for report in pool.collect(timeout=0.2):
            now = time.monotonic()
            window.finished(now, now - began.pop(id(report.target), now), report.status == "unreachable")
            failures += _counts_as_failure(report)
            yield report
        over = max_fail_percent is not None and failures * 100 > max_fail_percent * len(batch)
        if over and control.stopped_reason is None:
            control.stopped_reason = (
                f"max-fail-percent {max_fail_percent:g} exceeded: {failures} of {plural(len(batch), 'host')} "
                "in the batch failed or were unreachable"
            )
    for target in waiting:
        yield synthesised(target, describe, status_reason=control.stopped_reason or "not started")


def run_fleet(
    plan: Sequence[tuple[HostTarget, Sequence[Step]]],
    settings: ConnectionSettings,
    *,
    forks: int = DEFAULT_FORKS,
    session_factory: SessionFactory = _default_session_factory,
    retry: RetryPolicy | None = None,
    control: FleetControl | None = None,
) -> Iterator[HostReport]:
    """Run each host's steps with at most ``forks`` hosts at once; yields reports as hosts finish.

    Every planned host yields exactly one report, including hosts whose worker outlived the
    deadline (reported ``unreachable``) and hosts whose worker raised unexpectedly (``failed``).
    ``control``: stop requests (see :class:`FleetControl`).
    """
    steps_of = {target.name: steps for target, steps in plan}
    control = control or FleetControl()

    def work(target: HostTarget) -> HostReport:
        return run_host(target, steps_of[target.name], settings, session_factory, retry, control=control)

    yield from run_hosts(
        [target for target, _ in plan],
        work,
        forks=forks,
        deadline_s=settings.deadline,
        control=control,
        describe=lambda target: steps_of[target.name],
        processes=None if forkable(settings, session_factory) else 1,
    )


def forkable(settings: ConnectionSettings, session_factory: SessionFactory = _default_session_factory) -> bool:
    """Whether hosts reached with ``settings`` may run in forked worker processes.

    Only over WinRM with jcfix's own sessions: a session factory given by the caller (tests) may keep
    state the caller reads back, and the JumpCloud transport works through one API client per run.
    """
    from toolkit.transport.registry import for_settings

    return session_factory is _default_session_factory and for_settings(settings).name == "winrm"
