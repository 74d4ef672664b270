"""The raw facts ``collect_facts`` (template v2) brings back from one host, as pydantic models.

The host only collects: agent files come back as bounded raw bytes (base64) and the signed-in state as raw
session/owner facts. Python decides what they mean (:mod:`toolkit.agentfiles`, :mod:`toolkit.rules.sessions`),
so a decision is tested with real-shaped data instead of being a second reading hidden in PowerShell.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The two places Windows records a Hello PIN for a SID (fact sheet, "PIN markers"):
# "ngc_pin" = HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication\LogonUI\NgcPin\Credentials\<SID>,
# "pin_provider" = ...\Authentication\Credential Providers\{D6886603-9D2F-4EB2-B667-1971041FA96B}\<SID>.
PinMarker = Literal["ngc_pin", "pin_provider"]


class _Facts(BaseModel):
    """Every fact model refuses unknown fields: a template/model drift is a validation error, not silence."""

    model_config = ConfigDict(extra="forbid")


class RawFile(_Facts):
    """One file's bytes exactly as on disk, bounded by the template.

    ``managed_users`` and ``agent_conf`` carry at most their first 1 MiB, ``log_tail`` at most its LAST
    256 KiB; ``truncated`` says the bound cut the file. ``error`` is the host's message when the file
    exists but could not be read (for example a sharing violation).
    """

    path: str
    present: bool
    size: int | None = None
    truncated: bool = False
    base64: str | None = None
    error: str | None = None


class SessionFact(_Facts):
    """The owner of one process in one interactive session (``SessionId > 0``), as CIM reports it.

    ``sid`` comes from ``Win32_Process.GetOwnerSid``, ``domain``/``user`` from ``GetOwner``; any of them is
    ``None`` when the call returned nothing (the process ended, or access was denied).
    """

    session_id: int
    process: str
    sid: str | None = None
    domain: str | None = None
    user: str | None = None


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
    pin_markers: list[PinMarker] = Field(default_factory=list)
    hello_pin: bool
    picture_password: bool


class AgentFiles(_Facts):
    """The three agent files, raw."""

    managed_users: RawFile
    agent_conf: RawFile
    log_tail: RawFile


class AgentFacts(_Facts):
    """The JumpCloud agent as the host shows it; what the files say is decided in Python."""

    installed: bool
    service_state: str | None
    version: str | None
    install_dir: str | None
    files: AgentFiles
    notes: list[str] = Field(default_factory=list)


class HostFacts(_Facts):
    """The ``data`` of a ``collect_facts`` document (template v2)."""

    computer_name: str
    os_caption: str
    os_version: str
    ps_version: str
    is_64bit_os: bool
    is_64bit_process: bool
    elevated: bool
    localaccounts_available: bool
    users: list[AccountFacts]
    sessions: list[SessionFact]
    agent: AgentFacts


__all__ = ["AccountFacts", "AgentFacts", "AgentFiles", "HostFacts", "PinMarker", "RawFile", "SessionFact"]
