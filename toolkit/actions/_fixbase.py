"""What every fix declaration shares: the run id, the result data shape, and lab backup bookkeeping."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.actions import Param

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost

RUN_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
BACKUP_ROOT = "C:\\ProgramData\\jcfix\\backups"
# Where the sign-in policies that block PIN and picture-password enrolment live (Policy CSP).
SYSTEM_POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\System"


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


def lab_account(host: LabHost, name: str) -> dict[str, Any] | None:
    """What ``Get-JcfixAccount`` reports for the lab account ``name`` (None when there is none)."""
    user = host.find_user(name)
    if user is None:
        return None
    return {
        "name": user.name,
        "sid": host.sid_of(user),
        "full_name": user.full_name,
        "principal_source": user.principal_source if host.localaccounts_available else "Unknown",
        "profile_path": user.profile_path,
        "signed_in": user.signed_in or user.profile_loaded,
    }


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
    """Record a backup on a lab host as ``Save-JcfixBackup`` would, returning its path."""
    entries = host.backups.setdefault(run_id, [])
    path = f"{BACKUP_ROOT}\\{run_id}\\{len(entries) + 1:03d}-{kind}.json"
    entries.append({"kind": kind, "path": path, "entry": entry})
    return path


def apply_lab_policy(host: LabHost, run_id: str, name: str, value: int) -> str:
    """Back up, then set, one sign-in policy value on a lab host as the scripts do; returns the backup path."""
    entry = {"path": SYSTEM_POLICY_KEY, "name": name, "previous": policy_value(host, SYSTEM_POLICY_KEY, name)}
    path = save_lab_backup(host, run_id, "policy", entry)
    set_policy_value(host, SYSTEM_POLICY_KEY, name, value)
    return path
