"""Typed calls for the JumpCloud objects jcfix reads and changes: users, systems, bindings, user states.

Shapes follow the published OpenAPI specs (research §6): v1 ``systemuserreturn`` and ``JcSystem``,
v2 graph connections ``{id, type, ...}`` and scheduled user states ``{scheduledDate, state, systemUserId}``.
Only the fields jcfix uses are modelled; the rest of each object is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field

from toolkit.jumpcloud.client import PAGE_SIZE, JumpCloudClient, JumpCloudError

USER_STATES = ("STAGED", "ACTIVATED", "SUSPENDED")
SCHEDULABLE_STATES = frozenset({"STAGED", "SUSPENDED"})  # the states a scheduled activation applies to
EVENTS_PER_CALL = 100  # eventlist/next: at most 100 users a call, and at most 100 events a page (V2 spec)


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class JcUser(_ApiModel):
    """A JumpCloud user (v1 ``systemuserreturn``)."""

    id: str = Field(alias="_id")
    username: str
    email: str = ""
    displayname: str = ""
    state: str = "ACTIVATED"
    # False: the user has not set a password yet ("Password Pending"): the no-initial-password signal.
    activated: bool = True
    suspended: bool = False
    account_locked: bool = False
    # The "Local User Account" field: the local username the agent uses when set (not in the spec, but returned).
    system_username: str | None = Field(default=None, alias="systemUsername")

    @property
    def local_name(self) -> str:
        """The local username the agent takes over or creates: Local User Account, else the username."""
        return self.system_username or self.username


class JcSystem(_ApiModel):
    """A device (v1 ``JcSystem``); its ``_id`` is the agent's systemKey."""

    id: str = Field(alias="_id")
    hostname: str = ""
    display_name: str = Field(default="", alias="displayName")
    os: str = ""
    os_family: str = Field(default="", alias="osFamily")
    active: bool = False
    last_contact: str | None = Field(default=None, alias="lastContact")

    @property
    def is_windows(self) -> bool:
        return self.os_family.lower() == "windows" or "windows" in self.os.lower()

    def last_contact_at(self) -> datetime | None:
        return parse_time(self.last_contact)


class ScheduledState(_ApiModel):
    """A pending scheduled state change (v2 ``/bulk/userstates/eventlist/next``)."""

    scheduled_date: str = Field(alias="scheduledDate")
    state: str
    user_id: str = Field(alias="systemUserId")
    job_id: str = Field(default="", alias="scheduledJobId")

    def at(self) -> datetime | None:
        return parse_time(self.scheduled_date)


