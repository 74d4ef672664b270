"""pypsrp's own client against the lab: pools, pipelines, parameters, errors, HTTPS, NTLM, the naive path."""

from __future__ import annotations

import json

import pytest
from lab_client import documents, invoke, parse, script_of, wsman_for
from pypsrp.client import Client
from pypsrp.complex_objects import PSInvocationState, RunspacePoolState
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import PowerShell, RunspacePool

from toolkit.lab.auth import LAB_PASSWORD, LAB_USERNAME
from toolkit.lab.fleet import LabFleet


def test_pool_opens_and_closes_with_windows_request_count(healthy_fleet: LabFleet) -> None:
    endpoint = healthy_fleet.endpoints[0]
    listener = healthy_fleet.listener(endpoint.hostname)
    before = listener.requests_served
    with RunspacePool(wsman_for(endpoint)) as pool:
        assert pool.state == RunspacePoolState.OPENED
        assert str(pool.application_private_data.data["PSVersionTable"]["PSVersion"]).startswith("5.1")
        powershell = PowerShell(pool)
        powershell.add_script(script_of("list_users")).invoke()
        assert powershell.state == PSInvocationState.COMPLETED
        assert len(listener.shells) == 1
    assert pool.state == RunspacePoolState.CLOSED
    assert listener.shells == {}
    # Create, Receive (capability + private data), Receive (Opened), Command, Receive, Delete.
    assert listener.requests_served - before == 6


def test_parameters_round_trip_and_output_is_one_json_string(healthy_fleet: LabFleet) -> None:
    endpoint = healthy_fleet.endpoints[0]
    powershell = invoke(wsman_for(endpoint), script_of("list_users"), {"Name": ["ALICE", "nobody"]})
    assert not powershell.had_errors and powershell.streams.error == []
    assert all(isinstance(text, str) for text in powershell.output)
    (document,) = documents(powershell)
    assert [u["name"] for u in document["data"]["users"]] == ["alice"]
    assert document["data"]["computer_name"] == endpoint.hostname.upper()
    result = parse("list_users", powershell)
    assert result.status == "ok" and result.data is not None
    assert result.data.users[0].sid.endswith("-1001")


def test_terminating_error_record_fails_the_pipeline(healthy_fleet: LabFleet) -> None:
    powershell = invoke(wsman_for(healthy_fleet.endpoints[0]), script_of("list_users"), {"NoSuchParameter": 1})
    assert powershell.had_errors
    assert powershell.state == PSInvocationState.FAILED
    (record,) = powershell.streams.error
    assert str(record) == "A parameter cannot be found that matches parameter name 'NoSuchParameter'."
    assert record.fq_error == "NamedParameterNotFound"
    assert parse("list_users", powershell).status == "failed"


def test_any_script_runs_on_the_machine_and_errors_are_powershell_errors(healthy_fleet: LabFleet) -> None:
    endpoint = healthy_fleet.endpoints[0]
    powershell = invoke(wsman_for(endpoint), "[string](Get-Service -Name jumpcloud-agent).Status")
    assert not powershell.had_errors and powershell.output == ["Running"]
    failed = invoke(wsman_for(endpoint), "$ErrorActionPreference = 'Stop'; Get-Service -Name no-such-service")
    assert failed.had_errors and failed.output == [] and failed.state == PSInvocationState.FAILED
    assert "no-such-service" in str(failed.streams.error[0])


def test_several_pipelines_share_one_pool_and_reuse_a_command_id(healthy_fleet: LabFleet) -> None:
    endpoint = healthy_fleet.endpoints[0]
    with RunspacePool(wsman_for(endpoint)) as pool:
        powershell = PowerShell(pool)
        powershell.add_script(script_of("list_users"))
        first = list(powershell.invoke())  # pypsrp keeps appending to the same output list
        powershell.close()  # Signal terminate; the same CommandId is used again below, as on Windows
        second = powershell.invoke()[len(first) :]
        powershell.close()
        other = PowerShell(pool)
        other.add_script(script_of("collect_facts")).invoke()
    assert first == second and len(first) == 1
    assert json.loads(other.output[0])["action"] == "collect_facts"


def test_naive_client_execute_ps(healthy_fleet: LabFleet) -> None:
    endpoint = healthy_fleet.endpoints[0]
    client = Client(
        endpoint.address,
        port=endpoint.port,
        ssl=False,
        auth="basic",
        encryption="never",
        username=LAB_USERNAME,
        password=LAB_PASSWORD,
        no_proxy=True,
    )
    output, streams, had_errors = client.execute_ps(script_of("list_users"))
    assert not had_errors and streams.error == []
    assert json.loads(output)["action"] == "list_users"


