"""The JumpCloud Commands transport (``--via jumpcloud``): the same rendered scripts, run by the agents.

For devices WinRM cannot reach. Per host and script: create a temporary Windows PowerShell command
(timeout and time-to-live from the per-host deadline), associate the device, run it, poll its results,
parse the one JSON result document from its output, then delete the command and its results — also
when the run is interrupted (``try``/``finally``; SIGTERM becomes an interrupt; workers stop polling once
the main thread has gone).

The command text that carries a script and its parameters is built in :mod:`toolkit.transport.jumpcloud_wrap`.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from toolkit.jumpcloud import api
from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudConfig, JumpCloudError, load_config
from toolkit.results import RawOutput
from toolkit.settings import ConnectionSettings
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget, TransportCategory, TransportError
from toolkit.transport.jumpcloud_wrap import preview, secret_refusal, wrap
from toolkit.transport.registry import Transport, register

log = logging.getLogger(__name__)

TIMEOUT_EXIT_CODE = 124  # JumpCloud's "function timeout" exit code on Windows (research §5)
POLL_INTERVAL_ENV = "JCFIX_JC_POLL_INTERVAL"
COMMAND_TTL_ENV = "JCFIX_JC_COMMAND_TTL"
COMMAND_TIMEOUT_ENV = "JCFIX_JC_COMMAND_TIMEOUT"

# ---- interruption --------------------------------------------------------------------------------


class _LiveCommands:
    """Commands created and not yet deleted, so an interrupted run can stop polling and clean them up."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.hooked = False

    def should_stop(self) -> bool:
        # Ctrl-C/SIGTERM unwinds the main thread; pool workers then see it gone and stop waiting.
        return self.cancelled.is_set() or not threading.main_thread().is_alive()


LIVE = _LiveCommands()


def install_interrupt_handlers() -> None:
    """Stop polling and delete the commands when the run is interrupted (call in the main thread).

    When a run stops waiting for its hosts (a second Ctrl-C or SIGTERM, toolkit.signals), or the
    interpreter shuts down joining the host workers, each worker stops waiting and its ``finally``
    deletes its command instead of polling until the deadline.
    """
    if threading.current_thread() is not threading.main_thread() or LIVE.hooked:
        return
    LIVE.hooked = True
    # The hook concurrent.futures uses to join its workers at exit; hooks run last-registered first, so
    # import it before registering ours, which then runs before the join.
    import concurrent.futures.thread  # noqa: F401

    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(LIVE.cancelled.set)

    # SIGTERM and SIGHUP stop a run like Ctrl-C (toolkit.signals); once it stops waiting, stop polling too.
    from toolkit.signals import add_abandon_hook

    add_abandon_hook(LIVE.cancelled.set)


# ---- settings and session -------------------------------------------------------------------------


@dataclass(frozen=True)
class JumpCloudSettings(ConnectionSettings):
    """The run's settings when scripts go through JumpCloud Commands (``via == "jumpcloud"``).

    Attributes:
        jumpcloud: the API settings (key, URL, org id).
        poll_interval: seconds between two result polls.
        command_ttl, command_timeout: seconds a command may wait for the device / run on it
            (default: the per-host deadline).
    """

    via: str = "jumpcloud"
    jumpcloud: JumpCloudConfig | None = field(default=None, repr=False)
    poll_interval: float = 2.0
    command_ttl: int | None = None
    command_timeout: int | None = None


def jumpcloud_settings(settings: ConnectionSettings, environ: dict[str, str] | None = None) -> JumpCloudSettings:
    """``settings`` plus the JumpCloud API settings, read once in the main thread before the run."""
    import os
    from dataclasses import asdict

    env = dict(os.environ) if environ is None else environ
    config = load_config(environ=env, prompt=True)
    values = {k: v for k, v in asdict(settings).items() if k not in ("via", "jumpcloud", "password")}

    def number(name: str) -> float | None:
        text = env.get(name)
        try:
            return float(text) if text else None
        except ValueError:
            raise JumpCloudError(f"{name} must be a number of seconds, not {text!r}", kind="usage") from None

    ttl, timeout = number(COMMAND_TTL_ENV), number(COMMAND_TIMEOUT_ENV)
    install_interrupt_handlers()
    return JumpCloudSettings(
        **values,
        jumpcloud=config,
        poll_interval=number(POLL_INTERVAL_ENV) or 2.0,
        command_ttl=int(ttl) if ttl else None,
        command_timeout=int(timeout) if timeout else None,
    )


