"""The ``jumpcloud`` inventory source: Windows devices from JumpCloud, each with the users bound to it.

``--inventory jumpcloud:`` lists every Windows device (hostname, systemKey) and its bound users as
``jc_users``, so diagnose, verify and playbooks need no hand-written mapping. ``--inventory
jumpcloud:FILE`` takes the devices and bindings from JumpCloud and how to reach each host over WinRM
(address, port, scheme...) from the inventory FILE, matched by hostname.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from toolkit.jumpcloud import api
from toolkit.jumpcloud.api import JcSystem
from toolkit.jumpcloud.client import JumpCloudClient, load_config
from toolkit.transport.base import HostTarget

PREFIX = "jumpcloud:"


def is_jumpcloud_spec(inventory: object) -> bool:
    return str(inventory).startswith(PREFIX)


def _newest_per_hostname(systems: list[JcSystem]) -> list[JcSystem]:
    """One device per hostname: a re-enrolled device leaves its old record behind; keep the latest contact."""
    by_name: dict[str, JcSystem] = {}
    for system in systems:
        key = system.hostname.casefold()
        known = by_name.get(key)
        if known is None or (system.last_contact or "") > (known.last_contact or ""):
            by_name[key] = system
    return sorted(by_name.values(), key=lambda s: s.hostname.casefold())


def jumpcloud_targets(client: JumpCloudClient) -> list[HostTarget]:
    """A target per Windows device, with ``jc_users`` (bound usernames) and ``jc_system_id`` vars."""
    users = {u.id: u.username for u in api.list_users(client)}
    systems = _newest_per_hostname([s for s in api.list_systems(client) if s.is_windows and s.hostname])
    targets = []
    for system in systems:
        bound = sorted(users[uid] for uid in api.bound_user_ids(client, system.id) if uid in users)
        targets.append(HostTarget(name=system.hostname, vars={"jc_users": bound, "jc_system_id": system.id}))
    return targets


def load_jumpcloud_inventory(spec: str, client: JumpCloudClient | None = None) -> list[HostTarget]:
    """Targets for ``jumpcloud:`` or ``jumpcloud:FILE`` (connection details from FILE, by hostname)."""
    from toolkit.inventory import load_inventory

    rest = spec[len(PREFIX) :]
    reach = {t.name.casefold(): t for t in load_inventory(Path(rest))} if rest else {}
    if client is None:
        with JumpCloudClient(load_config()) as own:
            targets = jumpcloud_targets(own)
    else:
        targets = jumpcloud_targets(client)
    merged = []
    for target in targets:
        known = reach.get(target.name.casefold())
        if known is not None:
            target = replace(known, name=target.name, vars={**known.vars, **target.vars})
        merged.append(target)
    return merged