def test_wrong_password_is_401_for_basic(healthy_fleet: LabFleet) -> None:
    with pytest.raises(AuthenticationError):
        invoke(wsman_for(healthy_fleet.endpoints[0], password="wrong"), script_of("list_users"))


def test_receive_survives_a_client_that_gave_up() -> None:
    """A Receive whose client timed out must leave the output for the client's retry."""
    with LabFleet.from_scenario("healthy", trace=True) as fleet:
        fleet.hosts[0].faults.script_delay_s = 1.5
        endpoint = fleet.endpoints[0]
        wsman = wsman_for(endpoint, operation_timeout=20, read_timeout=1, reconnection_backoff=0.1)
        powershell = invoke(wsman, script_of("list_users"))
        assert len(powershell.output) == 1
        # The client gave up on one Receive (read timeout 1 s, script 1.5 s) and sent it again: at least one
        # request more than a pool's usual 6; the lab answered the retry only (how long it took: benchmarks/).
        listener = fleet.listener(endpoint.hostname)
        assert listener.requests_served >= 7
        assert [e.action for e in listener.trace or []].count("Receive") == 3


@pytest.mark.parametrize("tls", [False, True], ids=["http-encrypted", "https"])
def test_ntlm(tls: bool) -> None:
    with LabFleet.from_scenario("healthy", auth="ntlm", tls=tls) as fleet:
        endpoint = fleet.endpoints[0]
        assert endpoint.scheme == ("https" if tls else "http")
        for auth in ("ntlm", "negotiate"):
            powershell = invoke(wsman_for(endpoint, auth=auth), script_of("list_users"))
            assert parse("list_users", powershell).status == "ok"
        with pytest.raises(AuthenticationError):
            invoke(wsman_for(endpoint, auth="ntlm", password="wrong"), script_of("list_users"))
        # NTLM's three extra legs (blank POST, negotiate, authenticate) on top of Basic's six.
        if not tls:
            assert fleet.listener(endpoint.hostname).requests_served >= 9


def test_https_with_certificate_validation() -> None:
    with LabFleet.from_scenario("healthy", tls=True) as fleet:
        endpoint = fleet.endpoints[0]
        assert fleet.certificate is not None
        wsman = wsman_for(endpoint, cert_validation=str(fleet.certificate.cert_path))
        powershell = invoke(wsman, script_of("list_users"))
        assert parse("list_users", powershell).status == "ok"
        assert fleet.inventory()["ca_cert"] == str(fleet.certificate.cert_path)


def test_lab_listens_on_loopback_only() -> None:
    with LabFleet.from_scenario("healthy", hosts=3, addressing="addresses", base_address="127.0.77.1", port=0) as fleet:
        assert [e.address for e in fleet.endpoints] == ["127.0.77.1", "127.0.77.2", "127.0.77.3"]
        assert all(e.port not in (0, 5985) for e in fleet.endpoints)  # port=0: free ports, reported back
        powershell = invoke(wsman_for(fleet.endpoints[2]), script_of("list_users"))
        # COMPUTERNAME is the NetBIOS name: at most 15 characters (learn.microsoft.com, "Naming conventions in
        # Active Directory for computers": NetBIOS computer names).
        assert json.loads(powershell.output[0])["data"]["computer_name"] == "LAB-HEALTHY-000"
        assert [listener.pipelines_run for listener in fleet.server.listeners] == [0, 0, 1]
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        LabFleet.from_scenario("healthy", addressing="addresses", base_address="10.0.0.1").start()


def test_dot_sourced_functions_persist_in_a_pool_unless_use_local_scope(healthy_fleet: LabFleet) -> None:
    # pypsrp's add_script dot-sources into the pool's global scope unless use_local_scope is sent
    # (Command.CreateCommandProcessor: _useLocalScope ?? false, fact sheet §8).
    define = "function Get-JcfixMarker { 'defined' }"
    for use_local_scope, expected in ((False, ["defined"]), (True, [])):
        with RunspacePool(wsman_for(healthy_fleet.endpoints[0])) as pool:
            first = PowerShell(pool)
            first.add_script(define, use_local_scope=use_local_scope)
            first.invoke()
            second = PowerShell(pool)
            second.add_script("Get-JcfixMarker")
            assert second.invoke() == expected
            # Not found is a non-terminating CommandNotFoundException: an error record, the pipeline completes.
            assert [e.fq_error for e in second.streams.error] == ([] if expected else ["CommandNotFoundException"])
    with RunspacePool(wsman_for(healthy_fleet.endpoints[0])) as pool:  # another pool never sees it
        other = PowerShell(pool)
        other.add_script("Get-JcfixMarker")
        assert other.invoke() == []
