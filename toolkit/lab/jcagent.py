"""What a lab device's JumpCloud agent does with a queued Command: wait until online, run it as SYSTEM, report.

:meth:`toolkit.lab.jcdirectory.LabDirectory.run_command` queues one :class:`~toolkit.lab.jcdirectory.QueuedRun`
per device and hands each to :func:`run_queued` in its own thread, as each real agent picks up its own
queue. The command's text runs on the host's simulated Windows machine through the lab's PowerShell engine.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from toolkit.lab.host import LabHost
from toolkit.lab.hostmachine import catch_up, host_lock, machine_of
from toolkit.lab.powershell import Runspace, UnsupportedConstruct, to_host_string
from toolkit.lab.powershell.hosting import exit_code

if TYPE_CHECKING:
    from toolkit.lab.jcdirectory import LabDirectory, QueuedRun

PICKUP_DELAY_S = 0.05  # how long a lab agent takes to notice a queued command
DEFAULT_TTL_S = 86400.0
EXIT_TIMEOUT = 124  # what the agent reports when a command outlives its timeout


def online(directory: LabDirectory, system_id: str) -> bool:
    """Whether the device is active in the console and its host's agent is installed and running."""
    host = directory.hosts.get(system_id)
    system = directory.systems.get(system_id, {})
    return bool(system.get("active")) and host is not None and host.agent.installed and host.agent.running


def _picked_up(directory: LabDirectory, run: QueuedRun, ttl: float) -> bool:
    """Wait until the device is online; False (and the run's state set) when it was cancelled or expired."""
    while True:
        if run.state == "cancelled" or run.command_id not in directory.commands:
            run.state = "cancelled"
            return False
        if online(directory, run.system_id):
            return True
        if time.monotonic() - run.queued_at > ttl:
            run.state = "expired"  # an offline device never saw it
            return False
        time.sleep(0.05)


def run_queued(directory: LabDirectory, run: QueuedRun) -> None:
    """Run one queued command on its device once the device is online; store its result in ``directory``."""
    from toolkit.lab.jcdirectory import iso, now_utc

    command = directory.commands.get(run.command_id)
    if command is None:
        return
    if not _picked_up(directory, run, float(command.get("timeToLiveSeconds") or 0) or DEFAULT_TTL_S):
        return
    time.sleep(PICKUP_DELAY_S)
    run.state = "running"
    started = now_utc()
    host = directory.hosts[run.system_id]
    timeout = float(command.get("timeout") or 120)
    if host.faults.script_delay_s > timeout:
        time.sleep(timeout)
        output, error, code = "", "", EXIT_TIMEOUT
    else:
        time.sleep(host.faults.script_delay_s)
        output, error, code = execute(host, str(command.get("command", "")))
    with directory.lock:
        if run.command_id not in directory.commands:
            run.state = "cancelled"
            return
        result_id = secrets.token_hex(12)
        directory.results[result_id] = {
            "_id": result_id,
            "name": command.get("name", ""),
            "command": command.get("command", ""),
            "system": host.hostname,
            "systemId": run.system_id,
            "organization": directory.org_id,
            "requestTime": iso(started),
            "responseTime": iso(now_utc()),
            "user": "000000000000000000000000",
            "sudo": False,
            "files": [],
            "workflowId": run.command_id,
            "workflowInstanceId": run.workflow_instance_id,
            "response": _response(output, error, code),
        }
        run.state = "done"


def _response(output: str, error: str, code: int) -> dict[str, Any]:
    return {"id": secrets.token_hex(12), "error": error, "data": {"output": output, "exitCode": code}}


def execute(host: LabHost, text: str) -> tuple[str, str, int]:
    """Run a command's text as the device's agent does: PowerShell as SYSTEM, ``(stdout, stderr, exit code)``.

    The whole text runs (a jcfix wrapper is PowerShell: it decodes its parameters and calls the script
    block), in a new runspace of a 64-bit process as LocalSystem. The agent's own bitness is not modelled:
    a 32-bit agent PowerShell would take the wrapper's sysnative relaunch, which pipes stdin into a native
    powershell.exe, which the lab cannot run.
    """
    with host_lock(host):
        catch_up(host)
        try:
            run = Runspace(machine_of(host).as_system()).run_script(text)
        except UnsupportedConstruct as exc:
            return "", f"the lab's PowerShell engine cannot run this command: {exc}", 1
    stdout = "\n".join(to_host_string(o) for o in run.output)
    stderr = [e.message for e in run.errors]
    if run.lab_bug is not None:
        return stdout, f"a bug of the lab (not a Windows answer): {run.lab_bug}", 1
    if run.terminating is not None:
        stderr.append(run.terminating.message)
    return stdout, "\n".join(stderr), exit_code(run)
