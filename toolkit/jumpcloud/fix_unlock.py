"""``jcfix fix jc-unlock``: unlock a JumpCloud user locked out after failed sign-ins (``JC_ACCOUNT_LOCKED``).

``POST /api/systemusers/{id}/unlock`` (V1 spec, ``User_Unlock``); ``account_locked`` (``systemuserreturn``)
is what is read before and after. It cannot be undone: JumpCloud has no call that locks an account (it
locks one itself after too many failed sign-ins), so the journal entry says so and undo skips it.
"""

from __future__ import annotations

from toolkit.jumpcloud import api, journal, writes
from toolkit.jumpcloud.client import JumpCloudClient
from toolkit.jumpcloud.fix_common import DryRunPlan, FixOutcome, find_user, lookup_request, user_placeholder, user_view

FIX = "jc-unlock"
CANNOT_UNDO = "JumpCloud has no call that locks an account (it locks one after failed sign-ins): not re-locked"


def dry_run(jc_user: str) -> DryRunPlan:
    """What ``jc-unlock`` would send, without connecting."""
    return DryRunPlan(
        FIX,
        jc_user,
        reads=[lookup_request(jc_user)],
        writes=[writes.unlock_request(user_placeholder(jc_user))],
        condition="only if the user shows account_locked: true",
        notes=["undo cannot re-lock the account"],
    )


def unlock(client: JumpCloudClient, jc_user: str, *, run_id: str, check: bool) -> FixOutcome:
    """Unlock ``jc_user`` when JumpCloud shows them locked; ``ok`` when they are not."""
    outcome = FixOutcome(FIX, jc_user, run_id, check)
    user = find_user(client, jc_user, outcome)
    if user is None:
        return outcome
    outcome.before = user_view(user)
    if not user.account_locked:
        return outcome.unchanged(f"{jc_user!r} is not locked")
    outcome.planned.append(f"unlock {jc_user!r}: they can sign in again (their password is unchanged)")
    if check:
        outcome.status = "changed"
        return outcome
    index = journal.record(
        run_id,
        {
            "fix": FIX,
            "change": "unlock",
            "user_id": user.id,
            "username": user.username,
            "before": {"account_locked": True},
            "after": {"account_locked": False},
            "undoable": False,
            "note": CANNOT_UNDO,
        },
    )
    writes.unlock(client, user.id)
    after = api.get_user(client, user.id)
    outcome.after = user_view(after)
    if after.account_locked:
        journal.settle(run_id, index, "failed")
        return outcome.fail("verify_failed", f"JumpCloud still shows {jc_user!r} as locked after the unlock")
    journal.settle(run_id, index, "applied")
    outcome.status = "changed"
    outcome.notes.append(f"JumpCloud now shows {jc_user!r} unlocked: they can sign in again")
    return outcome
