"""The fleet runner: serial batches, max-fail-percent over failing and unreachable lab hosts, a bounded
window of running hosts, and retries for transient errors only (a change is checked before re-applying)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from toolkit.actions import get_action
from toolkit.errors import UsageError
from toolkit.inventory import load_inventory
from toolkit.lab.fleet import LabFleet
from toolkit.results import RawOutput
from toolkit.runner import (
    FleetControl,
    HostChannel,
    HostReport,
    RetryPolicy,
    Step,
    batch_sizes,
    parse_serial,
    run_host,
    run_hosts,
)
from toolkit.settings import ConnectionSettings
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget, TransportError

LIST_USERS = get_action("list_users")
RENAME = get_action("rename_user")


def _step(action: Any, values: dict[str, Any] | None = None, **kwargs: Any) -> Step:
    return Step(action, action.render(values or {}), **kwargs)


def test_serial_batches_are_counts_or_percentages_with_the_last_repeated() -> None:
    assert list(batch_sizes(parse_serial("5%,50%,100%"), 40)) == [2, 20, 18]
    assert list(batch_sizes(parse_serial("1,3"), 8)) == [1, 3, 3, 1]
    assert list(batch_sizes(parse_serial("1%"), 3)) == [1, 1, 1]  # at least one host per batch
    assert list(batch_sizes([], 7)) == [7]
    for bad in ("0", "abc", "150%", "5%,x"):
        with pytest.raises(UsageError, match="--serial"):
            parse_serial(bad)


def _lab_work(settings: ConnectionSettings) -> Callable[[HostTarget], HostReport]:
    step = _step(LIST_USERS)

    def work(target: HostTarget) -> HostReport:
        return run_host(target, [step], settings)

    return work


def test_max_fail_percent_counts_unreachable_hosts_and_skips_the_rest(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], lab_settings: ConnectionSettings
) -> None:
    _, inventory = lab_fleet("faults")
    by_name = {t.name: t for t in load_inventory(inventory)}
    # An unreachable host first: 1 of 4 is 25%, more than 10%, so nothing after it starts.
    order = ["fault-refused", "fault-none", "fault-latency", "fault-error-records"]
    reports = list(
        run_hosts([by_name[n] for n in order], _lab_work(lab_settings), forks=1, max_fail_percent=10, deadline_s=6)
    )
    statuses = {r.target.name: (r.status, r.reason) for r in reports}
    assert len(reports) == len(order)
    assert statuses["fault-refused"][0] == "unreachable"
    for name in order[1:]:
        status, reason = statuses[name]
        assert status == "skipped"
        assert reason is not None and reason.startswith("max-fail-percent 10 exceeded: 1 of 4 hosts")


def test_serial_canary_batch_stops_the_rollout_and_every_host_gets_a_status(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], lab_settings: ConnectionSettings
) -> None:
    _, inventory = lab_fleet("faults")
    targets = load_inventory(inventory)
    assert [t.name for t in targets[:3]] == ["fault-none", "fault-latency", "fault-reject-auth"]
    # Batch 1 (the canary, fault-none) passes; batch 2 holds fault-latency and fault-reject-auth: 1 of 2
    # failed is 50% > 40%, so batch 3 never starts.
    control = FleetControl()
    reports = list(
        run_hosts(
            targets,
            _lab_work(lab_settings),
            forks=4,
            serial=parse_serial("1,2"),
            max_fail_percent=40,
            control=control,
            deadline_s=6,
        )
    )
    assert sorted(r.target.name for r in reports) == sorted(t.name for t in targets)
    statuses = {r.target.name: r.status for r in reports}
    assert statuses["fault-none"] == statuses["fault-latency"] == "ok"
    assert statuses["fault-reject-auth"] == "failed"
    skipped = [t.name for t in targets[3:]]
    assert all(statuses[name] == "skipped" for name in skipped)
    assert control.stopped_reason is not None and "1 of 2 hosts in the batch" in control.stopped_reason
    # A skipped host names the steps it would have run, and why not.
    skipped_report = next(r for r in reports if r.target.name == skipped[0])
    assert skipped_report.results == [] and skipped_report.reason == control.stopped_reason


def test_the_window_never_holds_more_than_forks_hosts() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()
    started: list[str] = []

    def work(target: HostTarget) -> HostReport:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            started.append(target.name)
        threading.Event().wait(0.01)
        with lock:
            running -= 1
        return HostReport(target)

    targets = [HostTarget(f"pc-{i:04d}") for i in range(300)]
    stream = run_hosts(targets, work, forks=5)
    first = next(stream)
    # Hosts start as slots free up, not all at once: after the first report, far fewer than 300 began.
    assert len(started) < 50 and first.target.name in started
    rest = list(stream)
    assert len(rest) == 299 and peak <= 5
    assert sorted(r.target.name for r in [first, *rest]) == sorted(t.name for t in targets)


def test_stop_starts_no_new_host_and_reports_them_skipped() -> None:
    control = FleetControl()

    def work(target: HostTarget) -> HostReport:
        control.stop.set()  # as if Ctrl-C arrived while the first host ran
        return HostReport(target)

    reports = list(run_hosts([HostTarget(f"pc-{i}") for i in range(5)], work, forks=1, control=control))
    assert [r.status for r in reports] == ["ok", "skipped", "skipped", "skipped", "skipped"]
    assert reports[1].reason == "interrupted before it started"


GOOD = {
    "list_users": {"computer_name": "PC", "source": "Get-LocalUser", "users": []},
}


def _document(
    action: str, status: str, data: dict[str, Any], changed: bool | None = None, error: dict[str, str] | None = None
) -> RawOutput:
    # As the templates write it: under -WhatIf a fix says status "changed" (would change) but changed false.
    if changed is None:
        changed = status == "changed" and not data.get("check_mode", False)
    return RawOutput(
        output=[
            json.dumps(
                {
                    "schema": 1,
                    "action": action,
                    "status": status,
                    "changed": changed,
                    "data": data,
                    "findings": [],
                    "error": error,
                }
            )
        ]
    )


def _fix_data(*, check: bool) -> dict[str, Any]:
    return {
        "user": "a",
        "sid": "S-1",
        "check_mode": check,
        "planned": [],
        "before": None,
        "after": None,
        "backups": [],
        "notes": [],
    }


class ScriptedSession:
    """A session whose open() and run() follow a script shared by every session of a host."""

    script: ClassVar[list[Any]] = []
    calls: ClassVar[list[str]] = []

    def __init__(self, target: HostTarget, settings: ConnectionSettings) -> None:
        self.target = target

    def open(self) -> None:
        ScriptedSession.calls.append("open")
        if ScriptedSession.script and ScriptedSession.script[0] == "refuse":
            ScriptedSession.script.pop(0)
            raise TransportError("unreachable", f"{self.target.name}: connection refused")

    def run(self, rendered: RenderedScript, *, whatif: bool = False) -> RawOutput:
        ScriptedSession.calls.append(f"run {rendered.action}{' -WhatIf' if whatif else ''}")
        behaviour = ScriptedSession.script.pop(0)
        if isinstance(behaviour, BaseException):
            raise behaviour
        return behaviour

    def close(self) -> None:
        ScriptedSession.calls.append("close")

    def __enter__(self) -> ScriptedSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _channel(script: list[Any], retries: int = 2) -> HostChannel:
    ScriptedSession.script = script
    ScriptedSession.calls = []
    policy = RetryPolicy(retries=retries, backoff_s=0.01, min_time_left_s=0)
    return HostChannel(HostTarget("pc-1"), ConnectionSettings(deadline=30), ScriptedSession, policy)


def test_unreachable_before_anything_ran_is_retried_with_backoff() -> None:
    channel = _channel(["refuse", "refuse", _document("list_users", "ok", GOOD["list_users"])])
    result = channel.run(_step(LIST_USERS))
    assert result.status == "ok" and channel.retries == 2
    assert ScriptedSession.calls == ["open", "close", "open", "close", "open", "run list_users"]


def test_retries_give_up_after_the_policy_and_say_why() -> None:
    channel = _channel(["refuse", "refuse", "refuse"], retries=1)
    result = channel.run(_step(LIST_USERS))
    assert result.status == "failed" and result.error is not None and result.error.category == "unreachable"
    assert ScriptedSession.calls.count("open") == 2


@pytest.mark.parametrize(
    "error",
    [
        TransportError("auth_failed", "pc-1: the host refused the credentials (HTTP 401)"),
        TransportError("protocol", "pc-1: WSMan fault"),
        TransportError("script_failed", "pc-1: boom"),
    ],
)
def test_errors_that_are_not_transient_are_never_retried(error: TransportError) -> None:
    channel = _channel([error, _document("list_users", "ok", GOOD["list_users"])])
    result = channel.run(_step(LIST_USERS))
    assert result.status == "failed" and channel.retries == 0
    assert ScriptedSession.calls == ["open", "run list_users"]
    # The channel is broken: the next step does not reach the host.
    assert channel.run(_step(LIST_USERS)).error.message.startswith("not run:")  # type: ignore[union-attr]


def test_a_change_that_may_have_run_is_checked_before_it_is_applied_again() -> None:
    rename = _step(RENAME, {"UserName": "a", "NewName": "b", "RunId": "r-1"})
    dropped = TransportError("unreachable", "pc-1: connection dropped (RemoteDisconnected)")
    # The apply's answer is lost; the check afterwards says nothing is left to do: not applied again.
    channel = _channel([dropped, _document("rename_user", "ok", _fix_data(check=True))])
    result = channel.run(rename)
    assert result.status == "ok"
    assert [c for c in ScriptedSession.calls if c.startswith("run")] == [
        "run rename_user",
        "run rename_user -WhatIf",
    ]
    assert "not applied again" in channel.notes[0]
    # The check says the change is still needed: then, and only then, it is applied again.
    channel = _channel(
        [
            dropped,
            _document("rename_user", "changed", _fix_data(check=True)),
            _document("rename_user", "changed", _fix_data(check=False)),
        ]
    )
    assert channel.run(rename).status == "changed"
    assert [c for c in ScriptedSession.calls if c.startswith("run")] == [
        "run rename_user",
        "run rename_user -WhatIf",
        "run rename_user",
    ]


def _unrendered(action: Any) -> Step:
    """A step whose script is never rendered (the scripted session does not read it)."""
    return Step(action, RenderedScript(action.name, action.version, "# not rendered"))


def test_a_step_that_reports_a_change_is_never_run_again() -> None:
    rename = _unrendered(RENAME)
    dropped = TransportError("unreachable", "pc-1: connection dropped (RemoteDisconnected)")
    # The check after the dropped apply reports a change already made (and a failure): it is the answer,
    # the apply is not run a second time.
    half_done = _document(
        "rename_user",
        "failed",
        {**_fix_data(check=True), "backups": ["C:\\ProgramData\\jcfix\\backups\\r-1\\001-rename.json"]},
        changed=True,
        error={"category": "verify_failed", "message": "the name read back is 'a'"},
    )
    channel = _channel([dropped, half_done, _document("rename_user", "changed", _fix_data(check=False))])
    result = channel.run(rename)
    assert (result.status, result.changed, result.label) == ("failed", True, "failed (changed)")
    assert [c for c in ScriptedSession.calls if c.startswith("run")] == ["run rename_user", "run rename_user -WhatIf"]
    assert "not applied again" in channel.notes[0] and "change already made" in channel.notes[0]
    # A check that reports changed: true (a read that ignored -WhatIf changed something) is not followed by
    # the apply either: the step said it changed the host.
    changed_check = _document("rename_user", "changed", _fix_data(check=True), changed=True)
    channel = _channel([dropped, changed_check, _document("rename_user", "changed", _fix_data(check=False))])
    assert channel.run(rename).changed
    assert [c for c in ScriptedSession.calls if c.startswith("run")] == ["run rename_user", "run rename_user -WhatIf"]
    # A document that came back is never retried, even a failed one that changed something.
    channel = _channel([half_done, _document("rename_user", "changed", _fix_data(check=False))])
    assert channel.run(rename).changed_then_failed
    assert [c for c in ScriptedSession.calls if c.startswith("run")] == ["run rename_user"]
    assert channel.retries == 0


def test_a_host_that_changed_then_failed_says_so() -> None:
    rename = _unrendered(RENAME)
    failed_change = _document(
        "rename_user",
        "failed",
        _fix_data(check=False),
        changed=True,
        error={"category": "verify_failed", "message": "read back disagrees"},
    )
    _channel([failed_change])
    report = run_host(HostTarget("pc-1"), [rename], ConnectionSettings(deadline=30), ScriptedSession)
    assert report.status == "failed" and report.changed and report.label == "failed (changed)"
    checked = run_host(HostTarget("pc-1"), [], ConnectionSettings(deadline=30), ScriptedSession)
    assert not checked.changed and checked.label == "ok"


def test_lab_refused_host_is_retried_but_a_refused_password_is_not(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], lab_settings: ConnectionSettings
) -> None:
    fleet, inventory = lab_fleet("faults")
    by_name = {t.name: t for t in load_inventory(inventory)}
    policy = RetryPolicy(retries=2, backoff_s=0.05, min_time_left_s=0)
    refused = run_host(by_name["fault-refused"], [_step(LIST_USERS)], lab_settings, retry=policy)
    assert refused.status == "unreachable" and refused.retries == 2
    before = fleet.listener("fault-reject-auth").requests_served
    rejected = run_host(by_name["fault-reject-auth"], [_step(LIST_USERS)], lab_settings, retry=policy)
    assert rejected.status == "failed" and rejected.retries == 0
    assert rejected.results[0][1].error.category == "auth_failed"  # type: ignore[union-attr]
    assert fleet.listener("fault-reject-auth").requests_served - before == 1
