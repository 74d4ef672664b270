"""``collect_facts``: everything the diagnosis rules need from one host, read raw in one pipeline.

The template collects; Python decides (:mod:`toolkit.agentfiles` parses the agent files,
:mod:`toolkit.rules.sessions` decides who is signed in). The data model is :class:`toolkit.facts.HostFacts`.
"""

from __future__ import annotations

import base64
from typing import Any

from toolkit.actions import Action, Param, PseudoAction
from toolkit.naming import check_each, check_jumpcloud_name

LOG_TAIL_LIMIT = 256 * 1024
INSTALL_DIR = "C:\\Program Files\\JumpCloud"
LOG_LINES_LIMIT = 10_000  # more than a 256 KiB tail can hold
CONTRIB = INSTALL_DIR + "\\Plugins\\Contrib"


def _check_tail(value: int) -> None:
    if not 0 <= value <= LOG_TAIL_LIMIT:
        raise ValueError(f"must be between 0 and {LOG_TAIL_LIMIT}")


def _check_log_lines(value: int) -> None:
    if not 0 <= value <= LOG_LINES_LIMIT:
        raise ValueError(f"must be between 0 and {LOG_LINES_LIMIT}")


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
    result_model="toolkit.facts:HostFacts",
    changes_state=False,
)

# A playbook's ``diagnose`` step: collect_facts, then the one diagnosis (toolkit.services.diagnose).
PSEUDO_ACTION = PseudoAction(
    name="diagnose",
    summary="collect_facts, then the diagnosis: device facts, JumpCloud's side and the rules (read-only)",
    runs="collect_facts",
    params=(
        Param(
            "jc_users",
            kind="string[]",
            help="the JumpCloud usernames to check (default: the host's jc_users)",
            validate=check_each(check_jumpcloud_name),
        ),
        Param(
            "log_lines",
            kind="int",
            help=f"how many ERROR/WARN lines of the agent log the diagnosis keeps (0-{LOG_LINES_LIMIT})",
            validate=_check_log_lines,
        ),
    ),
)
