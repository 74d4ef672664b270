"""Reads of a lab host's Windows machine as it is now (for tests, the demo and the directory stand-in).

These look at the machine's state directly, without access checks: what an investigator with the disk in
hand would see. Scripts never use them; they go through the engine like on Windows.
"""

from __future__ import annotations

import json
from typing import Any

from toolkit.lab.host import LabHost
from toolkit.lab.hostmachine import machine_of
from toolkit.lab.windows.accounts import LocalAccount
from toolkit.lab.windows.lifecycle import pin_marker_paths
from toolkit.lab.windows.state import (
    AGENT_CONTRIB,
    AGENT_LOG,
    NGC_PIN_ROOT,
    NGC_STORE,
    PICTURE_ROOT,
    PIN_PROVIDER_ROOT,
)
from toolkit.lab.windows.tasks import ScheduledTask

BACKUP_ROOT = "C:\\ProgramData\\jcfix\\backups"
MANAGED_USERS = f"{AGENT_CONTRIB}\\managedUsers.json"


def account(host: LabHost, name: str) -> LocalAccount | None:
    """The local account called ``name`` (without case, as Windows compares), or None."""
    return machine_of(host).state.sam.by_name(name)


def sid(host: LabHost, name: str) -> str:
    """The SID of the local account ``name`` (KeyError: none)."""
    found = account(host, name)
    if found is None:
        raise KeyError(f"{host.hostname} has no local account {name!r}")
    return machine_of(host).state.sam.sid_of(found)


def account_names(host: LabHost) -> list[str]:
    """Every local account's name, in RID order."""
    return [a.name for a in machine_of(host).state.sam.ordered()]


def principal_source(host: LabHost, name: str) -> str:
    """``Local`` or ``MicrosoftAccount`` as Get-LocalUser would say (the SAM's Internet* values)."""
    state = machine_of(host).state
    found = account(host, name)
    assert found is not None, name
    return state.sam.principal_source(found)


def pin_markers(host: LabHost, name: str) -> list[str]:
    """Which PIN markers exist for ``name``: ``ngc_pin`` and/or ``pin_provider`` (issue 10 defect 4)."""
    registry = machine_of(host).state.registry
    user_sid = sid(host, name)
    roots = {"ngc_pin": NGC_PIN_ROOT, "pin_provider": PIN_PROVIDER_ROOT}
    return [kind for kind, root in roots.items() if registry.peek(f"{root}\\{user_sid}") is not None]


def has_pin(host: LabHost, name: str) -> bool:
    """Whether ``name`` has a Windows Hello PIN: its NGC container's folder on disk or any PIN marker.

    The disk decides, not the machine's container bookkeeping (``state.hello``), which a script that deletes
    the NGC folders itself (``--all-users-now``) does not update.
    """
    state = machine_of(host).state
    container = state.hello.get(sid(host, name))
    on_disk = container is not None and state.fs.node(f"{NGC_STORE}\\{container.guid}") is not None
    return on_disk or bool(pin_markers(host, name))


def pin_marker_keys(host: LabHost, name: str) -> list[str]:
    """The marker keys a PIN of ``name`` sets on this host (the scenario's ``pin_marker``)."""
    return pin_marker_paths(machine_of(host).state, sid(host, name))


def has_picture_password(host: LabHost, name: str) -> bool:
    """Whether ``LogonUI\\PicturePassword\\<SID>`` exists."""
    return machine_of(host).state.registry.peek(f"{PICTURE_ROOT}\\{sid(host, name)}") is not None


def registry_key(host: LabHost, path: str) -> dict[str, Any] | None:
    """A physical 64-bit key's values by name (None: no such key); ``HKLM:\\`` paths are accepted."""
    full = path.replace("HKLM:\\", "HKEY_LOCAL_MACHINE\\")
    key = machine_of(host).state.registry.peek(full)
    return None if key is None else {v.name: v.data for v in key.values.values()}


def registry_subkeys(host: LabHost, path: str) -> list[str]:
    """Every key below a physical path (relative paths), depth first."""
    key = machine_of(host).state.registry.peek(path.replace("HKLM:\\", "HKEY_LOCAL_MACHINE\\"))
    return [] if key is None else [p.lstrip("\\") for p, _ in key.walk("")]


def scheduled_tasks(host: LabHost) -> dict[str, ScheduledTask]:
    """Registered tasks by full name (``\\jcfix\\remove-pin-<SID>``)."""
    return {f"{t.path}{t.name}": t for t in machine_of(host).state.tasks.values()}


def file_bytes(host: LabHost, path: str) -> bytes | None:
    """A file's bytes (None: no such file)."""
    node = machine_of(host).state.fs.node(path)
    return None if node is None or node.is_dir else node.data


def file_json(host: LabHost, path: str) -> Any:
    """A JSON file as written (a UTF-8 or UTF-16 byte order mark is skipped)."""
    data = file_bytes(host, path)
    assert data is not None, path
    if data.startswith(b"\xff\xfe"):
        return json.loads(data[2:].decode("utf-16-le"))
    return json.loads(data.decode("utf-8-sig"))


def backups(host: LabHost, run_id: str) -> dict[str, Any]:
    """The backup records a run wrote, by file name (sorted), parsed from JSON."""
    folder = machine_of(host).state.fs.node(f"{BACKUP_ROOT}\\{run_id}")
    if folder is None:
        return {}
    names = sorted(child.name for child in folder.children.values() if not child.is_dir)
    return {name: file_json(host, f"{BACKUP_ROOT}\\{run_id}\\{name}") for name in names}


def managed_users(host: LabHost) -> list[str]:
    """The usernames in the agent's managedUsers.json (empty when missing or unreadable)."""
    data = file_bytes(host, MANAGED_USERS)
    if not data:
        return []
    try:
        entries = json.loads(data.decode("utf-8-sig"))
    except ValueError:
        return []
    entries = entries if isinstance(entries, list) else [entries]
    return [str(e["username"]) for e in entries if isinstance(e, dict) and "username" in e]


def append_agent_log(host: LabHost, line: str) -> None:
    """The agent writes a line to its log (jcagent.log)."""
    fs = machine_of(host).state.fs
    node = fs.node(AGENT_LOG)
    text = (line + "\n").encode("utf-8")
    if node is None:
        fs.seed_file(AGENT_LOG, text)
    elif text not in node.data:
        node.data += text


def fingerprint(host: LabHost) -> dict[str, Any]:
    """Everything a script could change on the machine, as plain data (two equal fingerprints: no change).

    Registry keys and values, files and folders with their owners and DACLs, accounts, tasks, PIN containers,
    services and sessions; the clock and process ids are left out (they move on their own).
    """
    state = machine_of(host).state
    registry = {path: {v.name: repr(v.data) for v in key.values.values()} | {"<sddl>": repr(key.sddl)}
                for path, key in state.registry.root.walk("")}  # fmt: skip
    files = {path: (node.is_dir, node.data, repr(node.sd)) for path, node in state.fs.walk("C:\\")}
    accounts = [repr(a) for a in state.sam.ordered()]
    return {
        "registry": registry,
        "files": files,
        "accounts": accounts,
        "tasks": sorted(repr(t) for t in state.tasks.values()),
        "hello": sorted(repr(c) for c in state.hello.values()),
        "services": sorted(repr(s) for s in state.services.values()),
        "profiles": sorted(repr(p) for p in state.profiles.values()),
        "sessions": sorted((p.session_id, p.owner_sid, p.name) for p in state.processes),
        "on_battery": state.on_battery,
    }
