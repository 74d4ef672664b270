"""``collect_facts``: everything the diagnosis rules need from one host, read raw in one pipeline.

The template collects; Python decides (:mod:`toolkit.agentfiles` parses the agent files,
:mod:`toolkit.rules.sessions` decides who is signed in). The data model is :class:`toolkit.facts.HostFacts`.
"""

from __future__ import annotations

import base64
import codecs
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from toolkit.actions import Action, Param
from toolkit.actions._fixbase import lab_pin_markers, lab_sessions
from toolkit.facts import HostFacts
from toolkit.lab.documents import document

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost

# The template's bounds: managedUsers.json and jcagent.conf their first 1 MiB, the log its last 256 KiB.
FILE_LIMIT = 1024 * 1024
LOG_TAIL_LIMIT = 256 * 1024
INSTALL_DIR = "C:\\Program Files\\JumpCloud"
CONTRIB = INSTALL_DIR + "\\Plugins\\Contrib"
LOG_PATH = "C:\\Windows\\Temp\\jcagent.log"


def _check_tail(value: int) -> None:
    if not 0 <= value <= LOG_TAIL_LIMIT:
        raise ValueError(f"must be between 0 and {LOG_TAIL_LIMIT}")


def raw_file(path: str, body: bytes | None, limit: int, *, tail: bool = False) -> dict[str, Any]:
    """What ``Get-JcfixRawFile`` returns for a file holding ``body`` (None: no such file)."""
    if body is None:
        return {"path": path, "present": False, "size": None, "truncated": False, "base64": None, "error": None}
    cut = body[len(body) - min(limit, len(body)) :] if tail else body[:limit]
    return {
        "path": path,
        "present": True,
        "size": len(body),
        "truncated": len(cut) < len(body),
        "base64": base64.b64encode(cut).decode("ascii"),
        "error": None,
    }


def _agent_files(host: LabHost, tail_bytes: int) -> dict[str, Any]:
    """The agent's three files as the lab host holds them, in the shapes the agent writes (fact sheet §5)."""
    agent = host.agent
    managed = conf = log = None
    if agent.installed:
        if agent.managed_users_json is not None:
            managed = agent.managed_users_json.encode("utf-8")
        else:
            # A JSON array of objects with 'username' (ADMU Test-LocalUsernameExist.ps1), one per managed user.
            managed = json.dumps([{"username": name} for name in agent.managed_users]).encode("utf-8")
        if agent.managed_users_bom:
            managed = codecs.BOM_UTF8 + managed
        if agent.conf_text is not None:
            conf = agent.conf_text.encode("utf-8")
        else:
            conf = json.dumps({"systemKey": agent.system_key} if agent.system_key else {}).encode("utf-8")
        if agent.log_lines:
            log = "".join(line + "\r\n" for line in agent.log_lines).encode("utf-8")
    return {
        "managed_users": raw_file(CONTRIB + "\\managedUsers.json", managed, FILE_LIMIT),
        "agent_conf": raw_file(CONTRIB + "\\jcagent.conf", conf, FILE_LIMIT),
        "log_tail": raw_file(LOG_PATH, log, tail_bytes, tail=True),
    }


def _fact(session: int, process: str, sid: str, domain: str, user: str, readable: bool) -> dict[str, Any]:
    """One process owner; a filtered token gets access denied from GetOwnerSid/GetOwner (issue 10, defect 12)."""
    if not readable:
        return {"session_id": session, "process": process, "sid": None, "domain": None, "user": None}
    return {"session_id": session, "process": process, "sid": sid, "domain": domain, "user": user}


def _sessions(host: LabHost) -> list[dict[str, Any]]:
    """Owners of the processes in interactive sessions, as Win32_Process GetOwnerSid/GetOwner report them.

    Session 1 exists with nobody signed in (the sign-in screen: csrss, winlogon, dwm, fontdrvhost, LogonUI);
    each signed-in user (local, domain or AzureAD) has a session with their shell under their own SID.
    DWM-n and UMFD-n are the virtual accounts S-1-5-90-0-n and S-1-5-96-0-n. Without an elevated token only
    the connecting account's own processes can be read.
    """
    own = host.find_user(host.session_user) if host.session_user else None
    own_sid = host.sid_of(own) if own is not None else None
    people = lab_sessions(host)
    facts: list[dict[str, Any]] = []
    for number in range(1, max(1, len(people)) + 1):
        system = [
            ("csrss.exe", "S-1-5-18", "NT AUTHORITY", "SYSTEM"),
            ("winlogon.exe", "S-1-5-18", "NT AUTHORITY", "SYSTEM"),
            ("dwm.exe", f"S-1-5-90-0-{number}", "Window Manager", f"DWM-{number}"),
            ("fontdrvhost.exe", f"S-1-5-96-0-{number}", "Font Driver Host", f"UMFD-{number}"),
        ]
        if number <= len(people):
            _, shell, sid, domain, user = people[number - 1]
            system += [(shell, sid, domain, user), ("sihost.exe", sid, domain, user)]
        else:
            system.append(("LogonUI.exe", "S-1-5-18", "NT AUTHORITY", "SYSTEM"))
        for process, sid, domain, user in system:
            facts.append(_fact(number, process, sid, domain, user, host.elevated or sid == own_sid))
    return facts


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    """The v2 document from the lab host's state (every read passes -WhatIf:$false, so -WhatIf changes nothing)."""
    tail_bytes = int(params.get("LogTailBytes", LOG_TAIL_LIMIT))
    localaccounts = host.localaccounts_available
    users = []
    for u in host.users:
        markers = lab_pin_markers(host, u)
        users.append(
            {
                "name": u.name,
                "full_name": u.full_name,
                "sid": host.sid_of(u),
                "enabled": u.enabled,
                "principal_source": u.principal_source if localaccounts else "Unknown",
                "description": u.description,
                "profile_path": u.profile_path,
                "profile_loaded": u.profile_loaded,
                "pin_markers": markers,
                "hello_pin": bool(markers),
                "picture_password": u.picture_password,
            }
        )
    agent = host.agent
    data = {
        "computer_name": host.hostname.upper(),
        "os_caption": host.os_caption,
        "os_version": host.os_version,
        "ps_version": host.ps_version,
        "is_64bit_os": host.is_64bit_os,
        "is_64bit_process": host.is_64bit_process,
        "elevated": host.elevated,
        "localaccounts_available": localaccounts,
        "users": users,
        "sessions": _sessions(host),
        "agent": {
            "installed": agent.installed,
            "service_state": ("Running" if agent.running else "Stopped") if agent.installed else None,
            "version": agent.version if agent.installed else None,
            "install_dir": INSTALL_DIR,
            "files": _agent_files(host, tail_bytes),
            "notes": [],
        },
    }
    return document("collect_facts", data)


ACTION = Action(
    name="collect_facts",
    template="collect_facts.ps1.j2",
    version=2,
    summary="Read every fact the takeover/provisioning diagnosis needs, raw (accounts, PIN/picture, sessions, agent).",
    params=(
        Param(
            "LogTailBytes",
            kind="int",
            help=f"bytes of jcagent.log's end to read (0-{LOG_TAIL_LIMIT}, default all {LOG_TAIL_LIMIT})",
            validate=_check_tail,
        ),
    ),
    result_model=HostFacts,
    changes_state=False,
    simulate=simulate,
)
