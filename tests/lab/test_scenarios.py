"""Scenarios: each built-in loads and answers list_users over WinRM; the loader names file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from lab_client import invoke, parse, script_of, wsman_for

from toolkit.lab import readback
from toolkit.lab.fleet import LabFleet
from toolkit.lab.scenarios import RANDOM_SCENARIO, ScenarioError, builtin_names, load_hosts

CASE_SCENARIOS = [n for n in builtin_names() if n not in ("faults", RANDOM_SCENARIO)]


def test_builtins_cover_every_case() -> None:
    expected = {
        "healthy", "space", "case", "msa", "pin", "picture", "fullname", "provisioning",
        "agent_stopped", "agent_missing", "signed_in", "x86", "faults", "mixed", RANDOM_SCENARIO,
    }  # fmt: skip
    assert expected <= set(builtin_names())


@pytest.mark.parametrize("name", CASE_SCENARIOS)
def test_every_scenario_answers_list_users(name: str) -> None:
    with LabFleet.from_scenario(name) as fleet:
        for endpoint, host in zip(fleet.endpoints, fleet.hosts, strict=True):
            result = parse("list_users", invoke(wsman_for(endpoint), script_of("list_users")))
            assert result.status == "ok" and result.data is not None, result.error
            listed = [u.name for u in result.data.users]
            assert listed == readback.account_names(host)  # the machine's accounts, in RID order
            assert {u.name for u in host.users} <= set(listed)  # every account the scenario describes
            assert result.data.source == ("Get-LocalUser" if host.is_64bit_process else "Win32_UserAccount")


def test_case_specific_facts_reach_the_client() -> None:
    hosts = {h.hostname: h for h in load_hosts("mixed")}
    assert hosts["lab-space"].users[-1].name == "john smith"
    assert hosts["lab-case"].users[-1].name == "jonathan" and hosts["lab-case"].jc_users == ["Jonathan"]
    assert hosts["lab-msa"].users[-1].principal_source == "MicrosoftAccount"
    assert hosts["lab-pin"].users[-1].hello_pin and hosts["lab-picture"].users[-1].picture_password
    assert hosts["lab-fullname"].users[-1].full_name == "janedoe" and hosts["lab-fullname"].jc_users == ["janedoe"]
    assert hosts["lab-provisioning"].find_user("newhire") is None
    assert readback.account(hosts["lab-provisioning"], "newhire") is None  # nor on its machine, at first
    assert not hosts["lab-agent-stopped"].agent.running and not hosts["lab-agent-missing"].agent.installed
    assert hosts["lab-signed-in"].users[-1].signed_in and not hosts["lab-x86"].is_64bit_process


def test_faults_scenario_has_one_host_per_fault() -> None:
    faults = [h.faults for h in load_hosts("faults")]
    assert any(f.latency_ms for f in faults) and any(f.reject_auth for f in faults)
    assert any(f.http_500 for f in faults) and any(f.drop_connection for f in faults)
    assert any(f.refuse_connection for f in faults) and any(f.hang for f in faults)
    assert any(f.script_delay_s for f in faults) and any(f.error_records for f in faults)
    kinds = {f.malformed_result for f in faults}
    assert {"empty", "two", "not_json", "wrong_shape"} <= kinds


def test_random_hosts_are_reproducible_and_sized() -> None:
    first = load_hosts(RANDOM_SCENARIO, count=50, seed=7)
    again = load_hosts(RANDOM_SCENARIO, count=50, seed=7)
    other = load_hosts(RANDOM_SCENARIO, count=50, seed=8)
    assert [h.model_dump() for h in first] == [h.model_dump() for h in again]
    assert [h.model_dump() for h in first] != [h.model_dump() for h in other]
    assert len({h.hostname for h in first}) == 50


def test_count_repeats_hosts_with_numbered_names() -> None:
    hosts = load_hosts("healthy", count=3)
    assert [h.hostname for h in hosts] == ["lab-healthy-0001", "lab-healthy-0002", "lab-healthy-0003"]
    hosts[0].users[0].enabled = True
    assert not hosts[1].users[0].enabled  # deep copies: one host's changes stay on it


def test_loader_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    bad_field = tmp_path / "bad.yaml"
    bad_field.write_text("name: bad\nhosts:\n  - hostname: pc1\n    users:\n      - {name: a, rid: 1, colour: red}\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml: hosts\[0\]\.users\[0\]\.colour .*host pc1.*Extra inputs"):
        load_hosts(bad_field)
    missing = tmp_path / "missing.yaml"
    missing.write_text("name: m\nhosts:\n  - hostname: pc1\n    users: [{name: a}]\n")
    with pytest.raises(ScenarioError, match=r"missing\.yaml: hosts\[0\]\.users\[0\]\.rid .*Field required"):
        load_hosts(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nhosts: [\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml line \d+: not valid YAML"):
        load_hosts(broken)
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        load_hosts("nope")
    twice = tmp_path / "twice.yaml"
    twice.write_text("name: t\nhosts:\n  - {hostname: pc1}\n  - {hostname: PC1}\n")
    with pytest.raises(ScenarioError, match="hostname used twice: pc1"):
        load_hosts(twice)
