"""Helpers for driving lab fleets with pypsrp's own client (loopback only); imported by the lab tests."""

from __future__ import annotations

import json
from typing import Any

from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from toolkit.actions import get_action
from toolkit.lab.auth import LAB_PASSWORD, LAB_USERNAME
from toolkit.lab.fleet import FleetEndpoint
from toolkit.results import RawOutput, ResultDocument


def wsman_for(endpoint: FleetEndpoint, *, auth: str = "basic", password: str = LAB_PASSWORD, **kwargs: Any) -> WSMan:
    """A pypsrp WSMan for a lab endpoint: Basic over HTTP needs encryption='never'."""
    options: dict[str, Any] = {
        "port": endpoint.port,
        "ssl": endpoint.scheme == "https",
        "auth": auth,
        "username": LAB_USERNAME,
        "password": password,
        "no_proxy": True,
        "cert_validation": False,
        "operation_timeout": 5,
        "read_timeout": 10,
        "connection_timeout": 5,
    }
    if auth == "basic":
        options["encryption"] = "never"
    options.update(kwargs)
    assert endpoint.address.startswith("127."), "lab tests talk to loopback only"
    return WSMan(endpoint.address, **options)


def script_of(action: str, **options: Any) -> str:
    return get_action(action).render({}, **options).script


def invoke(wsman: WSMan, script: str, parameters: dict[str, Any] | None = None) -> PowerShell:
    """Open a pool, run ``script`` with ``parameters``, close the pool; returns the finished PowerShell."""
    with RunspacePool(wsman) as pool:
        powershell = PowerShell(pool)
        powershell.add_script(script)
        if parameters:
            powershell.add_parameters(parameters)
        powershell.invoke()
    return powershell


def parse(action: str, powershell: PowerShell) -> ResultDocument[Any]:
    """The result contract applied to what pypsrp received (as the transport would)."""
    terminating = str(powershell.streams.error[-1]) if powershell.had_errors and powershell.streams.error else None
    errors = [] if terminating else [str(e) for e in powershell.streams.error]
    return get_action(action).parse(
        RawOutput(output=list(powershell.output), error_records=errors, terminating_error=terminating)
    )


def documents(powershell: PowerShell) -> list[dict[str, Any]]:
    return [json.loads(text) for text in powershell.output]
