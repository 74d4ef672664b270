"""Raw facts as ``collect_facts`` v2 sends them, built from sample bytes (``tests/facts/data``)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from toolkit.facts import AccountFacts, AgentFacts, AgentFiles, HostFacts, RawFile, SessionFact

DATA = Path(__file__).parent / "data"
CONTRIB = "C:\\Program Files\\JumpCloud\\Plugins\\Contrib\\"
MACHINE = "S-1-5-21-1111111111-2222222222-3333333333-"


def sample(name: str) -> bytes:
    """The bytes of a sample file (see ``data/README.md`` for where each shape comes from)."""
    return (DATA / name).read_bytes()


def raw_file(content: bytes | None, path: str = CONTRIB + "managedUsers.json", **overrides: Any) -> RawFile:
    """A present file with ``content`` (None: absent), as the template reports it."""
    if content is None:
        return RawFile(path=path, present=False, size=None, truncated=False, base64=None, error=None)
    values: dict[str, Any] = {
        "path": path,
        "present": True,
        "size": len(content),
        "truncated": False,
        "base64": base64.b64encode(content).decode("ascii"),
        "error": None,
    }
    return RawFile(**{**values, **overrides})


def account(name: str, rid: int = 1001, **overrides: Any) -> AccountFacts:
    """A local account with nothing wrong with it."""
    values: dict[str, Any] = {
        "name": name,
        "full_name": "",
        "sid": f"{MACHINE}{rid}",
        "enabled": True,
        "principal_source": "Local",
        "description": "",
        "profile_path": f"C:\\Users\\{name}",
        "profile_loaded": False,
        "pin_markers": [],
        "hello_pin": False,
        "picture_password": False,
    }
    return AccountFacts(**{**values, **overrides})


def session(sid: str | None, user: str | None = None, domain: str | None = None, **overrides: Any) -> SessionFact:
    """One process owner in an interactive session (explorer.exe in session 1 unless told)."""
    values: dict[str, Any] = {"session_id": 1, "process": "explorer.exe", "sid": sid, "domain": domain, "user": user}
    return SessionFact(**{**values, **overrides})


def system_sessions(session_id: int = 1) -> list[SessionFact]:
    """The identities that own processes in every interactive session and are nobody: DWM, UMFD, SYSTEM."""
    return [
        session(
            f"S-1-5-90-0-{session_id}", f"DWM-{session_id}", "Window Manager", session_id=session_id, process="dwm.exe"
        ),
        session(
            f"S-1-5-96-0-{session_id}",
            f"UMFD-{session_id}",
            "Font Driver Host",
            session_id=session_id,
            process="fontdrvhost.exe",
        ),
        session("S-1-5-18", "SYSTEM", "NT AUTHORITY", session_id=session_id, process="winlogon.exe"),
        session("S-1-5-19", "LOCAL SERVICE", "NT AUTHORITY", session_id=session_id, process="svchost.exe"),
        session("S-1-5-20", "NETWORK SERVICE", "NT AUTHORITY", session_id=session_id, process="svchost.exe"),
    ]


def host_facts(
    *users: AccountFacts,
    managed_users: bytes | None = b"[]",
    agent_conf: bytes | None = b'{"systemKey":"abc123"}',
    log_tail: bytes | None = b"",
    sessions: list[SessionFact] | None = None,
    agent: dict[str, Any] | None = None,
    **overrides: Any,
) -> HostFacts:
    """A whole v2 facts document: an installed, running agent and the given accounts, files and sessions."""
    files = AgentFiles(
        managed_users=raw_file(managed_users, CONTRIB + "managedUsers.json"),
        agent_conf=raw_file(agent_conf, CONTRIB + "jcagent.conf"),
        log_tail=raw_file(log_tail, "C:\\Windows\\Temp\\jcagent.log"),
    )
    agent_values: dict[str, Any] = {
        "installed": True,
        "service_state": "Running",
        "version": "2.10.0",
        "install_dir": "C:\\Program Files\\JumpCloud",
        "files": files,
        "notes": [],
    }
    values: dict[str, Any] = {
        "computer_name": "PC-1",
        "os_caption": "Microsoft Windows 11 Pro",
        "os_version": "10.0.22631",
        "ps_version": "5.1.22621.2506",
        "is_64bit_os": True,
        "is_64bit_process": True,
        "elevated": True,
        "localaccounts_available": True,
        "users": list(users),
        "sessions": list(sessions or []),
        "agent": AgentFacts(**{**agent_values, **(agent or {})}),
    }
    return HostFacts(**{**values, **overrides})
