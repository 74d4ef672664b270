"""The lab's event channel: a user signs in between two jcfix runs, the agent syncs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from e2e_support import Lab, json_out, run_jcfix

from toolkit.cli.lab import post_event
from toolkit.errors import UsageError
from toolkit.lab import readback
from toolkit.lab.hostmachine import machine_of
from toolkit.lab.server import CONTROL_PATH


def _entry(lab: Lab, hostname: str) -> dict[str, object]:
    endpoint = next(e for e in lab.fleet.server.endpoints if e.hostname == hostname)
    return {"address": endpoint.address, "port": endpoint.port, "scheme": endpoint.scheme}


def test_sign_in_runs_the_pending_pin_task_and_the_pin_goes_at_sign_out(start_lab: Callable[..., Lab]) -> None:
    # certutil -DeleteHelloContainer: "Users need to sign out after using this option for it to complete".
    lab = start_lab("pin")
    run_jcfix("fix", "remove-pin", "-i", str(lab.inventory), "--user", "pat")
    answer = post_event(_entry(lab, "lab-pin"), None, {"event": "sign_in", "user": "pat"})
    assert answer["host"] == "lab-pin"
    assert len(answer["tasks_run"]) == 1
    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    assert "HELLO_PIN_SET" in {f["code"] for f in diagnosis["hosts"][0]["findings"]}
    # The SYSTEM clean-up runs 15 minutes after the sign-in (its trigger's Delay) and deletes both tasks.
    answer = post_event(_entry(lab, "lab-pin"), None, {"event": "advance", "seconds": 900})
    assert answer["tasks_deleted"] == [] and readback.scheduled_tasks(lab.host("lab-pin")) == {}
    post_event(_entry(lab, "lab-pin"), None, {"event": "sign_out", "user": "pat"})
    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    assert "HELLO_PIN_SET" not in {f["code"] for f in diagnosis["hosts"][0]["findings"]}


def test_reenrol_and_battery_events_reach_the_machine(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("pin")
    entry = _entry(lab, "lab-pin")
    host = lab.host("lab-pin")
    run_jcfix("fix", "remove-pin", "-i", str(lab.inventory), "--user", "pat", "--all-users-now", "--run-id", "w")
    assert not readback.has_pin(host, "pat")
    post_event(entry, None, {"event": "reenrol_pin", "user": "pat"})
    assert readback.has_pin(host, "pat")
    post_event(entry, None, {"event": "on_battery"})
    assert machine_of(host).state.on_battery is True
    post_event(entry, None, {"event": "on_battery", "value": False})
    assert machine_of(host).state.on_battery is False


def test_agent_sync_provisions_now(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("provisioning_delayed")
    answer = post_event(_entry(lab, "lab-provisioning-delayed"), None, {"event": "agent_sync"})
    assert answer["provisioned"] == ["newhire"]


def test_bad_events_and_credentials_are_refused(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("pin")
    entry = _entry(lab, "lab-pin")
    with pytest.raises(UsageError, match="has no account named 'nobody'"):
        post_event(entry, None, {"event": "sign_in", "user": "nobody"})
    with pytest.raises(UsageError, match="unknown event"):
        post_event(entry, None, {"event": "reboot"})
    url = f"http://{entry['address']}:{entry['port']}{CONTROL_PATH}"
    assert requests.post(url, json={"event": "agent_sync"}, auth=("labadmin", "wrong"), timeout=10).status_code == 401
    with pytest.raises(UsageError, match="loopback"):
        post_event({"address": "192.0.2.1", "port": 5985}, None, {"event": "agent_sync"})
