"""``list_users``: the local accounts of a host with their profiles (read-only)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from toolkit.actions import Action, Param
from toolkit.naming import check_each, check_existing_name


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


ACTION = Action(
    name="list_users",
    template="list_users.ps1.j2",
    version=1,
    summary="List local user accounts with SID, PrincipalSource, profile and sign-in state.",
    params=(
        Param(
            "Name", kind="string[]", help="only these usernames (any case)", validate=check_each(check_existing_name)
        ),
    ),
    result_model=ListUsersData,
    changes_state=False,
    options={"localaccounts_fallback": True},
)
