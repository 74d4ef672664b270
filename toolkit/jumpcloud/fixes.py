"""Fixes made in JumpCloud rather than on a device; this module has the Local User Account one.

The other fixes live beside it (``fix_unlock``, ``fix_bind``, ``fix_activate``; undo in ``fix_undo``) and
are re-exported here. Each reads the user first, says what it would change (``check``), records what it
changes in the run's journal before changing it, and reads the user back to verify.
"""

from __future__ import annotations

from toolkit.jumpcloud import api, journal
from toolkit.jumpcloud.client import PAGE_SIZE, JumpCloudClient
from toolkit.jumpcloud.fix_activate import activate
from toolkit.jumpcloud.fix_bind import bind
from toolkit.jumpcloud.fix_common import DryRunPlan, FixOutcome, find_user, lookup_request, user_placeholder, user_view
from toolkit.jumpcloud.fix_undo import undo
from toolkit.jumpcloud.fix_unlock import unlock
from toolkit.jumpcloud.writes import ApiRequest
from toolkit.naming import name_problems

__all__ = ["DryRunPlan", "FixOutcome", "activate", "bind", "set_local_account", "undo", "unlock"]


def _holders(client: JumpCloudClient, name: str) -> list[api.JcUser]:
    """Users whose username is ``name`` in any case, or whose Local User Account is ``name``, without listing
    every user: :func:`api.user_by_username` for usernames, and ``GET /api/systemusers`` (V1 ``User_List``)
    with ``filter=systemUsername:$eq:NAME`` for the Local User Account."""
    exact, near = api.user_by_username(client, name)
    page = client.get("/api/systemusers", filter=f"systemUsername:$eq:{name}", limit=PAGE_SIZE, skip=0)
    found = [api.JcUser.model_validate(item) for item in (page or {}).get("results") or []]
    holders = {u.id: u for u in [*([exact] if exact else []), *near, *found]}
    folded = name.casefold()
    return [u for u in holders.values() if folded in {u.username.casefold(), (u.system_username or "").casefold()}]


def dry_run(jc_user: str, local_name: str) -> DryRunPlan:
    """What ``jc-local-account`` would send, without connecting."""
    user = user_placeholder(jc_user)
    return DryRunPlan(
        "jc-local-account",
        jc_user,
        reads=[
            lookup_request(jc_user),
            lookup_request(local_name),
            ApiRequest(
                "GET",
                "/api/systemusers",
                "User_List",
                query={"filter": f"systemUsername:$eq:{local_name}", "limit": str(PAGE_SIZE), "skip": "0"},
            ),
        ],
        writes=[ApiRequest("PUT", f"/api/systemusers/{user}", "User_Set", body={"systemUsername": local_name})],
        condition=f"only if the Local User Account is not {local_name!r} and no other user holds it",
    )


def set_local_account(
    client: JumpCloudClient, jc_user: str, local_name: str, *, run_id: str, check: bool
) -> FixOutcome:
    """Set ``jc_user``'s Local User Account (``systemUsername``) to ``local_name``, the exact local username."""
    outcome = FixOutcome("jc-local-account", jc_user, run_id, check)
    problems = name_problems(local_name)
    if problems:
        return outcome.fail("invalid_input", f"{local_name!r} cannot be a Windows account name: {'; '.join(problems)}")
    user = find_user(client, jc_user, outcome)
    if user is None:
        return outcome
    outcome.before = user_view(user)
    if user.system_username == local_name:
        return outcome.unchanged(f"the Local User Account is already {local_name!r}")
    taken = [u.username for u in _holders(client, local_name) if u.id != user.id]
    if taken:
        return outcome.fail(
            "invalid_input",
            f"{local_name!r} is already the username or Local User Account of {', '.join(taken)}: it must be unique",
        )
    outcome.planned.append(
        f"set the Local User Account of {jc_user!r} from {user.system_username or '(empty)'!r} to {local_name!r}"
    )
    if check:
        outcome.status = "changed"
        return outcome
    index = journal.record(
        run_id,
        {
            "fix": outcome.fix,
            "change": "local_account",
            "user_id": user.id,
            "username": user.username,
            "field": "systemUsername",
            "before": user.system_username,
            "after": local_name,
            "undoable": True,
        },
    )
    api.update_user(client, user.id, {"systemUsername": local_name})
    after = api.get_user(client, user.id)
    outcome.after = user_view(after)
    journal.settle(run_id, index, "applied" if after.system_username == local_name else "failed")
    if after.system_username != local_name:
        return outcome.fail("verify_failed", f"JumpCloud still shows Local User Account {after.system_username!r}")
    outcome.status = "changed"
    outcome.notes.append("the agent applies it at its next check-in: confirm with jcfix verify provisioned")
    return outcome
