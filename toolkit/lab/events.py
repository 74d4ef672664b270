"""Things that happen on a simulated host between two scripts: a user signs in or out.

Fixes that can only finish in the user's own context (the Hello PIN removal) leave a sign-in task on
the host; :func:`sign_in` runs those tasks the way Windows would at the user's next sign-in.
"""

from __future__ import annotations

from toolkit.lab.host import LabHost


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
