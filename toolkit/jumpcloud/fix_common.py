"""What every JumpCloud-side fix shares: its outcome, the user lookup, and the dry-run plan.

A fix reads first, says what it would change (``check``), journals each change before making it
(:mod:`toolkit.jumpcloud.journal`), makes it, and reads it back: nothing is assumed to have worked.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

from toolkit.jumpcloud import api
from toolkit.jumpcloud.client import PAGE_SIZE, JumpCloudClient
from toolkit.jumpcloud.writes import ApiRequest
from toolkit.results import Status


@dataclass
class FixOutcome:
    """What a JumpCloud fix found, planned and did; ``after`` is read back from the API."""

    fix: str
    jc_user: str
    run_id: str
    check_mode: bool
    status: Status = "ok"
    planned: list[str] = field(default_factory=list)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fail(self, category: str, message: str) -> FixOutcome:
        self.status = "failed"
        self.error = {"category": category, "message": message}
        return self

    def unchanged(self, note: str) -> FixOutcome:
        """Nothing to do: ``ok``, with why, and ``after`` as read (it is ``before``)."""
        self.status = "ok"
        self.notes.append(note)
        self.after = self.before
        return self


def user_view(user: api.JcUser) -> dict[str, Any]:
    """The user's fields the fixes read and change, as shown in before/after."""
    return {
        "state": user.state,
        "activated": user.activated,
        "account_locked": user.account_locked,
        "systemUsername": user.system_username,
        "local_name": user.local_name,
    }


def find_user(client: JumpCloudClient, jc_user: str, outcome: FixOutcome) -> api.JcUser | None:
    """``jc_user`` (exact name, looked up with the v1 ``filter``), or None with ``outcome`` failed and naming
    any case-only match."""
    exact, near = api.user_by_username(client, jc_user)
    if exact is None:
        hint = f" (did you mean {', '.join(repr(u.username) for u in near)}?)" if near else ""
        outcome.fail("invalid_input", f"no JumpCloud user {jc_user!r}{hint}")
    return exact


# ---- dry run -------------------------------------------------------------------------------------


def user_placeholder(jc_user: str) -> str:
    """How a dry run names a user id it has not read: ``{id of lou}``."""
    return "{id of " + jc_user + "}"


def lookup_request(jc_user: str) -> ApiRequest:
    """The read that finds the user (as :func:`toolkit.jumpcloud.api.user_by_username` sends it)."""
    return ApiRequest(
        "GET",
        "/api/systemusers",
        "User_List",
        query={"filter": f"username:$eq:{jc_user}", "limit": str(PAGE_SIZE), "skip": "0"},
    )


@dataclass(frozen=True)
class DryRunPlan:
    """What a fix would send: the reads that decide, then the writes made when the reads show the finding."""

    fix: str
    jc_user: str
    reads: list[ApiRequest]
    writes: list[ApiRequest]
    condition: str  # when the writes are sent
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fix": self.fix,
            "jc_user": self.jc_user,
            "reads": [r.to_dict() for r in self.reads],
            "writes": [w.to_dict() for w in self.writes],
            "condition": self.condition,
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """The plan as text lines, prose wrapped at 80 columns (a request line is never broken: it is exact)."""
        out = [f"{self.fix} --jc-user {self.jc_user}: dry run, nothing is sent", "reads first:"]
        out += ["  " + line for r in self.reads for line in r.lines()]
        out += textwrap.wrap(f"then, {self.condition}:", width=80, subsequent_indent="  ")
        out += ["  " + line for w in self.writes for line in w.lines()]
        out += ["then reads the user back to verify"]
        out += [line for n in self.notes for line in textwrap.wrap(f"note: {n}", width=80, subsequent_indent="  ")]
        return out
