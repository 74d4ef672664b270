"""A fleet run split across forked worker processes (toolkit.workers): every host ends with one status, the
parent decides what starts, stop and abandon reach the workers, a lost worker costs only its hosts, and
nothing secret travels back."""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from typing import Any

import pytest

from toolkit.actions import get_action
from toolkit.models import HostReport, Step
from toolkit.results import validate_document
from toolkit.runner import FleetControl, run_hosts, worker_processes
from toolkit.secrets import REDACTED, Secret
from toolkit.transport.base import HostTarget
from toolkit.workers import can_fork

pytestmark = pytest.mark.skipif(not can_fork(), reason="worker processes are forked")

LIST_USERS = get_action("list_users")
RENAME = get_action("rename_user")


def _targets(count: int) -> list[HostTarget]:
    return [HostTarget(f"pc-{n:04d}", vars={"n": n}) for n in range(count)]


def _step(action: Any = LIST_USERS) -> Step:
    return Step(action, action.render({}))


def _ok_report(target: HostTarget, step: Step | None = None) -> HostReport:
    step = step or _step()
    document = {
        "schema": 1,
        "action": "list_users",
        "status": "ok",
        "changed": False,
        "data": {"computer_name": "PC", "source": "Get-LocalUser", "users": []},
        "findings": [],
        "error": None,
    }
    result = validate_document("list_users", document, LIST_USERS.data_model())
    report = HostReport(target, results=[(step, result)])
    report.add_note(f"pid {os.getpid()}")
    return report


def _pids(reports: list[HostReport]) -> set[int]:
    return {int(r.note.split()[1]) for r in reports if r.note and r.note.startswith("pid ")}


def test_hosts_run_in_worker_processes_and_each_comes_back_once_as_the_parents_own_host() -> None:
    targets = _targets(240)
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    reports = list(run_hosts(targets, _ok_report, forks=16, processes=2))
    assert sorted(r.target.name for r in reports) == [t.name for t in targets]
    assert all(r.status == "ok" for r in reports)
    by_name = {t.name: t for t in targets}
    assert all(r.target is by_name[r.target.name] for r in reports)  # inventory vars and identity kept
    pids = _pids(reports)
    assert len(pids) == 2 and os.getpid() not in pids
    # The workers were joined: nothing left running, and their CPU time is counted as this process's children's.
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("jcfix-worker")]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert after.ru_utime + after.ru_stime > children_cpu.ru_utime + children_cpu.ru_stime


def test_a_report_made_on_a_copy_of_its_host_still_ends_that_host_at_once() -> None:
    import copy

    targets = _targets(40)
    started = time.monotonic()
    reports = list(run_hosts(targets, lambda t: _ok_report(copy.copy(t)), forks=8, processes=2, deadline_s=60))
    assert sorted(r.target.name for r in reports) == [t.name for t in targets]
    assert all(r.status == "ok" for r in reports)  # not "unreachable" after the deadline: mapped to its host
    assert time.monotonic() - started < 30  # bound for a hang, not a timing: the deadline is 60 s


def test_a_secret_in_a_report_comes_back_redacted() -> None:
    secret_step = Step(RENAME, RENAME.render({"UserName": "a", "NewName": "b", "RunId": "r1"}))
    object.__setattr__(secret_step.rendered, "parameters", {"Password": Secret("hunter2-not-for-pickles")})

    def work(target: HostTarget) -> HostReport:
        return _ok_report(target, secret_step)

    reports = list(run_hosts(_targets(4), work, forks=4, processes=2))
    for report in reports:
        ((step, _),) = report.results
        assert step.action is RENAME  # actions travel by name: the parent's registered object
        password = step.rendered.parameters["Password"]
        assert isinstance(password, Secret) and password.reveal() == REDACTED


