"""``list_users``: the local accounts of a host with their profiles (read-only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from toolkit.actions import Action, Param
from toolkit.lab.documents import document

if TYPE_CHECKING:
    from toolkit.lab.host import LabHost


class LocalUser(BaseModel):
    """One local account, as the host reports it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    full_name: str
    sid: str
    enabled: bool
    principal_source: str
    last_logon: str | None
    profile_path: str | None
    profile_loaded: bool
    description: str


class ListUsersData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    computer_name: str
    source: Literal["Get-LocalUser", "Win32_UserAccount"]
    users: list[LocalUser]


def simulate(host: LabHost, params: Mapping[str, Any], whatif: bool) -> dict[str, Any]:
    wanted = {n.lower() for n in params.get("Name") or []}
    fallback = not host.localaccounts_available
    users = [
        {
            "name": u.name,
            "full_name": u.full_name,
            "sid": host.sid_of(u),
            "enabled": u.enabled,
            "principal_source": "Unknown" if fallback else u.principal_source,
            "last_logon": None if fallback else u.last_logon,
            "profile_path": u.profile_path,
            "profile_loaded": u.profile_loaded,
            "description": u.description,
        }
        for u in host.users
        if not wanted or u.name.lower() in wanted
    ]
    data = {
        "computer_name": host.hostname.upper(),
        "source": "Win32_UserAccount" if fallback else "Get-LocalUser",
        "users": users,
    }
    return document("list_users", data)


ACTION = Action(
    name="list_users",
    template="list_users.ps1.j2",
    version=1,
    summary="List local user accounts with SID, PrincipalSource, profile and sign-in state.",
    params=(Param("Name", kind="string[]", help="only these usernames (any case)"),),
    result_model=ListUsersData,
    changes_state=False,
    simulate=simulate,
    options={"localaccounts_fallback": True},
)