class JumpCloudSession:
    """One device through JumpCloud Commands; each :meth:`run` is one temporary command."""

    def __init__(self, target: HostTarget, settings: JumpCloudSettings) -> None:
        if settings.jumpcloud is None:
            raise TransportError("protocol", f"{target.name}: no JumpCloud API settings")
        self.target = target
        self.settings = settings
        self._client = JumpCloudClient(settings.jumpcloud)
        self._system: api.JcSystem | None = None
        self._expires = time.monotonic() + settings.deadline

    def __repr__(self) -> str:
        return f"JumpCloudSession({self.target.name!r})"

    def _fail(self, exc: JumpCloudError) -> TransportError:
        categories: dict[str, TransportCategory] = {
            "auth": "auth_failed",
            "forbidden": "auth_failed",
            "unreachable": "unreachable",
        }
        return TransportError(categories.get(exc.kind, "protocol"), f"{self.target.name}: {exc.message}")

    def _device(self) -> api.JcSystem:
        """The target's JumpCloud device: the inventory's ``jc_system_id``, else found by hostname."""
        if self._system is not None:
            return self._system
        system_id = self.target.vars.get("jc_system_id")
        if system_id:
            system = api.get_system(self._client, str(system_id))
            if system is None:
                raise TransportError("unreachable", f"{self.target.name}: JumpCloud has no device {system_id}")
        else:
            found = api.systems_by_hostname(self._client, self.target.name)
            if not found:
                raise TransportError("unreachable", f"{self.target.name}: JumpCloud has no device with this hostname")
            if len(found) > 1:
                ids = ", ".join(s.id for s in found)
                raise TransportError(
                    "protocol",
                    f"{self.target.name}: {len(found)} JumpCloud devices have this hostname ({ids}); use the "
                    "jumpcloud inventory, which names each by its id",
                )
            system = found[0]
        self._system = system
        return system

    def run(self, rendered: RenderedScript, *, whatif: bool = False) -> RawOutput:
        """Run ``rendered`` as a temporary command on the device; raises :class:`TransportError`."""
        text = wrap(rendered, whatif=whatif)
        settings = self.settings
        left = max(1, int(self._expires - time.monotonic()))
        timeout = settings.command_timeout or left
        ttl = settings.command_ttl or left
        command_id: str | None = None
        try:
            system = self._device()
            if not system.active:
                # An inactive device would never pick the command up: say so now, not after the TTL.
                raise TransportError(
                    "unreachable",
                    f"{self.target.name}: JumpCloud reports the device inactive (last contact "
                    f"{system.last_contact or 'never'}): its agent is offline or stopped; nothing was sent",
                )
            name = f"jcfix {rendered.action} {self.target.name} {secrets.token_hex(3)}"
            command = self._client.post(
                "/api/commands",
                {
                    "name": name,
                    "command": text,
                    "commandType": "windows",
                    "shell": "powershell",
                    "launchType": "manual",
                    "timeout": str(timeout),
                    "timeToLiveSeconds": ttl,
                },
            )
            command_id = str(command["_id"])
            self._client.post(
                f"/api/v2/commands/{command_id}/associations", {"op": "add", "type": "system", "id": system.id}
            )
            self._client.post("/api/runCommand", {"_id": command_id, "systemIds": [system.id]})
            result = self._wait(command_id, system, ttl=ttl, timeout=timeout)
        except JumpCloudError as exc:
            raise self._fail(exc) from None
        finally:
            if command_id is not None:
                self._delete(command_id)
        return self._raw(result, timeout)

    def _wait(self, command_id: str, system: api.JcSystem, *, ttl: int, timeout: int) -> dict[str, Any]:
        started = time.monotonic()
        # Past the TTL a device that never picked the command up will not; past TTL + timeout nothing comes.
        give_up = min(self._expires - 0.5, started + ttl + timeout + self.settings.poll_interval)
        while True:
            mine = [r for r in self._results_of(command_id) if r.get("systemId") == system.id]
            if mine:
                # The list cuts output to 40 characters: the whole result is read by its id.
                return dict(self._client.get(f"/api/commandresults/{mine[0]['_id']}"))
            if LIVE.should_stop():
                raise TransportError("unreachable", f"{self.target.name}: interrupted before the device answered")
            if time.monotonic() >= give_up:
                contact = system.last_contact or "never"
                raise TransportError(
                    "unreachable",
                    f"{self.target.name}: no result from the device within the command's time-to-live ({ttl}s): "
                    f"it is offline or its agent is not running (JumpCloud: active={system.active}, last contact "
                    f"{contact})",
                )
            time.sleep(self.settings.poll_interval)

    def _raw(self, result: dict[str, Any], timeout: int) -> RawOutput:
        response = result.get("response") or {}
        data = response.get("data") or {}
        code = data.get("exitCode")
        output = str(data.get("output") or "").strip()
        error = str(response.get("error") or "").strip()
        if code == TIMEOUT_EXIT_CODE:
            raise TransportError(
                "unreachable",
                f"{self.target.name}: the command timed out on the device after {timeout}s (exit code 124); "
                "it may have partly run",
            )
        records = [line for line in error.splitlines() if line.strip()]
        terminating = None
        if code not in (0, None) and not records:
            terminating = f"the script exited with code {code}"
        elif code not in (0, None):
            terminating = records.pop()
        return RawOutput(output=[output] if output else [], error_records=records, terminating_error=terminating)

    def _results_of(self, command_id: str) -> list[dict[str, Any]]:
        """The command's results, as JumpCloud's ``Get-JCCommandResult -ByCommandID`` finds them.

        ``GET /commands/{id}/results`` (``CommandResultByCommandID_Get``) has no ``systemId``, so every page
        of ``GET /commandresults`` (``CommandResult_List``, items with ``systemId`` and ``workflowId``) is
        read and kept where ``workflowId`` is the command (TheJumpCloud/support:
        ``PowerShell/JumpCloud Module/Public/Commands/CommandResults/Get-JCCommandResult.ps1``).
        """
        return [r for r in self._client.v1_list("/api/commandresults") if r.get("workflowId") == command_id]

    def _delete(self, command_id: str) -> None:
        """Delete the command's results, then the command; a failure is logged with what to delete by hand."""
        try:
            for result in self._results_of(command_id):
                self._client.delete(f"/api/commandresults/{result['_id']}")
            self._client.delete(f"/api/commands/{command_id}")
        except (JumpCloudError, KeyError) as exc:
            log.warning(
                "%s: could not delete JumpCloud command %s (%s): delete it in the console (Device Management > "
                "Commands)",
                self.target.name,
                command_id,
                getattr(exc, "message", exc),
            )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> JumpCloudSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_session(target: HostTarget, settings: ConnectionSettings) -> JumpCloudSession:
    """A session for ``target``; nothing is sent until the first :meth:`JumpCloudSession.run`."""
    if not isinstance(settings, JumpCloudSettings):
        raise TransportError("protocol", f"{target.name}: --via jumpcloud needs the JumpCloud API settings")
    return JumpCloudSession(target, settings)


def _prepare(settings: ConnectionSettings) -> ConnectionSettings:
    return jumpcloud_settings(settings)


TRANSPORT = register(Transport("jumpcloud", JumpCloudSettings, open_session, _prepare, preview, secret_refusal))

__all__ = [
    "TRANSPORT",
    "JumpCloudSession",
    "JumpCloudSettings",
    "jumpcloud_settings",
    "open_session",
    "preview",
    "wrap",
]