def test_a_worker_that_dies_costs_only_its_running_hosts_and_a_change_is_never_recorded_untouched() -> None:
    change = Step(RENAME, RENAME.render({"UserName": "a", "NewName": "b", "RunId": "r1"}))

    def work(target: HostTarget) -> HostReport:
        if target.name == "pc-0005":
            time.sleep(0.3)  # let the other hosts of this worker be in flight
            os._exit(3)
        return _ok_report(target, change)

    targets = _targets(60)
    reports = list(run_hosts(targets, work, forks=8, processes=2, describe=lambda t: [change]))
    assert sorted(r.target.name for r in reports) == [t.name for t in targets]
    lost = [r for r in reports if r.status == "failed"]
    assert "pc-0005" in {r.target.name for r in lost}
    for report in lost:
        assert report.note is not None and "worker process" in report.note
        assert report.changed  # the rename may have been made
    assert len([r for r in reports if r.status == "ok"]) >= 30  # the other worker took over the rest


def test_stop_reaches_the_workers_and_every_host_not_started_is_skipped() -> None:
    control = FleetControl()
    seen: list[HostReport] = []

    def work(target: HostTarget) -> HostReport:
        time.sleep(0.02)
        return _ok_report(target)

    for report in run_hosts(_targets(300), work, forks=8, processes=2, control=control):
        seen.append(report)
        if len(seen) == 20:
            control.request_stop(2, "interrupted before it started")
    assert len(seen) == 300
    assert len({r.target.name for r in seen}) == 300
    skipped = [r for r in seen if r.status == "skipped"]
    assert len(skipped) >= 250 and all(r.reason == "interrupted before it started" for r in skipped)


def test_abandoning_hung_hosts_ends_the_run_with_every_host_accounted() -> None:
    control = FleetControl()
    never = threading.Event()

    def work(target: HostTarget) -> HostReport:
        never.wait(60)  # a hung host: the run must stop waiting for it
        return _ok_report(target)

    started = time.monotonic()
    control.request_stop(15, "interrupted before it started", grace_s=0.5)
    control.stop.clear()  # the run starts hosts, then the grace (already counting) runs out
    reports = list(run_hosts(_targets(30), work, forks=6, processes=2, control=control))
    assert time.monotonic() - started < 30
    assert sorted(r.target.name for r in reports) == [t.name for t in _targets(30)]
    assert all(r.status in ("failed", "skipped") for r in reports)


def test_max_fail_percent_is_counted_by_the_parent_across_workers() -> None:
    def work(target: HostTarget) -> HostReport:
        report = _ok_report(target)
        if target.vars["n"] % 2:
            report.failure_category = "script_failed"
        return report

    reports = list(run_hosts(_targets(400), work, forks=4, processes=2, max_fail_percent=5))
    assert len(reports) == 400
    skipped = [r for r in reports if r.status == "skipped"]
    assert skipped and all((r.reason or "").startswith("max-fail-percent 5 exceeded") for r in skipped)


def test_serial_batches_finish_before_the_next_starts_across_workers() -> None:
    def work(target: HostTarget) -> HostReport:
        report = _ok_report(target)
        report.add_note(f"at {time.time()}")
        return report

    reports = list(run_hosts(_targets(30), work, forks=8, processes=2, serial=["5", "10"]))
    times: dict[int, list[float]] = {}
    for report in reports:
        assert report.batch is not None
        at = float(report.note.split("at ")[-1]) if report.note else 0.0
        times.setdefault(report.batch, []).append(at)
    assert sorted(len(v) for v in times.values()) == [5, 5, 10, 10]
    for batch in range(1, 4):
        assert max(times[batch]) <= min(times[batch + 1])


def test_how_many_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JCFIX_WORKERS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert worker_processes(5000, None) == 2
    assert worker_processes(50, None) == 1  # small runs stay in one process
    assert worker_processes(5000, 1) == 1  # a caller whose work must not be forked
    monkeypatch.setenv("JCFIX_WORKERS", "1")
    assert worker_processes(5000, None) == 1
    monkeypatch.setenv("JCFIX_WORKERS", "3")
    assert worker_processes(50, None) == 3
    monkeypatch.setattr("toolkit.runner.can_fork", lambda: False)
    assert worker_processes(5000, None) == 1
