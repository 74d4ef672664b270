"""Service cmdlets (Get-Service, Stop-Service, Start-Service) as 5.1 runs them
(learn.microsoft.com/powershell/module/microsoft.powershell.management/get-service?view=powershell-5.1).

Stopping or starting needs an administrator. The NGC services (NgcSvc, NgcCtnrSvc) hold the Hello store's
files open while they run, so deleting them fails with a sharing violation until they stop (issue 10 defect 8;
which service holds which file is UNCONFIRMED: modelled as "either running holds them").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from toolkit.lab.powershell.contract import CommandCall, CommandSpec, DotNetEnum, DotNetObject, ErrorSpec
from toolkit.lab.windows import providers as pv
from toolkit.lab.windows.cmdlet_support import as_list, machine_of, param
from toolkit.lab.windows.machine import WindowsMachine
from toolkit.lab.windows.state import NGC_STORE

SERVICE_STATUS = {"Stopped": 1, "StartPending": 2, "StopPending": 3, "Running": 4}
NGC_SERVICES = ("ngcsvc", "ngcctnrsvc")


def _service_object(machine: WindowsMachine, name: str) -> DotNetObject:
    service = machine.state.services[name.lower()]
    return DotNetObject(
        ["System.ServiceProcess.ServiceController", "System.ComponentModel.Component"],
        {
            "Name": service.name,
            "ServiceName": service.name,
            "DisplayName": service.display_name,
            "Status": lambda: DotNetEnum(
                "System.ServiceProcess.ServiceControllerStatus", service.status, SERVICE_STATUS[service.status]
            ),
            "StartType": DotNetEnum("System.ServiceProcess.ServiceStartMode", service.start_type, 2),
        },
        to_string="System.ServiceProcess.ServiceController",
    )


def _service_names(call: CommandCall) -> Iterator[str]:
    services = machine_of(call).state.services
    values = as_list(call.bound.get("Name")) or [
        i.get("Name") if isinstance(i, DotNetObject) else i
        for i in as_list(call.bound.get("InputObject") or call.input)
    ]
    for name in (str(v) for v in values):
        found = [s.name for s in services.values() if pv.matches(s.name, name)]
        if not found and not pv.has_wildcards(name):
            call.write_error(
                ErrorSpec(
                    f"Cannot find any service with service name '{name}'.",
                    "NoServiceFoundForGivenName",
                    "ObjectNotFound",
                    "Microsoft.PowerShell.Commands.ServiceCommandException",
                    name,
                )
            )
        yield from found


def _get_service(call: CommandCall) -> Iterator[Any]:
    machine = machine_of(call)
    if "Name" not in call.bound and not call.input:
        names: Any = [s.name for s in machine.state.services.values()]
    else:
        names = list(_service_names(call))
    for name in names:
        yield _service_object(machine, name)


def set_service_status(machine: WindowsMachine, name: str, status: str) -> None:
    """Start or stop a service; the NGC services hold the Hello store's files open while they run."""
    service = machine.state.services[name.lower()]
    service.status = status
    if name.lower() in NGC_SERVICES and machine.state.fs.node(NGC_STORE) is not None:
        held = any(machine.state.services_running(n) for n in NGC_SERVICES)
        for _, node in machine.state.fs.walk(NGC_STORE):
            node.in_use = held and not node.is_dir


def _change_service(call: CommandCall, status: str, action: str) -> Iterator[Any]:
    machine = machine_of(call)
    for name in list(_service_names(call)):
        if not call.should_process(f"{machine.state.services[name.lower()].display_name} ({name})", action):
            continue
        if not machine.token.is_admin:
            call.write_error(
                ErrorSpec(
                    f"Service '{name}' cannot be {'started' if status == 'Running' else 'stopped'} "
                    f"due to the following error: Cannot open {name} service on computer '.'.",
                    "CouldNotStartService" if status == "Running" else "CouldNotStopService",
                    "OpenError",
                    "Microsoft.PowerShell.Commands.ServiceCommandException",
                    name,
                )
            )
            continue
        set_service_status(machine, name, status)
    yield from ()


SERVICE_PARAMS = (
    param("Name", "string[]", 0, pipeline=True, aliases=("ServiceName",)),
    param("InputObject", "object[]"),
    param("Force", "switch"),
    param("PassThru", "switch"),
)
MGMT = "Microsoft.PowerShell.Management"
MGMT_DOCS = "https://learn.microsoft.com/powershell/module/microsoft.powershell.management/"

COMMANDS = [
    CommandSpec(
        "Get-Service",
        MGMT,
        "cmdlet",
        SERVICE_PARAMS[:2],
        False,
        _get_service,
        MGMT_DOCS + "get-service?view=powershell-5.1",
    ),
    CommandSpec(
        "Stop-Service",
        MGMT,
        "cmdlet",
        SERVICE_PARAMS,
        True,
        lambda c: _change_service(c, "Stopped", "Stop-Service"),
        MGMT_DOCS + "stop-service?view=powershell-5.1",
    ),
    CommandSpec(
        "Start-Service",
        MGMT,
        "cmdlet",
        SERVICE_PARAMS,
        True,
        lambda c: _change_service(c, "Running", "Start-Service"),
        MGMT_DOCS + "start-service?view=powershell-5.1",
    ),
]
