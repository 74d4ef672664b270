"""Things that happen on a simulated host between two scripts, on its Windows machine.

Each event catches the machine's clock up with real time first (:func:`toolkit.lab.hostmachine.catch_up`),
then asks the machine (:mod:`toolkit.lab.windows.lifecycle`): a user signs in (its logon tasks run) or out
(what certutil -DeleteHelloContainer marked goes: fact sheet §8), re-enrols a PIN, the agent syncs, the
laptop goes on battery.
"""

from __future__ import annotations

from typing import Any

from toolkit.lab.host import LabHost
from toolkit.lab.hostmachine import catch_up, host_lock, machine_of


def _known(host: LabHost, username: str) -> None:
    if machine_of(host).state.sam.by_name(username) is None:
        raise KeyError(f"{host.hostname} has no account named {username!r}")


def sign_in(host: LabHost, username: str) -> list[str]:
    """Sign ``username`` in; returns the names of the logon tasks that ran. KeyError: no such account."""
    with host_lock(host):
        catch_up(host)
        _known(host, username)
        return machine_of(host).sign_in(username)


def sign_out(host: LabHost, username: str, profile_lingers: bool = False) -> None:
    """Sign ``username`` out (``profile_lingers``: its hive stays loaded a while). KeyError: no such account."""
    with host_lock(host):
        catch_up(host)
        _known(host, username)
        machine_of(host).sign_out(username, profile_lingers)


def reenrol_pin(host: LabHost, username: str) -> None:
    """``username`` sets up a Windows Hello PIN again. KeyError: no such account."""
    with host_lock(host):
        catch_up(host)
        _known(host, username)
        machine_of(host).reenrol_pin(username)


def on_battery(host: LabHost, on_battery: bool = True) -> None:
    """Unplug the laptop (``on_battery``) or plug it in."""
    with host_lock(host):
        catch_up(host)
        machine_of(host).set_on_battery(on_battery)


def agent_sync(host: LabHost) -> list[str]:
    """The agent checks in now: every provisioning the host is waiting for is due at this check-in
    (the bound user exists in the directory), so the agent creates those accounts. Returns their names.

    A stopped or missing agent provisions nothing (the machine's sync checks its service).
    """
    with host_lock(host):
        catch_up(host)
        state = machine_of(host).state
        for provision in state.provisions:
            provision.due = min(provision.due, state.clock)
        return machine_of(host).agent_sync()


def advance(host: LabHost, seconds: float) -> list[str]:
    """Let ``seconds`` pass on the machine beyond real time (a task's 15-minute delay, an expiry): delayed
    logon runs that fall due run, expired tasks are deleted. Returns the deleted task names."""
    with host_lock(host):
        catch_up(host)
        return machine_of(host).advance(seconds)


def apply(host: LabHost, event: dict[str, Any]) -> dict[str, Any]:
    """Apply one event of the lab's control channel, ``{"event": KIND, ...}``; returns what it did.

    ``sign_in``/``sign_out``/``reenrol_pin`` with ``user``, ``agent_sync``, ``on_battery`` with ``value``
    (true: unplugged, the default), ``advance`` with ``seconds``. ValueError: an unknown event; KeyError: no
    such account.
    """
    kind, user = event.get("event"), event.get("user")
    if kind == "sign_in":
        return {"tasks_run": sign_in(host, str(user))}
    if kind == "sign_out":
        sign_out(host, str(user), bool(event.get("profile_lingers", False)))
    elif kind == "reenrol_pin":
        reenrol_pin(host, str(user))
    elif kind == "on_battery":
        on_battery(host, bool(event.get("value", True)))
    elif kind == "agent_sync":
        return {"provisioned": agent_sync(host)}
    elif kind == "advance":
        return {"tasks_deleted": advance(host, float(event.get("seconds", 0)))}
    else:
        raise ValueError(f"unknown event {kind!r}")
    return {}
