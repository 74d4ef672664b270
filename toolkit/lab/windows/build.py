"""Build a :class:`~toolkit.lab.windows.machine.WindowsMachine` from a scenario host (``LabHost``).

Every existing scenario field keeps its meaning: users become SAM accounts (a Microsoft-account user gets the
Internet* SAM values, so PrincipalSource reads MicrosoftAccount), ``hello_pin`` enrols a PIN (NGC container
and the marker keys the host's ``pin_marker`` names), ``picture_password`` registers
``LogonUI\\PicturePassword\\<SID>``, ``signed_in`` starts a session with the user's shell, ``profile_loaded``
loads the profile, the agent installs its service, files and registry pointer (64-bit locations only: a
32-bit process sees none of it), ``registry`` keys are created (paths as physical 64-bit paths).
Tasks and backup records are not scenario inputs: the scripts create them on the machine.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from toolkit.lab.host import LabHost, LabUser
from toolkit.lab.windows import baseline, lifecycle
from toolkit.lab.windows import security as sec
from toolkit.lab.windows.accounts import LocalAccount, PasswordPolicy, Sam
from toolkit.lab.windows.filesystem import FileSystem
from toolkit.lab.windows.machine import WindowsMachine
from toolkit.lab.windows.registry import Registry
from toolkit.lab.windows.state import (
    AGENT_CONFIG_POINTER,
    AGENT_CONTRIB,
    AGENT_DIR,
    AGENT_LOG,
    PICTURE_ROOT,
    Identity,
    Profile,
    Provision,
    WindowsFaults,
    WindowsState,
)

MSA_PROVIDER_GUID = "{D7F9888F-E3FC-49B0-9EA6-A85B5F392A4F}"  # third-party forensics value; UNCONFIRMED


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _groups_of(user: LabUser) -> set[str]:
    groups = {sec.USERS} if user.rid not in (500, 501, 503) else set()
    if user.rid == 500:
        groups.add(sec.ADMINISTRATORS)
    if user.rid == 501:
        groups.add(sec.GUESTS)
    names = {"administrators": sec.ADMINISTRATORS, "users": sec.USERS, "guests": sec.GUESTS}
    groups.update(names[g.lower()] for g in user.groups if g.lower() in names)
    return groups


def _add_users(state: WindowsState, host: LabHost) -> None:
    for user in host.users:
        account = LocalAccount(
            user.rid,
            user.name,
            user.full_name,
            user.enabled,
            user.description,
            _when(user.last_logon),
            groups=_groups_of(user),
        )
        state.sam.add(account)
        sid = state.sam.sid_of(account)
        if user.principal_source == "MicrosoftAccount":
            email = user.msa_email or f"{user.name}@outlook.com"
            state.registry.seed(
                state.sam.key_of(user.rid),
                {
                    "InternetUserName": ("Binary", email.encode("utf-16-le")),
                    "InternetProviderGUID": ("Binary", MSA_PROVIDER_GUID.encode("utf-16-le")),
                    "InternetUID": ("Binary", b"\x00" * 8),
                    "InternetSID": ("Binary", f"S-1-11-96-{user.rid}".encode("utf-16-le")),
                    "GivenName": ("Binary", (user.full_name.split(" ")[0] or user.name).encode("utf-16-le")),
                    "Surname": ("Binary", (user.full_name.split(" ")[-1] or "").encode("utf-16-le")),
                },
            )
        if user.profile_path:
            state.profiles[sid] = Profile(
                sid,
                user.profile_path,
                loaded=user.profile_loaded or user.signed_in,
                last_use_time=_when(user.last_logon),
            )
            baseline.seed_user_folders(state, sid, user.profile_path)
            state.registry.seed(
                f"HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\{sid}",
                {"ProfileImagePath": ("ExpandString", user.profile_path)},
            )
        if user.hello_pin:
            lifecycle.enrol_pin(state, user.name)
        if user.picture_password:
            state.registry.seed(
                f"{PICTURE_ROOT}\\{sid}",
                {
                    "bgPath": (
                        "String",
                        f"C:\\ProgramData\\Microsoft\\Windows\\SystemData\\{sid}\\ReadOnly\\PicturePassword\\background.png",
                    ),
                    "GestureBlob": ("Binary", b"\x02\x00\x00\x00"),
                },
            )


def _start_sessions(state: WindowsState, host: LabHost) -> None:
    for user in host.users:
        if user.signed_in:
            account = state.sam.by_name(user.name)
            assert account is not None
            session = state.next_session
            state.next_session += 1
            state.start_session_processes(session)
            state.spawn(user.shell, session, state.sam.sid_of(account), f"C:\\Windows\\{user.shell}")
            state.spawn("sihost.exe", session, state.sam.sid_of(account))
    for foreign in host.foreign_sessions:
        state.identities[foreign.sid.upper()] = Identity(foreign.sid.upper(), foreign.domain, foreign.user)
        session = state.next_session
        state.next_session += 1
        state.start_session_processes(session)
        state.spawn(foreign.shell, session, foreign.sid.upper(), f"C:\\Windows\\{foreign.shell}")
        profile = f"C:\\Users\\{foreign.user}.{foreign.domain.upper()}"
        state.profiles[foreign.sid.upper()] = Profile(foreign.sid.upper(), profile, loaded=True)


def _agent_files(state: WindowsState, host: LabHost) -> None:
    agent = host.agent
    if not agent.installed:
        return
    fs = state.fs
    fs.seed_dir(AGENT_DIR)
    fs.seed_file(f"{AGENT_DIR}\\jumpcloud-agent.exe", b"MZ")
    conf = agent.conf_text
    if conf is None:
        conf = json.dumps(
            {"agentServerHost": "agent.jumpcloud.com", "systemKey": agent.system_key}
            if agent.system_key
            else {"agentServerHost": "agent.jumpcloud.com"}
        )
    fs.seed_file(f"{AGENT_CONTRIB}\\jcagent.conf", conf.encode("utf-8"))
    if agent.version:
        fs.seed_file(f"{AGENT_CONTRIB}\\version.txt", agent.version.encode("utf-8"))
    text = agent.managed_users_json
    if text is None:
        text = json.dumps([{"username": name} for name in agent.managed_users])
    fs.seed_file(
        f"{AGENT_CONTRIB}\\managedUsers.json",
        (b"\xef\xbb\xbf" if agent.managed_users_bom else b"") + text.encode("utf-8"),
    )
    if agent.log_lines:
        fs.seed_file(AGENT_LOG, ("\n".join(agent.log_lines) + "\n").encode("utf-8"))
    # The agent's install pointer (fact sheet §5), in the 64-bit registry only.
    state.registry.seed(AGENT_CONFIG_POINTER, {"": ("String", f"{AGENT_CONTRIB}\\jcagent.conf")})
    for provision in agent.provisions:
        state.provisions.append(
            Provision(provision.username, provision.full_name, state.clock + timedelta(seconds=provision.after_s))
        )


def _session_token(state: WindowsState, host: LabHost) -> sec.Token:
    """The WinRM session's token: the named local account, else the built-in Administrator (RID 500), which
    UAC remote restrictions never filter (KB 951016). ``elevated: false`` gives the filtered token."""
    account = state.sam.by_name(host.session_user) if host.session_user else state.sam.accounts.get(500)
    sid = state.sam.sid_of(account) if account else f"{state.machine_sid}-500"
    admin = account is None or state.sam.is_admin(account)
    return sec.user_token(sid, admin, host.elevated, network=True)


def _registry_entries(state: WindowsState, entries: dict[str, dict[str, Any]]) -> None:
    for path, values in entries.items():
        typed: dict[str, Any] = {}
        for name, value in values.items():
            if isinstance(value, (bool, int)):
                typed[name] = ("DWord", int(value))
            elif isinstance(value, list):
                typed[name] = ("MultiString", [str(v) for v in value])
            else:
                typed[name] = ("String", str(value))
        full = (
            path
            if path.upper().startswith("HKEY_")
            else path.replace("HKLM:\\", "HKEY_LOCAL_MACHINE\\").replace("HKLM\\", "HKEY_LOCAL_MACHINE\\")
        )
        state.registry.seed(full, typed)


def build_state(host: LabHost) -> WindowsState:
    """The machine state a scenario host describes."""
    registry = Registry()
    fs = FileSystem(baseline.ROOT_SD)
    state = WindowsState(
        host.hostname,
        host.machine_sid,
        registry,
        fs,
        Sam(host.machine_sid, registry),
        os_caption=host.os_caption,
        os_version=host.os_version,
        ps_version=host.ps_version,
        is_64bit_os=host.is_64bit_os,
        language=host.language,
        on_battery=host.on_battery,
    )
    state.pin_markers = ("ngc_pin", "pin_provider") if host.pin_marker == "both" else (host.pin_marker,)
    state.sam.policy = PasswordPolicy(host.password_policy.min_length, host.password_policy.complexity)
    faults = host.windows_faults
    state.faults = WindowsFaults(
        faults.rename_readback_stale, faults.password_rejected, list(faults.denied_registry_writes)
    )
    registry.denied_writes = {p.lower() for p in faults.denied_registry_writes}
    baseline.seed_files(state)
    baseline.seed_registry(registry, host.is_64bit_os)
    baseline.seed_services_and_processes(state, host.agent.installed, host.agent.running)
    _add_users(state, host)
    _start_sessions(state, host)
    _agent_files(state, host)
    _registry_entries(state, host.registry)
    for folder in host.precreated_folders:
        owner = state.sam.by_name(folder.owner)
        if owner is None:
            raise ValueError(f"{host.hostname}: precreated folder {folder.path}: no local account {folder.owner!r}")
        token = sec.user_token(state.sam.sid_of(owner), state.sam.is_admin(owner), False, False)
        fs.mkdir(folder.path, token)  # as that user: ProgramData's CREATOR OWNER rule gives them the folder
    return state


def build_machine(host: LabHost) -> WindowsMachine:
    """The WinRM session's PowerShell process on the machine ``host`` describes (64- or 32-bit as the host says)."""
    state = build_state(host)
    token = _session_token(state, host)
    if host.session_user and host.elevated:
        # A non-RID-500 local administrator gets a full token remotely only with this policy (KB 951016).
        state.registry.seed(
            "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System",
            {"LocalAccountTokenFilterPolicy": ("DWord", 1)},
        )
    found = state.lookup_sid(token.user)
    if found is not None and state.fs.node(f"C:\\Users\\{found[1]}") is None:
        # A remote session loads its user's profile (created at the first logon).
        baseline.seed_user_folders(state, token.user, f"C:\\Users\\{found[1]}")
    state.spawn("wsmprovhost.exe", 0, token.user)
    return WindowsMachine(state, token, host.is_64bit_process)
