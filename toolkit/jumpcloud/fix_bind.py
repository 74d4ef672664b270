"""``jcfix fix jc-bind``: bind a JumpCloud user to a device (``NOT_BOUND_TO_DEVICE``), and unbind on undo.

The binding is the v2 association system ↔ user: ``POST /api/v2/systems/{system_id}/associations`` with
``{"op": "add", "type": "user", "id": <user id>}`` (V2 spec, ``SystemAssociation_Set``, 204). Whether the
user is bound at all is read from ``GET /api/v2/systems/{id}/users`` (``SystemTraverseUser_Get``: directly
or through groups); whether this fix's own direct edge is still there, from ``SystemAssociation_Get``
(``targets=user``). Undo removes the edge only when this run added it and it is still there.
"""

from __future__ import annotations

from toolkit.jumpcloud import api, journal, writes
from toolkit.jumpcloud.client import JumpCloudClient
from toolkit.jumpcloud.fix_common import DryRunPlan, FixOutcome, find_user, lookup_request, user_placeholder, user_view
from toolkit.jumpcloud.writes import ApiRequest

FIX = "jc-bind"


def dry_run(jc_user: str, system_id: str) -> DryRunPlan:
    """What ``jc-bind`` would send, without connecting."""
    reads = [
        lookup_request(jc_user),
        ApiRequest("GET", f"/api/systems/{system_id}", "System_Get"),
        ApiRequest(
            "GET", f"/api/v2/systems/{system_id}/users", "SystemTraverseUser_Get", query={"limit": "100", "skip": "0"}
        ),
    ]
    return DryRunPlan(
        FIX,
        jc_user,
        reads=reads,
        writes=[writes.association_request(system_id, user_placeholder(jc_user), "add")],
        condition="only if the device exists and the user is not bound to it",
        notes=["undo sends the same request with op: remove, if the binding is still there"],
    )


def bind(client: JumpCloudClient, jc_user: str, system_id: str, *, run_id: str, check: bool) -> FixOutcome:
    """Bind ``jc_user`` to the device whose systemKey is ``system_id``; ``ok`` when already bound."""
    outcome = FixOutcome(FIX, jc_user, run_id, check)
    user = find_user(client, jc_user, outcome)
    if user is None:
        return outcome
    system = api.get_system(client, system_id)
    if system is None:
        return outcome.fail("invalid_input", f"JumpCloud has no device with systemKey {system_id!r}")
    device = system.hostname or system.display_name or system_id
    outcome.before = {**user_view(user), "device": device, "bound": user.id in api.bound_user_ids(client, system_id)}
    if outcome.before["bound"]:
        return outcome.unchanged(f"{jc_user!r} is already bound to {device} (directly or through a group)")
    outcome.planned.append(f"bind {jc_user!r} to {device} (systemKey {system_id})")
    if check:
        outcome.status = "changed"
        return outcome
    index = journal.record(
        run_id,
        {
            "fix": FIX,
            "change": "bind",
            "user_id": user.id,
            "username": user.username,
            "system_id": system_id,
            "device": device,
            "before": {"bound": False},
            "after": {"bound": True},
            "undoable": True,
        },
    )
    writes.bind(client, system_id, user.id)
    bound = user.id in writes.direct_user_ids(client, system_id)
    outcome.after = {**user_view(api.get_user(client, user.id)), "device": device, "bound": bound}
    if not bound:
        journal.settle(run_id, index, "failed")
        return outcome.fail("verify_failed", f"JumpCloud does not show {jc_user!r} bound to {device} after binding")
    journal.settle(run_id, index, "applied")
    outcome.status = "changed"
    if system.active:
        outcome.notes.append(
            "the agent creates or takes over the account at its next check-in: jcfix verify provisioned"
        )
    else:
        outcome.notes.append(f"{device} is not active in JumpCloud: the account appears once its agent checks in")
    return outcome
