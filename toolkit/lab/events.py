"""Things that happen on a simulated host between two scripts: a user signs in or out.

Fixes that can only finish in the user's own context (the Hello PIN removal) leave a sign-in task on
the host; :func:`sign_in` runs those tasks the way Windows would at the user's next sign-in.
"""

from __future__ import annotations

import time

from toolkit.lab.host import LabHost, LabUser

# The Description the agent gives the accounts it creates (research §0).
AGENT_CREATED_DESCRIPTION = "Created by Jumpcloud"


def sign_in(host: LabHost, username: str) -> list[str]:
    """Sign ``username`` in: run its sign-in tasks (then gone, like one-shot tasks), mark it signed in.

    Returns the names of the tasks that ran. Raises KeyError when the host has no such account.
    """
    user = host.find_user(username)
    if user is None:
        raise KeyError(f"{host.hostname} has no account named {username!r}")
    ran = []
    for name, task in list(host.scheduled_tasks.items()):
        if task.get("trigger") == "logon" and str(task.get("user", "")).lower() == user.name.lower():
            for field, value in (task.get("effect") or {}).items():
                setattr(user, field, value)
            del host.scheduled_tasks[name]
            ran.append(name)
    user.signed_in = True
    user.profile_loaded = True
    return ran


def sign_out(host: LabHost, username: str) -> None:
    """Sign ``username`` out; its profile hive unloads."""
    user = host.find_user(username)
    if user is None:
        raise KeyError(f"{host.hostname} has no account named {username!r}")
    user.signed_in = False
    user.profile_loaded = False


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
