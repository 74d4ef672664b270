"""The win_* scenarios: each loads with the existing loader, builds a machine, and shows its bite; every
built-in scenario (and the random generator) builds; today's fields keep their meaning."""

from __future__ import annotations

import pytest

from tests.windows_model.conftest import host_of, machine_of, run_command
from toolkit.lab.scenarios import RANDOM_SCENARIO, builtin_names, load_hosts
from toolkit.lab.windows.build import build_machine
from toolkit.lab.windows.state import AGENT_CONTRIB, NGC_PIN_ROOT, PIN_PROVIDER_ROOT

WIN_SCENARIOS = [
    "win_domain_shadow",
    "win_wow64",
    "win_battery",
    "win_precreated",
    "win_filtered_token",
    "win_shared_device",
    "win_pin_until_signout",
    "win_reenrol",
    "win_faults",
]


def test_the_win_scenarios_are_built_in() -> None:
    assert set(WIN_SCENARIOS) <= set(builtin_names())


@pytest.mark.parametrize("name", [n for n in builtin_names() if n != RANDOM_SCENARIO])
def test_every_scenario_builds_a_machine(name: str) -> None:
    for host in load_hosts(name):
        machine = build_machine(host)
        names = [u.get("Name") for u in run_command(machine, "Get-LocalUser").output] if host.is_64bit_process else []
        if host.is_64bit_process:
            assert sorted(names, key=str.lower) == sorted((u.name for u in host.users), key=str.lower)


def test_random_hosts_build() -> None:
    for host in load_hosts(RANDOM_SCENARIO, count=20, seed=3):
        assert build_machine(host).state.sam.accounts


def test_todays_fields_keep_their_meaning() -> None:
    signed = machine_of("signed_in")
    sid = f"{signed.state.machine_sid}-1001"
    assert signed.state.session_of(sid) is not None and signed.state.profiles[sid].loaded
    assert signed.token.is_admin and signed.is_64bit_process
    stopped = machine_of("agent_stopped")
    assert stopped.state.services["jumpcloud-agent"].status == "Stopped"
    assert "jumpcloud-agent" not in machine_of("agent_missing").state.services
    healthy = machine_of("healthy")
    assert (
        healthy.state.fs.get(f"{AGENT_CONTRIB}\\managedUsers.json").data
        == b'[{"username": "alice"}, {"username": "bob"}]'
    )
    assert b"5f0c1a2b3c4d5e6f7a8b9c0d" in healthy.state.fs.get(f"{AGENT_CONTRIB}\\jcagent.conf").data
    pin = machine_of("pin")
    assert pin.state.registry.peek(f"{NGC_PIN_ROOT}\\{pin.state.machine_sid}-1001") is not None
    assert pin.state.registry.peek(f"{PIN_PROVIDER_ROOT}\\{pin.state.machine_sid}-1001") is None


def test_win_shared_device_bytes() -> None:
    data = machine_of("win_shared_device").state.fs.get(f"{AGENT_CONTRIB}\\managedUsers.json").data
    assert data == b'\xef\xbb\xbf[{"username":"alice"},{"username":"bob"},{"username":"zo\xc3\xab"}]'


def test_win_filtered_token_session() -> None:
    host = host_of("win_filtered_token")
    machine = build_machine(host)
    assert machine.token.user.endswith("-1000") and not machine.token.elevated and not machine.token.is_admin
    policy = machine.state.registry.peek(
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System"
    )
    assert policy is not None and "localaccounttokenfilterpolicy" not in policy.values


def test_win_battery_and_language_and_pin_markers() -> None:
    assert machine_of("win_battery").state.on_battery
    reenrol = machine_of("win_reenrol")
    assert reenrol.state.language == "de-DE" and reenrol.state.pin_markers == ("pin_provider",)
    assert machine_of("win_pin_until_signout").state.pin_markers == ("ngc_pin", "pin_provider")


def test_a_precreated_folder_needs_a_known_owner() -> None:
    host = host_of("win_precreated").model_copy(deep=True)
    host.precreated_folders[0].owner = "nobody"
    with pytest.raises(ValueError, match="no local account 'nobody'"):
        build_machine(host)
