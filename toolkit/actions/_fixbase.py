"""What every fix declaration shares: the run id, the result data shape, and lab backup bookkeeping."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.actions import Param
from toolkit.backups import PICTURE_PASSWORD_SUBKEY, SYSTEM_POLICY_SUBKEY, record_dict

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost, LabUser

RUN_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
STATE_ROOT = "C:\\ProgramData\\jcfix"
BACKUP_ROOT = STATE_ROOT + "\\backups"
# Where the sign-in policies that block PIN and picture-password enrolment live (Policy CSP), as the
# lab's registry names the key (the scripts open SYSTEM_POLICY_SUBKEY in HKLM's 64-bit view).
SYSTEM_POLICY_KEY = "HKLM:\\" + SYSTEM_POLICY_SUBKEY
# The PIN credential provider's per-SID key (fact sheet §8), as the lab's registry names it.
PIN_PROVIDER_KEY = (
    "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Providers\\"
    "{D6886603-9D2F-4EB2-B667-1971041FA96B}"
)
PICTURE_PASSWORD_KEY = "HKLM:\\" + PICTURE_PASSWORD_SUBKEY


def new_run_id() -> str:
    """A run id that sorts by time and cannot collide in practice: ``20261126T222435Z-3f9a1c``."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _check_run_id(value: str) -> None:
    if not RUN_ID_RE.match(value):
        raise ValueError("must be 1-64 letters, digits or dashes")


def run_id_param() -> Param:
    """The ``RunId`` parameter: names the backup folder on the host and the run in history."""
    return Param("RunId", required=True, validate=_check_run_id, help="run id (names the backup folder)")


class FixData(BaseModel):
    """What a fix read, planned, saved and read back; the same shape for every fix.

    ``before`` and ``after`` are read from the host (``after`` after the change, never assumed);
    ``check_mode`` is true under ``-WhatIf``, where ``planned`` says what would change.
    """

    model_config = ConfigDict(extra="forbid")

    user: str
    sid: str | None
    check_mode: bool
    planned: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    backups: list[str]
    notes: list[str] = Field(default_factory=list)


def fix_data(user: str, *, whatif: bool) -> dict[str, Any]:
    """An empty :class:`FixData` as the lab's simulations fill it in."""
    return {
        "user": user,
        "sid": None,
        "check_mode": whatif,
        "planned": [],
        "before": None,
        "after": None,
        "backups": [],
        "notes": [],
    }


def _check_user(value: str) -> None:
    if not value.strip():
        raise ValueError("must name an account")


def user_param() -> Param:
    """The ``UserName`` parameter (``--user``): the local account a fix acts on."""
    return Param("UserName", required=True, flag="--user", help="the local account's username", validate=_check_user)


def lab_sessions(host: LabHost) -> list[tuple[int, str, str, str, str]]:
    """The interactive sessions of a lab host: ``(session id, shell, owner SID, domain, user)``.

    Signed-in local accounts first (``host.users`` order), then domain/AzureAD users signed in on the device.
    """
    computer = host.hostname.upper()
    people = [(u.shell, host.sid_of(u), computer, u.name) for u in host.users if u.signed_in]
    people += [(f.shell, f.sid, f.domain, f.user) for f in host.foreign_sessions]
    return [(number, *person) for number, person in enumerate(people, start=1)]


def lab_account(host: LabHost, name: str) -> dict[str, Any] | None:
    """What ``Get-JcfixAccount`` reports for the lab account ``name`` (None when there is none).

    ``signed_in`` is by SID: a session whose processes run under this account's own SID (a domain or
    AzureAD user with the same short name is someone else); ``profile_loaded`` is reported apart.
    """
    user = host.find_user(name)
    if user is None:
        return None
    sid = host.sid_of(user)
    sessions = [number for number, _, owner, _, _ in lab_sessions(host) if owner == sid]
    return {
        "name": user.name,
        "sid": sid,
        "full_name": user.full_name,
        "principal_source": user.principal_source if host.localaccounts_available else "Unknown",
        "profile_path": user.profile_path,
        "profile_loaded": user.profile_loaded,
        "signed_in": bool(sessions),
        "sessions": sessions,
    }


def not_elevated_message() -> str:
    """``Assert-JcfixElevated``'s refusal (a filtered token: UAC remote restrictions, KB 951016)."""
    return (
        "this session is not elevated (no Administrators token): a local administrator other than the built-in "
        "Administrator gets a filtered token over the network unless "
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\LocalAccountTokenFilterPolicy = 1; "
        "connect as the built-in Administrator or a domain administrator, or set LocalAccountTokenFilterPolicy"
    )


def untrusted_folder_message(host: LabHost, run_id: str | None) -> str | None:
    """``Assert-JcfixStateFolder``: the refusal for the first jcfix folder level a user created, or None."""
    levels = [STATE_ROOT, f"{STATE_ROOT}\\backups", f"{STATE_ROOT}\\tasks"]
    if run_id:
        levels += [f"{STATE_ROOT}\\backups\\{run_id}", f"{STATE_ROOT}\\tasks\\{run_id}"]
    planted = {folder.path.lower(): folder.owner for folder in host.precreated_folders}
    for level in levels:
        owner = host.find_user(planted[level.lower()]) if level.lower() in planted else None
        if owner is not None:
            return (
                f"refusing to use '{level}': its owner is {host.sid_of(owner)}, not Administrators or SYSTEM. Only "
                "SYSTEM and Administrators may own or write jcfix's folders; remove it (after checking who made it) "
                "and run again"
            )
    return None


