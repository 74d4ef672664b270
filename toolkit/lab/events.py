"""Things that happen on a simulated host between two scripts: a user signs in or out.

Fixes that can only finish in the user's own context (the Hello PIN removal) leave a sign-in task on
the host; :func:`sign_in` runs those tasks the way Windows would at the user's next sign-in. What they
start completes at :func:`sign_out`: certutil's own help for -DeleteHelloContainer says "Users need to
sign out after using this option for it to complete" (fact sheet §8), so the PIN goes at sign-out.
"""

from __future__ import annotations

import time

from toolkit.actions._fixbase import PIN_PROVIDER_KEY
from toolkit.lab.host import LabHost, LabUser

# The Description the agent gives the accounts it creates (research §0).
AGENT_CREATED_DESCRIPTION = "Created by Jumpcloud"


def _logon_tasks(host: LabHost, user: LabUser) -> list[tuple[str, dict[str, object]]]:
    """The tasks with a logon trigger for ``user``, matched by SID (a task names its user by SID or
    COMPUTER\\name, never a bare name another account could share)."""
    sid = host.sid_of(user)
    return [(name, task) for name, task in host.scheduled_tasks.items() if task.get("trigger") == "logon"
            and task.get("sid") == sid]  # fmt: skip


def sign_in(host: LabHost, username: str) -> list[str]:
    """Sign ``username`` in: its logon tasks without a delay run (and stay registered), it is signed in.

    Returns the names of the tasks that ran. Delayed tasks (the PIN task's SYSTEM clean-up, 15 minutes
    after sign-in) run at :func:`sign_out`: the lab has no clock between two events. Raises KeyError when
    the host has no such account.
    """
    user = host.find_user(username)
    if user is None:
        raise KeyError(f"{host.hostname} has no account named {username!r}")
    ran = []
    for name, task in _logon_tasks(host, user):
        if task.get("delay"):
            continue
        task["ran"] = True
        ran.append(name)
    user.signed_in = True
    user.profile_loaded = True
    return ran


def sign_out(host: LabHost, username: str) -> list[str]:
    """Sign ``username`` out: what its tasks started completes, delayed clean-ups run; the hive unloads.

    Returns the names of the tasks the clean-ups deleted.
    """
    user = host.find_user(username)
    if user is None:
        raise KeyError(f"{host.hostname} has no account named {username!r}")
    tasks = _logon_tasks(host, user)
    effects: dict[str, object] = {}
    for _, task in tasks:
        if task.get("ran"):
            effects.update(task.get("effect_at_sign_out") or {})  # type: ignore[arg-type]
    deleted = []
    if user.signed_in:
        for _, task in tasks:
            if task.get("delay"):
                for victim in task.get("deletes") or []:  # type: ignore[union-attr]
                    if host.scheduled_tasks.pop(str(victim), None) is not None:
                        deleted.append(str(victim))
    for field, value in effects.items():
        setattr(user, field, value)
    if effects.get("hello_pin") is False:
        # Both markers go with the container (UNCONFIRMED for the credential-provider one: fact sheet §8).
        host.registry.pop(f"{PIN_PROVIDER_KEY}\\{host.sid_of(user)}", None)
    user.signed_in = False
    user.profile_loaded = False
    return deleted


def agent_sync(host: LabHost, now: float | None = None) -> list[str]:
    """The agent's sync: create every account whose provisioning delay has passed; returns their names.

    Run by the lab engine before each script, so a host answers as if its agent had synced meanwhile.
    A stopped or missing agent provisions nothing.
    """
    agent = host.agent
    if not (agent.installed and agent.running and agent.provisions):
        return []
    elapsed = (time.monotonic() if now is None else now) - host.loaded_at
    created = []
    for provision in list(agent.provisions):
        if elapsed < provision.after_s:
            continue
        agent.provisions.remove(provision)
        if host.find_user(provision.username) is None:
            rid = max((u.rid for u in host.users if u.rid >= 1000), default=999) + 1
            host.users.append(
                LabUser(
                    name=provision.username,
                    full_name=provision.full_name,
                    rid=rid,
                    description=AGENT_CREATED_DESCRIPTION,
                )
            )
        if provision.username not in agent.managed_users:
            agent.managed_users.append(provision.username)
        created.append(provision.username)
    return created
