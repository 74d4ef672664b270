"""SIGTERM, SIGHUP and a second signal end a run cleanly (issue 15 item 1).

Each test runs the real CLI against a lab whose scripts are slow, signals it while hosts are running,
then reads what it left: the exit code (128 + the signal), the JUnit file (parses), the HTML page
(whole), the JSON stream (ends with its summary), and the run history (the run finished, every host
accounted for; a host whose change was sent never recorded as untouched).
"""

from __future__ import annotations

import signal
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from signal_support import (
    CASE_USERS,
    check_reports,
    ended,
    history_run,
    json_lines,
    lab,
    running,
    scenario,
    start,
    wait_for,
    wait_for_a_host,
)

from toolkit.actions import get_action
from toolkit.lab import readback
from toolkit.lab.fleet import LabFleet
from toolkit.models import HostReport, Step
from toolkit.runner import FleetControl, LiveChannel, run_hosts
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget

HOSTS = [f"slow-{i:02d}" for i in range(8)]


def _play(tmp_path: Path, inventory: Path, playbook: str, run_id: str, *extra: str) -> list[str]:
    return [
        *("play", playbook, "-i", str(inventory), "-o", "json", "--forks", "2", "--run-id", run_id),
        *("--junit", str(tmp_path / "junit.xml"), "--html", str(tmp_path / "report.html"), *extra),
    ]


# Each CLI test also runs with the hosts in two worker processes (toolkit.workers): the parent alone gets the
# signal and must pass the stop on.
WORKERS = pytest.mark.parametrize("workers", [1, 2])


@pytest.mark.parametrize(
    ("signum", "code", "workers"), [(signal.SIGTERM, 143, 1), (signal.SIGHUP, 129, 1), (signal.SIGTERM, 143, 2)]
)
def test_a_signal_stops_a_play_and_leaves_complete_reports(
    tmp_path: Path, signum: int, code: int, workers: int
) -> None:
    with lab(tmp_path, scenario("slow", HOSTS, faults="{script_delay_s: 0.8}")) as (_, inventory):
        process = start(tmp_path, *_play(tmp_path, inventory, "takeover-readiness", "r-signal"), workers=workers)
        wait_for_a_host(process, tmp_path)
        process.send_signal(signum)
        out, err = ended(process, tmp_path)
    name = signal.Signals(signum).name
    assert process.returncode == code, err
    assert f"jcfix: stopped by {name}: no new hosts start" in err and "Traceback" not in err
    stream = json_lines(out)
    hosts = check_reports(tmp_path / "junit.xml", tmp_path / "report.html", stream, len(HOSTS))
    assert stream[-1]["exit_code"] == code and stream[-1]["interrupted"] is True
    statuses = {line["status"] for line in hosts.values()}
    assert statuses == {"ok", "skipped"}, hosts  # the running hosts ended their step within the grace
    assert all(f"stopped by {name}" in line["reason"] for line in hosts.values() if line["status"] == "skipped")
    run, rows = history_run(tmp_path, "r-signal")
    assert run.ended is not None and run.exit_code == code and run.interrupted is True
    assert sorted(row.host for row in rows) == HOSTS
    assert {row.host: row.status for row in rows} == {host: line["status"] for host, line in hosts.items()}


@WORKERS
def test_a_second_sigterm_stops_waiting_and_still_records_every_host(tmp_path: Path, workers: int) -> None:
    # Scripts far slower than the test waits: running hosts can only be recorded by giving up on them.
    with lab(tmp_path, scenario("slow", HOSTS, faults="{script_delay_s: 30}")) as (fleet, inventory):
        process = start(tmp_path, *_play(tmp_path, inventory, "takeover-readiness", "r-twice"), workers=workers)
        listeners = [fleet.listener(host) for host in HOSTS]
        started = running(process, lambda: sum(lst.requests_served > 0 for lst in listeners) >= 2)
        wait_for(started, "two hosts running")
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        out, err = ended(process, tmp_path, timeout=20)  # far less than one script: it did not wait for them
    assert process.returncode == 143, err
    assert "jcfix: SIGTERM again: not waiting for running hosts" in err and "Traceback" not in err
    stream = json_lines(out)
    hosts = check_reports(tmp_path / "junit.xml", tmp_path / "report.html", stream, len(HOSTS))
    given_up = [host for host, line in hosts.items() if line["status"] == "failed"]
    assert len(given_up) == 2 and all("stopped while running" in hosts[h]["reason"] for h in given_up), hosts
    assert {line["status"] for line in hosts.values()} == {"failed", "skipped"}
    run, rows = history_run(tmp_path, "r-twice")
    assert run.ended is not None and run.exit_code == 143 and len(rows) == len(HOSTS)


def _renamed(fleet: LabFleet, host: str) -> bool:
    account = readback.account(fleet.listener(host).host, "jonathan")
    return account is not None and account.name == "Jonathan"


