"""The decided view of a host's raw facts: what the agent files say and who is signed in.

``collect_facts`` returns raw bytes and raw session owners (:mod:`toolkit.facts`); :class:`DecidedFacts`
is what they mean, computed once per facts document, and is what the rules, ``jcfix verify`` and the
JumpCloud lookups read instead of re-deciding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolkit.agentfiles import DEFAULT_LOG_LINES, parse_log_tail, parse_managed_users, parse_system_key
from toolkit.facts import HostFacts
from toolkit.rules.sessions import normal_sid, signed_in_people, signed_in_sids


@dataclass(frozen=True)
class DecidedFacts:
    """What a host's raw facts mean.

    Attributes:
        managed_users: usernames listed in managedUsers.json, in file order (exact strings).
        managed_users_read: whether managedUsers.json was present and parsed; when False, an empty
            ``managed_users`` means "unknown", not "nobody".
        system_key: the agent's systemKey from jcagent.conf (the device's id in the JumpCloud API), or None.
        log_lines: the last ERROR/WARN lines of the jcagent.log tail, oldest first.
        signed_in_sids: the user SIDs (upper case) that own a process in an interactive session.
        signed_in: each of those once, as the host named it: ``{sid, domain, user, sessions}``.
        notes: what could not be read or looked odd (the host's own agent notes first).
    """

    managed_users: tuple[str, ...] = ()
    managed_users_read: bool = False
    system_key: str | None = None
    log_lines: tuple[str, ...] = ()
    signed_in_sids: frozenset[str] = frozenset()
    signed_in: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_raw(cls, facts: HostFacts, log_lines: int = DEFAULT_LOG_LINES) -> DecidedFacts:
        """Decide everything ``facts`` leaves to Python; ``log_lines``: how many ERROR/WARN lines to keep."""
        files = facts.agent.files
        managed = parse_managed_users(files.managed_users)
        system_key, conf_notes = parse_system_key(files.agent_conf)
        lines, log_notes = parse_log_tail(files.log_tail, log_lines)
        return cls(
            managed_users=managed.usernames,
            managed_users_read=managed.read,
            system_key=system_key,
            log_lines=tuple(lines),
            signed_in_sids=signed_in_sids(facts.sessions),
            signed_in=tuple(signed_in_people(facts.sessions)),
            notes=(*facts.agent.notes, *managed.notes, *conf_notes, *log_notes),
        )

    def is_signed_in(self, sid: str) -> bool:
        """Whether the account with ``sid`` is signed in (by SID: a same-named other account never counts)."""
        return normal_sid(sid) in self.signed_in_sids

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``jcfix diagnose -o json`` shows it beside the raw facts)."""
        return {
            "managed_users": list(self.managed_users),
            "managed_users_read": self.managed_users_read,
            "system_key": self.system_key,
            "log_lines": list(self.log_lines),
            "signed_in": [dict(p) for p in self.signed_in],
            "notes": list(self.notes),
        }


def decide(facts: HostFacts, log_lines: int = DEFAULT_LOG_LINES) -> DecidedFacts:
    """Shorthand for :meth:`DecidedFacts.from_raw`."""
    return DecidedFacts.from_raw(facts, log_lines)
