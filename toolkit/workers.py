"""A fleet run split across worker processes, so that every core works on hosts.

One Python process runs hosts on one core: the client's own work per host (TLS, NTLM, the PSRP
messages' XML) is CPU, and at WAN latency a few hundred hosts in flight keep one core busy. So a
large run forks worker processes (:class:`ProcessHostPool`), each running its share of hosts on
its own threads (:class:`~toolkit.hostpool.ThreadHostPool`, the same code as a one-process run),
while the parent does everything that must happen once: it decides which host starts when (the
window, ``--serial``, ``--max-fail-percent``), and records, reports and prints every host as its
report comes back. Ctrl-C and the other stop signals reach the parent alone (workers ignore them);
the parent tells the workers to stop starting steps, or to give up on running hosts with what is
known of them.

Workers are forked, not spawned: the host's work (a playbook, its diagnosis, the connection
settings with the password) is inherited, never serialised; what travels is a host (its inventory
entry and its position in the run) to a worker, and its report back. A report is pickled with every secret replaced
by the redaction marker (the parent's reports never need a secret's value), and an action by its
name. A worker that dies costs only the hosts it was running: each is reported ``failed``, and
``changed`` where its step could have changed the host.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import multiprocessing
import os
import pickle
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from toolkit.hostpool import DEADLINE_GRACE_S, Describe, HostWork, ThreadHostPool, lost, synthesised
from toolkit.models import HostReport
from toolkit.secrets import REDACTED, Secret
from toolkit.transport.base import HostTarget

if TYPE_CHECKING:
    from multiprocessing.context import ForkProcess

    from toolkit.runner import FleetControl

__all__ = ["ABANDON_WAIT_S", "ProcessHostPool", "can_fork", "dumps_report"]

ABANDON_WAIT_S = 2.0  # how long the parent waits for workers' reports of the hosts it gives up on
LOST_AFTER_S = 10.0  # past a host's deadline and grace: a worker that still has not reported it is stuck


def can_fork() -> bool:
    """Whether worker processes can be forked here (not on Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


# ---- what travels between processes ---------------------------------------------------------------


class _ReportPickler(pickle.Pickler):
    """Pickles a report for the parent: secrets as the redaction marker, actions by their registered name."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Secret):
            return Secret, (REDACTED,)
        generic = getattr(type(obj), "__pydantic_generic_metadata__", None)
        if generic and generic.get("origin") is not None and hasattr(obj, "__getstate__"):
            # A parametrised pydantic model (ResultDocument[HostFacts]) has no importable name: rebuild its class.
            return _rebuild_generic, (generic["origin"], tuple(generic["args"]), obj.__getstate__())
        from toolkit.actions import Action, get_action

        if isinstance(obj, Action):
            try:
                registered = get_action(obj.name)
            except Exception:
                registered = None
            if registered is obj:
                return get_action, (obj.name,)
        return NotImplemented


def _rebuild_generic(origin: Any, args: tuple[Any, ...], state: Any) -> Any:
    cls = origin[args if len(args) > 1 else args[0]]
    obj = cls.__new__(cls)
    obj.__setstate__(state)
    return obj


def dumps_report(position: int, report: HostReport) -> bytes:
    """``(position, report)`` pickled for the parent (see :class:`_ReportPickler`)."""
    buffer = io.BytesIO()
    _ReportPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((position, report))
    return buffer.getvalue()


# ---- the worker ----------------------------------------------------------------------------------


@dataclass
class _WorkerJob:
    """What a worker inherits: the work and the run's rules (hosts are sent to it one by one)."""

    work: HostWork
    max_threads: int
    deadline_s: float
    control: FleetControl
    describe: Describe


def _worker_main(job: _WorkerJob, conn: Connection) -> None:
    """A worker's loop: start the hosts the parent sends, send back each report, obey stop and abandon."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # the parent decides how the run stops, and tells the workers
    _limit_malloc_arenas()
    # The output (the console, JSON Lines on stdout) is the parent's alone; log lines (--debug) stay on stderr.
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the worker ends with os._exit: nothing to close)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)

    def wake() -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe: the loop has wake-ups pending already
            os.write(wake_write, b".")

    pool = ThreadHostPool(
        job.work, max_threads=job.max_threads, deadline_s=job.deadline_s, control=job.control,
        describe=job.describe, on_end=wake,
    )  # fmt: skip
    position_of: dict[int, int] = {}
    ending = False
    while not (ending and not pool.running):
        ready = wait([conn, wake_read], timeout=0.5)
        if wake_read in ready:
            os.read(wake_read, 65536)
        if conn in ready:
            ending = _read_orders(conn, job, pool, position_of) or ending
        for report in pool.collect(timeout=None):
            position = position_of.pop(id(report.target), -1)
            if not _send(conn, position, report, job):
                job.control.abandon.set()  # the parent is gone: nobody to report to
                ending = True
    pool.close()
    sys.stderr.flush()
    # Now, without joining threads still inside a host the run gave up on, and without flushing buffers
    # copied from the parent at the fork (multiprocessing would: the parent's output twice).
    os._exit(0)


M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
WORKER_MALLOC_ARENAS = 2


def _limit_malloc_arenas() -> None:
    """At most :data:`WORKER_MALLOC_ARENAS` malloc arenas in this worker (glibc only; elsewhere nothing).

    glibc gives threads their own arenas (up to 8 per core) and a worker runs a hundred hosts on threads:
    each arena keeps its freed memory, so resident memory grows with the window for no speed (the GIL
    lets one thread allocate at a time). The same as MALLOC_ARENA_MAX=2, set before the threads start.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, WORKER_MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator has its own policy


def _return_free_memory() -> None:
    """Give the C heap's free pages back to the system before forking (glibc only), so that no worker starts
    with a copy of memory the parent no longer uses (a large inventory's parse leaves tens of MB free)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _read_orders(conn: Connection, job: _WorkerJob, pool: ThreadHostPool, position_of: dict[int, int]) -> bool:
    """Act on every message waiting from the parent; True once the worker should end."""
    control = job.control
    try:
        while conn.poll():
            order, value = conn.recv()
            if order == "host":
                position, target = value
                position_of[id(target)] = position
                pool.start(target)
            elif order == "stop":
                control.stopped_reason = control.stopped_reason or value
                control.stop.set()
            elif order == "abandon":
                control.stop.set()
                control.abandon.set()
                return True
            elif order == "end":
                return True
    except (EOFError, OSError):
        control.stop.set()
        control.abandon.set()
        return True
    return False


def _send(conn: Connection, position: int, report: HostReport, job: _WorkerJob) -> bool:
    try:
        data = dumps_report(position, report)
    except Exception as exc:  # a report that cannot travel still ends its host: the parent reports it lost
        data = pickle.dumps((position, f"internal error: its report could not reach the parent: {exc!r}"))
    try:
        conn.send_bytes(data)
    except OSError:
        return False
    return True


# ---- the parent's side ---------------------------------------------------------------------------


@dataclass
class _Worker:
    process: ForkProcess
    conn: Connection
    in_flight: dict[int, float] = field(default_factory=dict)  # position -> when it was sent
    alive: bool = True


class ProcessHostPool:
    """Hosts run by forked worker processes; the same interface as :class:`~toolkit.hostpool.ThreadHostPool`.

    Args:
        work, describe: as for a thread pool (inherited by the workers, never pickled).
        targets: every host of the run (a report comes back with the host's position in it).
        processes: how many workers.
        max_threads: the most hosts at once in one worker.
        deadline_s: the per-host deadline (the workers enforce it; the parent only notices a stuck worker).
        control: the run's stop and abandon requests, passed on to the workers.
    """

    def __init__(
        self,
        work: HostWork,
        *,
        targets: Sequence[HostTarget],
        processes: int,
        max_threads: int,
        deadline_s: float,
        control: FleetControl,
        describe: Describe,
    ) -> None:
        self._targets = targets
        self._position = {id(target): n for n, target in enumerate(targets)}
        self._control = control
        self._describe = describe
        self._stuck_after = deadline_s + DEADLINE_GRACE_S + LOST_AFTER_S
        self._told_stop = False
        self._abandoned_at: float | None = None
        self._lost_early: list[HostReport] = []  # hosts of a worker found gone while starting one
        job = _WorkerJob(work, max_threads, deadline_s, control, describe)
        context = multiprocessing.get_context("fork")
        self._workers: list[_Worker] = []
        # Whatever the parent buffered is written now, once: a worker must never write its copy of it.
        sys.stdout.flush()
        sys.stderr.flush()
        # Objects alive now (imports, the plan) go to the permanent generation until the run ends: no garbage
        # collection on either side writes to their headers, so their pages stay shared with the workers
        # instead of being copied into each (the gc module's advice for fork without exec).
        gc.freeze()
        _return_free_memory()
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a process with threads (a lab in the same process, in tests):
            # the workers only use what they inherit from this thread, and the run's own threads start later.
            warnings.simplefilter("ignore", DeprecationWarning)
            for number in range(processes):
                parent_end, worker_end = context.Pipe()
                process = context.Process(
                    target=_worker_main, args=(job, worker_end), name=f"jcfix-worker-{number + 1}", daemon=True
                )
                process.start()
                worker_end.close()
                self._workers.append(_Worker(process, parent_end))

    def __len__(self) -> int:
        return sum(len(worker.in_flight) for worker in self._workers)

    @property
    def processes(self) -> int:
        return len(self._workers)

    def start(self, target: HostTarget) -> None:
        """Send ``target`` to the live worker with the fewest hosts running."""
        position = self._position[id(target)]
        live = [w for w in self._workers if w.alive]
        if not live:
            self._lost_early.append(lost(target, self._describe, "no worker process was left to run it"))
            return
        worker = min(live, key=lambda w: len(w.in_flight))
        worker.in_flight[position] = time.monotonic()
        try:
            # The host itself travels, although the worker has the list: a worker that read its inherited
            # copy would write reference counts all over it, and each page it writes becomes its own copy.
            worker.conn.send(("host", (position, target)))
        except OSError:
            self._lost_early += self._worker_gone(worker)

    def collect(self, timeout: float | None = 0.2) -> list[HostReport]:
        """The reports the workers sent, waiting up to ``timeout`` for the first; stop/abandon passed on."""
        self._pass_on_stop()
        finished, self._lost_early = self._lost_early, []
        live = {w.conn: w for w in self._workers if w.alive}
        ready = wait(list(live), timeout=timeout or 0) if live else []
        for conn in ready:
            finished += self._read_reports(live[conn])  # type: ignore[index]
        finished += self._lost_hosts()
        return finished

    def close(self) -> None:
        """End the workers: told to, then joined briefly, then terminated."""
        for worker in self._workers:
            if worker.alive:
                with contextlib.suppress(OSError):
                    worker.conn.send(("end", None))
        deadline = time.monotonic() + (ABANDON_WAIT_S if self._abandoned_at is not None else 5.0)
        for worker in self._workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()  # workers ignore SIGTERM (the parent handles the stop signals)
                worker.process.join(timeout=1.0)
            worker.conn.close()
        gc.unfreeze()

    def _pass_on_stop(self) -> None:
        control = self._control
        if control.stop.is_set() and not self._told_stop:
            self._told_stop = True
            self._broadcast(("stop", control.stopped_reason))
        if self._abandoned_at is None and control.abandoning():
            self._abandoned_at = time.monotonic()
            self._broadcast(("abandon", None))

    def _broadcast(self, message: tuple[str, Any]) -> None:
        for worker in self._workers:
            if worker.alive:
                with contextlib.suppress(OSError):  # a gone worker is noticed when its pipe is read
                    worker.conn.send(message)

    def _read_reports(self, worker: _Worker) -> list[HostReport]:
        reports: list[HostReport] = []
        try:
            while worker.conn.poll():
                position, report = pickle.loads(worker.conn.recv_bytes())
                if worker.in_flight.pop(position, None) is None:
                    continue  # already reported lost (stuck past its deadline)
                if isinstance(report, str):
                    reports.append(lost(self._targets[position], self._describe, report))
                    continue
                report.target = self._targets[position]  # the parent's own host, with its inventory vars
                reports.append(report)
        except (EOFError, OSError):
            reports += self._worker_gone(worker)
        return reports

    def _worker_gone(self, worker: _Worker) -> list[HostReport]:
        """A worker's pipe closed: every host it was running is lost."""
        worker.alive = False
        what = "the worker process running it stopped"
        return [self._lost(position, what) for position in list(worker.in_flight)]

    def _lost_hosts(self) -> list[HostReport]:
        """Hosts whose worker is stuck past their deadline, or that the run gave up waiting for."""
        now = time.monotonic()
        given_up = self._abandoned_at is not None and now - self._abandoned_at > ABANDON_WAIT_S
        reports: list[HostReport] = []
        for worker in self._workers:
            for position, sent in list(worker.in_flight.items()):
                if given_up:
                    reports.append(self._lost(position, self._control.stopped_reason or "interrupted"))
                elif now - sent > self._stuck_after:
                    target = self._targets[position]
                    worker.in_flight.pop(position)
                    message = f"{target.name}: no answer within the per-host deadline"
                    reports.append(synthesised(target, self._describe, category="unreachable", message=message))
        return reports

    def _lost(self, position: int, what: str) -> HostReport:
        for worker in self._workers:
            worker.in_flight.pop(position, None)
        return lost(self._targets[position], self._describe, what)
