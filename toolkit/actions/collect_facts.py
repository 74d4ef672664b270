"""``collect_facts``: everything the diagnosis rules need from one host, read in one pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.actions import Action, Param
from toolkit.lab.documents import document

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost


def _check_log_lines(value: int) -> None:
    if not 0 <= value <= 500:
        raise ValueError("must be between 0 and 500")


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountFacts(_Facts):
    """One local account and the markers that block a takeover."""

    name: str
    full_name: str
    sid: str
    enabled: bool
    principal_source: str
    description: str
    profile_path: str | None
    profile_loaded: bool
    hello_pin: bool
    picture_password: bool


class AgentFacts(_Facts):
    """The JumpCloud agent as the host shows it; absent files leave fields empty."""

    installed: bool
    service_state: str | None
    version: str | None
    system_key: str | None
    install_dir: str | None
    managed_users: list[str]
    managed_users_read: bool
    log_lines: list[str]
    notes: list[str] = Field(default_factory=list)


class HostFacts(_Facts):
    computer_name: str
    os_caption: str
    os_version: str
    ps_version: str
    is_64bit_os: bool
    is_64bit_process: bool
    localaccounts_available: bool
    users: list[AccountFacts]
    signed_in: list[str]
    agent: AgentFacts


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    log_lines = int(params.get("LogLines", 20))
    localaccounts = host.localaccounts_available
    users = [
        {
            "name": u.name,
            "full_name": u.full_name,
            "sid": host.sid_of(u),
            "enabled": u.enabled,
            "principal_source": u.principal_source if localaccounts else "Unknown",
            "description": u.description,
            "profile_path": u.profile_path,
            "profile_loaded": u.profile_loaded,
            "hello_pin": u.hello_pin,
            "picture_password": u.picture_password,
        }
        for u in host.users
    ]
    agent = host.agent
    agent_data = {
        "installed": agent.installed,
        "service_state": ("Running" if agent.running else "Stopped") if agent.installed else None,
        "version": agent.version if agent.installed else None,
        "system_key": agent.system_key if agent.installed else None,
        "install_dir": "C:\\Program Files\\JumpCloud",
        "managed_users": list(agent.managed_users) if agent.installed else [],
        "managed_users_read": agent.installed,
        "log_lines": [line for line in agent.log_lines if "[ERROR]" in line or "[WARN" in line][-log_lines:]
        if log_lines
        else [],
        "notes": [],
    }
    data = {
        "computer_name": host.hostname.upper(),
        "os_caption": host.os_caption,
        "os_version": host.os_version,
        "ps_version": host.ps_version,
        "is_64bit_os": True,
        "is_64bit_process": host.is_64bit_process,
        "localaccounts_available": localaccounts,
        "users": users,
        "signed_in": [u.name for u in host.users if u.signed_in],
        "agent": agent_data,
    }
    return document("collect_facts", data)


ACTION = Action(
    name="collect_facts",
    template="collect_facts.ps1.j2",
    version=1,
    summary="Read every fact the takeover/provisioning diagnosis needs (accounts, PIN/picture, agent).",
    params=(Param("LogLines", kind="int", help="recent ERROR/WARN agent log lines", validate=_check_log_lines),),
    result_model=HostFacts,
    changes_state=False,
    simulate=simulate,
)
