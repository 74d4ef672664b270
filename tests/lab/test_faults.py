"""Every injected fault, seen through pypsrp's client: the exception it raises or what the result becomes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from lab_client import FleetEndpoint, invoke, parse, script_of, wsman_for
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell

from toolkit.lab.fleet import LabFleet
from toolkit.lab.wsman import CODE_INTERNAL, CODE_OPERATION_TIMEOUT


@pytest.fixture(scope="module")
def faults_fleet() -> Iterator[LabFleet]:
    with LabFleet.from_scenario("faults", trace=True) as fleet:
        yield fleet


def run(fleet: LabFleet, hostname: str) -> PowerShell:
    """list_users on ``hostname`` with short timeouts (1 s OperationTimeout, 2 s read timeout)."""
    endpoint = fleet.endpoint(hostname)
    options = {"operation_timeout": 1, "read_timeout": 2, "connection_timeout": 2}
    target = FleetEndpoint(endpoint.hostname, endpoint.address, endpoint.port, endpoint.scheme)
    return invoke(wsman_for(target, **options), script_of("list_users"))


@pytest.mark.parametrize(
    ("hostname", "exception"),
    [
        ("fault-reject-auth", AuthenticationError),
        ("fault-http-500", WSManFaultError),
        ("fault-drop", requests.exceptions.ChunkedEncodingError),
        ("fault-refused", requests.exceptions.ConnectionError),
        ("fault-hang", requests.exceptions.ReadTimeout),
    ],
)
def test_transport_faults_raise_what_pypsrp_raises(faults_fleet: LabFleet, hostname: str, exception: type) -> None:
    with pytest.raises(exception) as caught:
        run(faults_fleet, hostname)
    if exception is WSManFaultError:
        assert caught.value.code == CODE_INTERNAL
        assert "lab fault http_500" in str(caught.value.reason)


def test_refused_host_never_saw_a_request(faults_fleet: LabFleet) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        run(faults_fleet, "fault-refused")
    assert faults_fleet.listener("fault-refused").requests_served == 0


def test_latency_is_added_to_every_request(faults_fleet: LabFleet) -> None:
    started = time.monotonic()
    powershell = run(faults_fleet, "fault-latency")
    assert parse("list_users", powershell).status == "ok"
    assert time.monotonic() - started >= 6 * 0.3  # six requests, 300 ms each


def test_slow_script_answers_operation_timeout_then_the_output(faults_fleet: LabFleet) -> None:
    listener = faults_fleet.listener("fault-slow-script")
    powershell = run(faults_fleet, "fault-slow-script")
    assert parse("list_users", powershell).status == "ok"
    timeouts = [entry for entry in listener.trace or [] if entry.fault_code == CODE_OPERATION_TIMEOUT]
    assert len(timeouts) >= 2  # a 3 s script against a 1 s OperationTimeout


def test_non_terminating_error_records_beside_the_output(faults_fleet: LabFleet) -> None:
    powershell = run(faults_fleet, "fault-error-records")
    assert powershell.state == PSInvocationState.COMPLETED
    assert not powershell.had_errors  # pypsrp flags only terminating errors ...
    assert [str(e) for e in powershell.streams.error] == [
        "Access to the registry key 'HKLM\\SOFTWARE\\JumpCloud' is denied."
    ]
    result = parse("list_users", powershell)  # ... the result contract does not let it pass
    assert result.status == "failed" and result.error is not None and "registry key" in result.error.message


def test_terminating_error_after_output(faults_fleet: LabFleet) -> None:
    powershell = run(faults_fleet, "fault-terminating-error")
    assert powershell.state == PSInvocationState.FAILED and powershell.had_errors
    assert len(powershell.output) == 1
    assert "access is denied" in str(powershell.streams.error[-1])


@pytest.mark.parametrize(
    ("hostname", "outputs"),
    [("fault-result-empty", 0), ("fault-result-two", 2), ("fault-result-not-json", 1), ("fault-result-wrong-shape", 1)],
)
def test_malformed_documents_fail_the_contract(faults_fleet: LabFleet, hostname: str, outputs: int) -> None:
    powershell = run(faults_fleet, hostname)
    assert powershell.state == PSInvocationState.COMPLETED and len(powershell.output) == outputs
    result = parse("list_users", powershell)
    assert result.status == "failed" and result.error is not None
    assert result.error.category == "invalid_result"
