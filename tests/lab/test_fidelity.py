"""The lab against real Windows: same WSMan actions, PSRP message types and states for the same client calls.

The reference sequences are facts read from pypsrp's recorded exchanges with a Windows host; see
``data/windows_exchanges.yaml`` for the source and licence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lab_client import script_of, wsman_for
from psrpcore.types import PSRPMessageType
from pypsrp.complex_objects import PSInvocationState, RunspacePoolState
from pypsrp.powershell import PowerShell, RunspacePool

from toolkit.lab.fleet import LabFleet
from toolkit.lab.server import TraceEntry

REFERENCE = yaml.safe_load((Path(__file__).parent / "data" / "windows_exchanges.yaml").read_text(encoding="utf-8"))
IGNORED = {"ProgressRecord"}  # sent by Windows only while its module cache is cold (see the data file)


def observed(trace: list[TraceEntry]) -> list[dict[str, Any]]:
    steps = []
    for entry in trace:
        step: dict[str, Any] = {"action": entry.action}
        if entry.action == "Receive":
            step["target"] = "pipeline" if entry.command_id else "pool"
            names = [PSRPMessageType(t).name for t in entry.message_types]
            step["messages"] = [n for n in names if n not in IGNORED]
            if entry.command_id:
                step["command_done"] = entry.command_done
        steps.append(step)
    return steps


def expected(name: str) -> list[dict[str, Any]]:
    steps = []
    for step in REFERENCE["exchanges"][name]["steps"]:
        shaped: dict[str, Any] = {"action": step["action"]}
        if step["action"] == "Receive":
            shaped["target"] = step["target"]
            shaped["messages"] = [m for m in step["messages"] if m not in IGNORED]
            if step["target"] == "pipeline":
                shaped["command_done"] = step["command_done"]
        steps.append(shaped)
    return steps


@pytest.fixture
def fleet() -> Any:
    with LabFleet.from_scenario("healthy", trace=True) as lab:
        yield lab


def test_error_failed_sequence(fleet: LabFleet) -> None:
    # Windows' script wrote one object, then a terminating Write-Error: the lab's fault does the same.
    fleet.hosts[0].faults.terminating_error = "error"
    endpoint = fleet.endpoints[0]
    with RunspacePool(wsman_for(endpoint)) as pool:
        assert pool.state == RunspacePoolState.OPENED
        powershell = PowerShell(pool)
        powershell.add_script(script_of("list_users"))
        powershell.invoke()
    assert (
        powershell.state
        == PSInvocationState.FAILED
        == REFERENCE["exchanges"]["error_failed"]["steps"][4]["pipeline_state"]
    )
    assert powershell.had_errors and str(powershell.streams.error[-1]) == "error"
    assert observed(fleet.listener(endpoint.hostname).trace or []) == expected("error_failed")


def test_multiple_invocations_sequence(fleet: LabFleet) -> None:
    endpoint = fleet.endpoints[0]
    with RunspacePool(wsman_for(endpoint)) as pool:
        assert (
            pool.state
            == RunspacePoolState.OPENED
            == REFERENCE["exchanges"]["multiple_invocations"]["steps"][2]["pool_state"]
        )
        powershell = PowerShell(pool)
        powershell.add_script(script_of("list_users"))
        powershell.invoke()
        assert powershell.state == PSInvocationState.COMPLETED
        powershell.close()
        powershell.invoke()
        assert powershell.state == PSInvocationState.COMPLETED
        powershell.close()
    trace = fleet.listener(endpoint.hostname).trace or []
    assert observed(trace) == expected("multiple_invocations")
    commands = [entry.command_id for entry in trace if entry.action == "Command"]
    assert len(commands) == 2 and commands[0] == commands[1]  # the CommandId is reused after Terminate