@WORKERS
@pytest.mark.parametrize("twice", [False, True])
def test_an_apply_play_stopped_never_records_a_sent_change_as_untouched(
    tmp_path: Path, twice: bool, workers: int
) -> None:
    delay = 2.0 if twice else 0.5
    text = scenario("case", HOSTS, users=CASE_USERS, faults=f"{{script_delay_s: {delay}}}")
    with lab(tmp_path, text, trace=True) as (fleet, inventory):
        args = _play(tmp_path, inventory, "fix-takeover-blockers", "r-apply", "--apply")
        process = start(tmp_path, *args, workers=workers)
        if twice:
            # A host's second pipeline is its fix: signal twice while the lab holds it (2 s) unanswered.
            traces = [fleet.listener(host).trace for host in HOSTS]
            assert all(trace is not None for trace in traces)
            in_flight = running(process, lambda: any(sum(e.action == "Command" for e in t or []) >= 2 for t in traces))
            wait_for(in_flight, "a fix in flight")
            process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            process.send_signal(signal.SIGTERM)
        else:
            wait_for_a_host(process, tmp_path)
            process.send_signal(signal.SIGTERM)
        out, err = ended(process, tmp_path)
        time.sleep(delay + 0.5)  # a fix the lab still held lands now: the host did change
        renamed = [host for host in HOSTS if _renamed(fleet, host)]
    assert process.returncode == 143, err
    stream = json_lines(out)
    hosts = check_reports(tmp_path / "junit.xml", tmp_path / "report.html", stream, len(HOSTS))
    run, rows = history_run(tmp_path, "r-apply")
    assert run.ended is not None and len(rows) == len(HOSTS)
    recorded = {row.host: row for row in rows}
    assert renamed, "no host was changed before the stop"
    for host in renamed:  # changed, or failed (changed): never ok, skipped or failed alone
        assert recorded[host].changed and recorded[host].touched, (host, recorded[host])
        assert hosts[host]["changed"] is True and hosts[host]["status"] in {"changed", "failed"}


@WORKERS
@pytest.mark.parametrize("twice", [False, True])
def test_diagnose_under_sigterm_records_the_run_and_exits_143(tmp_path: Path, twice: bool, workers: int) -> None:
    delay = 30 if twice else 1.0  # twice: far slower than the test waits, so only giving up on hosts ends it
    with lab(tmp_path, scenario("slow", HOSTS, faults=f"{{script_delay_s: {delay}}}")) as (fleet, inventory):
        args = ("diagnose", "-i", str(inventory), "--forks", "2")
        reports = ("--junit", str(tmp_path / "junit.xml"), "--html", str(tmp_path / "r.html"))
        process = start(tmp_path, *args, *reports, workers=workers)
        listeners = [fleet.listener(host) for host in HOSTS]
        started = running(process, lambda: sum(lst.requests_served > 0 for lst in listeners) >= 2)
        wait_for(started, "two hosts running")
        process.send_signal(signal.SIGTERM)
        if twice:
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
        _, err = ended(process, tmp_path, timeout=20)
    assert process.returncode == 143, err
    assert "Traceback" not in err and all(line.startswith("jcfix") for line in err.splitlines())
    ET.parse(tmp_path / "junit.xml")
    assert (tmp_path / "r.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    run, rows = history_run(tmp_path)
    assert run.ended is not None and run.exit_code == 143 and run.interrupted is True
    assert sorted(row.host for row in rows) == HOSTS
    statuses = {row.status for row in rows}
    assert statuses == ({"failed", "skipped"} if twice else {"ok", "skipped"}), rows
    assert all("stopped by SIGTERM" in (row.reason or "") for row in rows if row.status != "ok")


class _Held:
    """A session whose scripts run until ``release`` is set (a step the run must stop waiting for)."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def run(self, rendered: Any, *, whatif: bool = False) -> Any:
        self.release.wait(30)
        raise AssertionError("the run should not have waited for this step")

    def close(self) -> None:
        """Nothing to close."""


def test_running_hosts_get_the_grace_then_are_recorded_with_what_is_known() -> None:
    rename = get_action("rename_user")
    step = Step(rename, rename.render({"UserName": "a", "NewName": "b", "RunId": "r-1"}))
    release, control = threading.Event(), FleetControl()
    settings = ConnectionSettings(user="u", deadline=60)

    def work(target: HostTarget) -> HostReport:
        channel = LiveChannel(target, settings, lambda t, s: _Held(release), stop=control.stop)
        with channel, control.track(channel):
            return HostReport(target, results=[(step, channel.run(step))])

    stopper = threading.Timer(0.3, control.request_stop, (signal.SIGTERM, "stopped by SIGTERM", 0.3))
    stopper.start()
    try:
        targets = [HostTarget(f"pc-{i}") for i in range(3)]
        ran = run_hosts(targets, work, forks=1, control=control, describe=lambda target: [step])
        reports = {report.target.name: report for report in ran}
    finally:
        release.set()
        stopper.cancel()
    assert control.abandon.is_set()  # the grace ran out: no second signal was needed
    running = reports["pc-0"]
    assert running.label == "failed (changed)"  # its change was sent: it may have been made
    assert running.reason is not None and running.reason.startswith("stopped by SIGTERM: stopped while its change")
    assert [reports[name].reason for name in ("pc-1", "pc-2")] == ["stopped by SIGTERM"] * 2