def parse_time(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime (JumpCloud sends UTC, sometimes with ``Z``)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


# ---- users ---------------------------------------------------------------------------------------


def list_users(client: JumpCloudClient) -> list[JcUser]:
    return [JcUser.model_validate(item) for item in client.v1_list("/api/systemusers")]


def get_user(client: JumpCloudClient, user_id: str) -> JcUser:
    return JcUser.model_validate(client.get(f"/api/systemusers/{user_id}"))


def find_user(users: Iterable[JcUser], username: str) -> tuple[JcUser | None, list[JcUser]]:
    """``(exact match, case-insensitive-only matches)`` of ``username`` among ``users``."""
    users = list(users)
    exact = next((u for u in users if u.username == username), None)
    folded = username.casefold()
    near = [u for u in users if u.username != username and u.username.casefold() == folded]
    return exact, near


USER_FIELDS = "username email displayname state activated suspended account_locked systemUsername"


def user_by_username(client: JumpCloudClient, username: str) -> tuple[JcUser | None, list[JcUser]]:
    """``(exact match, case-only matches)`` of ``username``, without listing every user.

    The exact match is ``GET /systemusers?filter=username:$eq:NAME`` (v1 ``User_List``; the v1 operator
    form ``field:$eq:value`` is the one in the V1 spec's ``CommandResult_Search`` example; filter values
    are case-sensitive, as the V2 spec's filter trait says). No v1 filter operator ignores case, so the
    case-only matches, read only when there is no exact match, come from ``POST /search/systemusers``
    (``User_Search``) with the anchored, case-insensitive ``$regex`` JumpCloud's ADMU uses
    (TheJumpCloud/jumpcloud-ADMU ``Test-JumpCloudUsername.ps1``), compared again here.
    """
    page = client.get("/api/systemusers", filter=f"username:$eq:{username}", limit=PAGE_SIZE, skip=0)
    found = [JcUser.model_validate(item) for item in (page or {}).get("results") or []]
    exact = next((u for u in found if u.username == username), None)
    if exact is not None:
        return exact, []
    body = {
        "filter": {"and": [{"username": {"$regex": f"(?i)(^{re.escape(username)}$)"}}]},
        "fields": USER_FIELDS,
        "limit": PAGE_SIZE,
        "skip": 0,
    }
    page = client.post("/api/search/systemusers", body)
    candidates = [JcUser.model_validate(item) for item in (page or {}).get("results") or []]
    return find_user(candidates, username)


def lookup_user(client: JumpCloudClient, username: str) -> JcUser:
    """The user called exactly ``username``; a one-line error names a case-only match when there is one."""
    exact, near = user_by_username(client, username)
    if exact is not None:
        return exact
    if near:
        names = ", ".join(repr(u.username) for u in near)
        raise JumpCloudError(f"no JumpCloud user {username!r}; usernames are case-sensitive: did you mean {names}?")
    raise JumpCloudError(f"no JumpCloud user {username!r}", kind="not_found")


def update_user(client: JumpCloudClient, user_id: str, fields: dict[str, object]) -> JcUser:
    """``PUT /systemusers/{id}`` with ``fields``; returns the user as the API now has it."""
    return JcUser.model_validate(client.put(f"/api/systemusers/{user_id}", fields))


def activate_user(client: JumpCloudClient, user_id: str, *, email: bool = True) -> None:
    """``POST /systemusers/{id}/state/activate``: STAGED to ACTIVATED (with a Welcome or Activation email)."""
    client.post(f"/api/systemusers/{user_id}/state/activate", {"email": email})


def send_activation_email(client: JumpCloudClient, user_id: str) -> None:
    """Resend the activation (set-your-password) email, as ``Send-JCPasswordReset`` does.

    ``/api/systemusers/reactivate`` is what JumpCloud's own PowerShell module calls; it is not in the
    public spec (research §6, UNCONFIRMED as public).
    """
    client.post("/api/systemusers/reactivate", {"isSelectAll": False, "models": [{"_id": user_id}]})


def scheduled_states(client: JumpCloudClient, user_ids: Iterable[str]) -> list[ScheduledState]:
    """The next scheduled state change of each user, every page of it.

    ``GET /v2/bulk/userstates/eventlist/next`` (V2 ``NextScheduledBulkUserState_Get``) takes at most 100
    ``users`` per call and pages its answer with ``limit`` (default 10, at most 100) and ``skip``: an
    ``events_count`` larger than what was read so far means another call with a larger ``skip``.
    """
    ids = list(dict.fromkeys(user_ids))
    events: list[ScheduledState] = []
    for start in range(0, len(ids), EVENTS_PER_CALL):
        users = ",".join(ids[start : start + EVENTS_PER_CALL])
        skip = 0
        while True:
            page = (
                client.get("/api/v2/bulk/userstates/eventlist/next", users=users, limit=EVENTS_PER_CALL, skip=skip)
                or {}
            )
            results = page.get("results") or []
            events.extend(ScheduledState.model_validate(item) for item in results)
            skip += len(results)
            if not results or skip >= int(page.get("events_count") or 0):
                break
    return events


# ---- systems and bindings ------------------------------------------------------------------------


def get_system(client: JumpCloudClient, system_id: str) -> JcSystem | None:
    """The device whose systemKey is ``system_id``, or None when JumpCloud does not know it (404)."""
    try:
        return JcSystem.model_validate(client.get(f"/api/systems/{system_id}"))
    except JumpCloudError as exc:
        if exc.kind == "not_found":
            return None
        raise


def list_systems(client: JumpCloudClient) -> list[JcSystem]:
    return [JcSystem.model_validate(item) for item in client.v1_list("/api/systems")]


def systems_by_hostname(client: JumpCloudClient, hostname: str) -> list[JcSystem]:
    """Devices whose hostname is ``hostname`` (``POST /search/systems``), compared without case."""
    page = client.post(
        "/api/search/systems",
        {"filter": {"or": [{"hostname": hostname}]}, "fields": "os osFamily hostname displayName active lastContact"},
    )
    found = [JcSystem.model_validate(item) for item in (page or {}).get("results") or []]
    return [s for s in found if s.hostname.casefold() == hostname.casefold()]


def bound_user_ids(client: JumpCloudClient, system_id: str) -> list[str]:
    """Every user bound to the device, directly or through groups (v2 ``/systems/{id}/users``)."""
    return [str(item["id"]) for item in client.v2_list(f"/api/v2/systems/{system_id}/users")]
