"""``list_users``: the local accounts of a host with their profiles (read-only)."""

from __future__ import annotations

from typing import Any

from toolkit.actions import Action, Param
from toolkit.naming import check_each, check_existing_name

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
    result_model="toolkit.actions._data:ListUsersData",
    changes_state=False,
    options={"localaccounts_fallback": True},
)


def __getattr__(name: str) -> Any:
    # The result models live in toolkit.actions._data (pydantic, imported on use); still importable from here.
    if name in ("ListUsersData", "LocalUser"):
        from toolkit.actions import _data

        return getattr(_data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