def signed_in_text(account: dict[str, Any]) -> str:
    """How a refusal names the account's state, as ``Get-JcfixSignedInText`` does."""
    if account["signed_in"]:
        return f"'{account['name']}' is signed in (session {', '.join(str(s) for s in account['sessions'])})"
    return f"the profile of '{account['name']}' is loaded though no process of theirs runs in an interactive session"


def lab_pin_markers(host: LabHost, user: LabUser) -> list[str]:
    """The PIN markers the scripts would see for ``user``: ``ngc_pin`` and/or ``pin_provider`` (fact sheet §8).

    The lab's ``hello_pin`` sets the marker(s) ``host.pin_marker`` names (UNCONFIRMED which one Windows
    sets); a credential-provider key in the lab's registry also counts.
    """
    kinds = {"ngc_pin": ["ngc_pin"], "pin_provider": ["pin_provider"], "both": ["ngc_pin", "pin_provider"]}
    markers = list(kinds[host.pin_marker]) if user.hello_pin else []
    if f"{PIN_PROVIDER_KEY}\\{host.sid_of(user)}" in host.registry and "pin_provider" not in markers:
        markers.append("pin_provider")
    return markers


def policy_value(host: LabHost, key: str, name: str) -> int | None:
    """A DWORD policy value of a lab host, as ``Get-JcfixPolicyValue`` reads it."""
    value = host.registry.get(key, {}).get(name)
    return None if value is None else int(value)


def set_policy_value(host: LabHost, key: str, name: str, value: int | None) -> None:
    """Set (or, with None, delete) a policy value of a lab host."""
    values = host.registry.setdefault(key, {})
    if value is None:
        values.pop(name, None)
    else:
        values[name] = value


def save_lab_backup(host: LabHost, run_id: str, kind: str, entry: dict[str, Any]) -> str:
    """Record a backup on a lab host as ``Save-JcfixBackup`` would, returning its path.

    The record goes through :mod:`toolkit.backups` (the schema the scripts write), so a lab record has
    exactly the shape of a host's.
    """
    entries = host.backups.setdefault(run_id, [])
    path = f"{BACKUP_ROOT}\\{run_id}\\{len(entries) + 1:03d}-{kind}.json"
    saved = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = record_dict({"schema": 1, "kind": kind, "run_id": run_id, "saved": saved, "entry": entry})
    entries.append({**record, "path": path})
    return path


def apply_lab_policy(host: LabHost, run_id: str, name: str, value: int) -> str:
    """Back up, then set, one sign-in policy value on a lab host as the scripts do; returns the backup path."""
    entry = {
        "hive": "HKLM",
        "view": "Registry64",
        "subkey": SYSTEM_POLICY_SUBKEY,
        "name": name,
        "previous": policy_value(host, SYSTEM_POLICY_KEY, name),
    }
    path = save_lab_backup(host, run_id, "policy", entry)
    set_policy_value(host, SYSTEM_POLICY_KEY, name, value)
    return path


def _lab_value(name: str, value: Any) -> dict[str, Any]:
    """A lab registry value as ``Get-JcfixRegistryTree`` saves it (kind from the Python type)."""
    if isinstance(value, bytes):
        return {"name": name, "kind": "Binary", "value": base64.b64encode(value).decode("ascii")}
    if isinstance(value, bool | int):
        return {"name": name, "kind": "DWord" if -(2**31) <= int(value) < 2**31 else "QWord", "value": int(value)}
    if isinstance(value, list):
        return {"name": name, "kind": "MultiString", "value": [str(v) for v in value]}
    return {"name": name, "kind": "String", "value": str(value)}


def lab_registry_snapshot(host: LabHost, key: str, subkey: str, *, exists: bool) -> dict[str, Any]:
    """The ``snapshot`` of a 'registry' backup for lab key ``key`` (``HKLM:\\`` + ``subkey``), subkeys included.

    The lab's registry is a flat map of key path to values; a key's subkeys are the paths under it.
    """
    if not exists:
        return {"hive": "HKLM", "view": "Registry64", "subkey": subkey, "exists": False, "tree": None}

    def tree(path: str) -> dict[str, Any]:
        children = sorted(
            {k[len(path) + 1 :].split("\\", 1)[0] for k in host.registry if k.lower().startswith(path.lower() + "\\")}
        )
        return {
            "name": path.rsplit("\\", 1)[-1],
            "values": [_lab_value(n, v) for n, v in host.registry.get(path, {}).items()],
            "subkeys": [tree(f"{path}\\{child}") for child in children],
            "sddl": None,
        }

    return {"hive": "HKLM", "view": "Registry64", "subkey": subkey, "exists": True, "tree": tree(key)}


def delete_lab_registry_tree(host: LabHost, key: str) -> None:
    """Delete lab key ``key`` and every key under it, as ``DeleteSubKeyTree`` does."""
    for path in [k for k in host.registry if k.lower() == key.lower() or k.lower().startswith(key.lower() + "\\")]:
        del host.registry[path]


def restore_lab_registry_tree(host: LabHost, parent: str, tree: dict[str, Any]) -> None:
    """Recreate a saved tree under lab key ``parent`` (values with their kinds, then subkeys)."""
    path = f"{parent}\\{tree['name']}"
    values: dict[str, Any] = {}
    for saved in tree["values"]:
        value = saved["value"]
        values[saved["name"]] = base64.b64decode(value) if saved["kind"] == "Binary" else value
    if values:
        # The lab's registry holds keys with values; an empty key's existence is the account's flag.
        host.registry[path] = values
    for sub in tree["subkeys"]:
        restore_lab_registry_tree(host, path, sub)
