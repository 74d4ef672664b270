"""One simulated Windows host as a scenario describes it.

The machine scripts run on is built from this description on first use (:mod:`toolkit.lab.hostmachine`)
and changes from then on; this model stays what the scenario said.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

PrincipalSource = Literal["Local", "MicrosoftAccount", "ActiveDirectory", "AzureAD", "Unknown"]


class _Model(BaseModel):
    # Unknown keys in a scenario are typos: reject them with the field's name.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LabUser(_Model):
    """A local account on a simulated host."""

    name: str
    full_name: str = ""
    rid: int
    enabled: bool = True
    principal_source: PrincipalSource = "Local"
    msa_email: str | None = None
    hello_pin: bool = False
    picture_password: bool = False
    profile_path: str | None = None
    profile_loaded: bool = False
    signed_in: bool = False
    description: str = ""
    last_logon: str | None = None  # ISO 8601, UTC
    # --- Windows model (toolkit.lab.windows) fields; the defaults keep existing scenarios meaning the same.
    groups: list[str] = Field(default_factory=list)  # extra local groups, e.g. [Administrators]
    shell: str = "explorer.exe"  # the shell process a signed-in session of this user runs


class LabProvision(_Model):
    """An account the agent creates by itself some time after the lab starts (a bound JumpCloud user)."""

    username: str
    after_s: float = 0.0  # seconds after the host was loaded
    full_name: str = ""


class LabAgent(_Model):
    """The JumpCloud agent on a simulated host."""

    installed: bool = True
    running: bool = True
    version: str = "2.10.0"
    system_key: str | None = "5f0c1a2b3c4d5e6f7a8b9c0d"
    managed_users: list[str] = Field(default_factory=list)
    log_lines: list[str] = Field(default_factory=list)
    # Accounts the agent will provision at its next sync after their delay (see toolkit.lab.events).
    provisions: list[LabProvision] = Field(default_factory=list)
    # Exact managedUsers.json text (overrides managed_users), e.g. several users or odd shapes.
    managed_users_json: str | None = None
    managed_users_bom: bool = False  # the file starts with a UTF-8 byte order mark
    conf_text: str | None = None  # exact jcagent.conf text (default: JSON with systemKey)


class LabFolder(_Model):
    """A folder that exists before any script runs, created by a user (so that user owns it)."""

    path: str
    owner: str  # a local account name: the folder is created with that user's token


class LabForeignSession(_Model):
    """A signed-in user who is not a local account: a domain (CORP\\jonathan) or AzureAD user."""

    domain: str  # e.g. CORP or AzureAD
    user: str
    sid: str  # S-1-5-21-<domain>-RID, or S-1-12-1-... for AzureAD
    shell: str = "explorer.exe"


class LabPasswordPolicy(_Model):
    """The local password policy (secpol: minimum length, complexity)."""

    min_length: int = 0
    complexity: bool = False


class LabWindowsFaults(_Model):
    """Failures after a change, for the Windows model (all off by default)."""

    rename_readback_stale: bool = False  # a rename applies but reads keep showing the old name
    password_rejected: bool = False  # every password change is refused (e.g. after an MSA unlink)
    denied_registry_writes: list[str] = Field(default_factory=list)  # HKLM\... keys whose writes fail


class LabFaults(_Model):
    """Misbehaviour injected into a host's listener or engine (all off by default)."""

    latency_ms: int = 0  # added to every HTTP response
    reject_auth: bool = False  # every request gets 401
    http_500: bool = False  # every request gets a WSMan fault with HTTP 500
    drop_connection: bool = False  # the connection closes mid-response
    refuse_connection: bool = False  # nothing listens
    hang: bool = False  # accepts the connection, never answers
    script_delay_s: float = 0.0  # each script takes this long before it answers
    error_records: list[str] = Field(default_factory=list)  # non-terminating errors written beside the output
    terminating_error: str | None = None  # thrown after the output is written: the pipeline ends Failed
    malformed_result: Literal["none", "empty", "two", "not_json", "wrong_shape"] = "none"


class LabHost(_Model):
    """One simulated Windows host."""

    hostname: str
    os_version: str = "10.0.22631"
    os_caption: str = "Microsoft Windows 11 Pro"
    ps_version: str = "5.1.22621.2506"
    is_64bit_process: bool = True  # False: a 32-bit endpoint, Get-LocalUser is missing
    machine_sid: str = "S-1-5-21-1004336348-1177238915-682003330"
    users: list[LabUser] = Field(default_factory=list)
    agent: LabAgent = Field(default_factory=LabAgent)
    registry: dict[str, dict[str, Any]] = Field(default_factory=dict)
    faults: LabFaults = Field(default_factory=LabFaults)
    # Scenario metadata, not host state: the JumpCloud usernames this host is expected to end up with
    # (for diagnose tests and inventories). The machine never reads it.
    jc_users: list[str] = Field(default_factory=list)
    # --- Windows model (toolkit.lab.windows) fields; the defaults keep existing scenarios meaning the same.
    is_64bit_os: bool = True
    on_battery: bool = False
    elevated: bool = True  # False: a filtered token (UAC remote restrictions, KB 951016)
    session_user: str | None = None  # the local account WinRM runs as (None: the built-in Administrator)
    language: str = "en-US"  # the system language (localised native tools such as takeown)
    pin_marker: Literal["ngc_pin", "pin_provider", "both"] = "ngc_pin"  # which key a PIN sets (UNCONFIRMED)
    precreated_folders: list[LabFolder] = Field(default_factory=list)
    foreign_sessions: list[LabForeignSession] = Field(default_factory=list)
    password_policy: LabPasswordPolicy = Field(default_factory=LabPasswordPolicy)
    windows_faults: LabWindowsFaults = Field(default_factory=LabWindowsFaults)
    # When this host's state was loaded (time.monotonic()); the agent's timed events count from here.
    _loaded_at: float = PrivateAttr(default_factory=time.monotonic)
    # The machine built from this description (toolkit.lab.hostmachine), its lock, and the monotonic time
    # its clock was last brought to.
    _lab_machine: Any = PrivateAttr(default=None)
    _lab_lock: Any = PrivateAttr(default=None)
    _lab_clock_at: float | None = PrivateAttr(default=None)

    @property
    def loaded_at(self) -> float:
        return self._loaded_at

    def find_user(self, name: str) -> LabUser | None:
        """The scenario's account called ``name``, compared without case as Windows does (the description,
        not the machine: see :mod:`toolkit.lab.readback` for what the machine holds now)."""
        wanted = name.lower()
        return next((u for u in self.users if u.name.lower() == wanted), None)
