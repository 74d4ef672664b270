"""``jcfix fix jc-activate``: the causes that keep a user from being provisioned, cleared one by one.

* Suspended (``JC_USER_SUSPENDED``): only with ``--reactivate-suspended``, ``PUT /api/systemusers/{id}``
  ``{"state": "ACTIVATED"}`` (V1 ``User_Set``; ``systemuserput.state`` is ACTIVATED or SUSPENDED). Undo sets
  it back to SUSPENDED if this run activated it and it is still ACTIVATED.
* Staged (``JC_USER_STAGED``, ``START_DATE_IN_FUTURE``): ``POST /systemusers/{id}/state/activate``
  (``UserState_Activate``), which also sends the Activation email to a user without a password. Cannot be
  undone: ``systemuserput.state`` has no STAGED.
* No password (``NO_INITIAL_PASSWORD``, ``activated: false``): the activation email, or a given password.

Whether an activation email is already pending: ``systemuserreturn`` (V1 spec) has no field saying that an
activation email was sent or when: ``activated: false`` only says that no password is set (Password
Pending), which is as true of a user never emailed (activated with ``email: false``, imported) as of one
who was. So the signal used is jcfix's own journal: an applied ``activation_email`` entry for this user id,
in any run, while JumpCloud still shows ``activated: false``. Then the email is not sent again unless
``--resend``. An email sent from the console is not seen: jcfix sends once, then stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from toolkit.jumpcloud import api, journal, writes
from toolkit.jumpcloud.client import JumpCloudClient
from toolkit.jumpcloud.fix_common import DryRunPlan, FixOutcome, find_user, lookup_request, user_placeholder, user_view
from toolkit.jumpcloud.writes import ApiRequest
from toolkit.secrets import Secret

FIX = "jc-activate"
UNSENT = "an email cannot be unsent"
REACTIVATE_MEANS = (
    "they can sign in again everywhere JumpCloud manages: their devices, the User Portal and SSO applications"
)


@dataclass
class _Activation:
    """What activating one user takes, decided cause by cause before anything is changed."""

    unsuspend: bool = False  # Suspended, and --reactivate-suspended: set ACTIVATED
    activate_state: bool = False  # Staged: activate now
    set_password: bool = False  # no password, and one was given: set it
    send_email: bool = False  # no password, none given, none pending: the activation email


def dry_run(jc_user: str, *, reactivate_suspended: bool, set_password: bool) -> DryRunPlan:
    """What ``jc-activate`` may send, without connecting: each write goes only with its cause."""
    user = user_placeholder(jc_user)
    sends: list[ApiRequest] = []
    if reactivate_suspended:
        sends.append(writes.state_request(user, "ACTIVATED"))
    if set_password:
        sends.append(ApiRequest("PUT", f"/api/systemusers/{user}", "User_Set", body={"password": "(not shown)"}))
    sends.append(ApiRequest("POST", f"/api/systemusers/{user}/state/activate", "UserState_Activate", {"email": True}))
    sends.append(
        ApiRequest(
            "POST",
            "/api/systemusers/reactivate",
            "not in the spec: Send-JCPasswordReset",
            {"isSelectAll": False, "models": [{"_id": user}]},
        )
    )
    return DryRunPlan(
        FIX,
        jc_user,
        reads=[
            lookup_request(jc_user),
            ApiRequest(
                "GET",
                "/api/v2/bulk/userstates/eventlist/next",
                "NextScheduledBulkUserState_Get",
                query={"users": user, "limit": str(api.EVENTS_PER_CALL), "skip": "0"},
            ),
        ],
        writes=sends,
        condition=(
            "each only for its cause: state if Suspended (with --reactivate-suspended), password if none and one is "
            "given, state/activate if Staged, reactivate (the email) if none is pending in the journal or --resend"
        ),
        notes=[f"reactivating a Suspended user: {REACTIVATE_MEANS}"] if reactivate_suspended else [],
    )


def _suspended(user: api.JcUser, plan: _Activation, outcome: FixOutcome, allowed: bool) -> bool:
    """Cause: Suspended. False (outcome failed) without ``allowed``: someone suspended them on purpose."""
    if not allowed:
        outcome.fail(
            "invalid_input",
            f"{outcome.jc_user!r} is Suspended, maybe on purpose: pass --reactivate-suspended to reactivate "
            f"({REACTIVATE_MEANS})",
        )
        return False
    plan.unsuspend = True
    outcome.planned.append(f"reactivate {outcome.jc_user!r} (Suspended to Active): {REACTIVATE_MEANS}")
    return True


def _staged(client: JumpCloudClient, user: api.JcUser, outcome: FixOutcome, now: datetime, activate_now: bool) -> bool:
    """Cause: Staged. False (outcome skipped) when a future start date is scheduled and ``activate_now`` was not
    given: the Scheduled Activation will do it. ``outcome.before`` gets the date."""
    upcoming = [e for e in api.scheduled_states(client, [user.id]) if e.state == "ACTIVATED" and (e.at() or now) > now]
    if upcoming:
        start = min(e.scheduled_date for e in upcoming)
        outcome.before = {**(outcome.before or {}), "scheduled_activation": start}
        if not activate_now:
            outcome.status = "skipped"
            outcome.notes.append(f"Scheduled Activation on {start}: pass --activate-now to activate now")
            return False
    outcome.planned.append("activate the user now (Staged to Active)")
    return True


def _no_password(user: api.JcUser, plan: _Activation, outcome: FixOutcome, *, has_password: bool, resend: bool) -> None:
    """Cause: no initial password. Plans setting the given one, else the activation email unless one is pending."""
    if user.activated:
        return
    # In check mode the password is not read yet: ``has_password`` also counts one that was asked for.
    plan.set_password = has_password
    if has_password:
        outcome.planned.append("set an initial password (from JCFIX_JC_INITIAL_PASSWORD; never shown)")
        return
    if plan.activate_state:
        return  # activating a user without a password sends the Activation email itself (UserState_Activate)
    sent = journal.last_change("activation_email", user.id)
    if sent is not None and not resend:
        outcome.notes.append(
            f"an activation email is pending: jcfix sent one at {sent.get('at')} (run {sent.get('run_id')}) and "
            "JumpCloud still shows no password; not sent again: pass --resend to send another"
        )
        outcome.before = {**(outcome.before or {}), "activation_email_sent": sent.get("at")}
        return
    plan.send_email = True
    again = " again" if sent is not None else ""
    outcome.planned.append(f"send the activation email{again}: the user sets their own password")


def _entry(user: api.JcUser, change: str, undoable: bool, **fields: Any) -> dict[str, Any]:
    return {"fix": FIX, "change": change, "user_id": user.id, "username": user.username, "undoable": undoable, **fields}


def _apply(
    client: JumpCloudClient, user: api.JcUser, plan: _Activation, password: Secret | None, run_id: str
) -> list[int]:
    """Journal each change, then make it; returns the journal indexes to settle after the read-back."""
    made = []
    if plan.unsuspend:
        made.append(journal.record(run_id, _entry(user, "state", True, before="SUSPENDED", after="ACTIVATED")))
        writes.set_state(client, user.id, "ACTIVATED")
    if plan.set_password and password is not None:
        note = "a password cannot be unset"
        made.append(journal.record(run_id, _entry(user, "password", False, note=note)))
        api.update_user(client, user.id, {"password": password.reveal()})
    if plan.activate_state:
        note = "JumpCloud cannot return a user to Staged (User_Set takes ACTIVATED or SUSPENDED)"
        made.append(journal.record(run_id, _entry(user, "activation", False, note=note)))
        # Without a password, activation itself sends the Activation email; with one, a Welcome email.
        if not user.activated and not plan.set_password:
            made.append(journal.record(run_id, _entry(user, "activation_email", False, note=UNSENT)))
        api.activate_user(client, user.id, email=True)
    elif plan.send_email:
        made.append(journal.record(run_id, _entry(user, "activation_email", False, note=UNSENT)))
        api.send_activation_email(client, user.id)
    return made


def _verify(client: JumpCloudClient, user: api.JcUser, plan: _Activation, outcome: FixOutcome) -> FixOutcome:
    """Read the user back: each planned change shows, or the outcome fails naming the one that does not."""
    after = api.get_user(client, user.id)
    outcome.after = user_view(after)
    if (plan.activate_state or plan.unsuspend) and after.state != "ACTIVATED":
        return outcome.fail("verify_failed", f"JumpCloud still shows {outcome.jc_user!r} as {after.state}")
    if plan.set_password and not after.activated:
        return outcome.fail("verify_failed", "JumpCloud still shows the password as pending")
    if not after.activated:
        outcome.status = "pending"
        outcome.notes.append("activation email sent: the account reaches the device once the user sets a password")
    else:
        outcome.status = "changed"
        if plan.unsuspend:
            outcome.notes.append("JumpCloud shows the user Active: their devices follow at the agent's next check-in")
        else:
            outcome.notes.append("the agent provisions the account at its next check-in: jcfix verify provisioned")
    return outcome


def activate(
    client: JumpCloudClient,
    jc_user: str,
    *,
    run_id: str,
    check: bool,
    password: Secret | None = None,
    activate_now: bool = False,
    wants_password: bool = False,
    reactivate_suspended: bool = False,
    resend: bool = False,
) -> FixOutcome:
    """Clear the provisioning causes of ``jc_user``: Suspended (only with ``reactivate_suspended``), Staged
    (activate), a future start date (only with ``activate_now``), no password (send the activation email unless
    one is pending and ``resend`` is not given, or set ``password``)."""
    outcome = FixOutcome(FIX, jc_user, run_id, check)
    user = find_user(client, jc_user, outcome)
    if user is None:
        return outcome
    outcome.before = user_view(user)
    now = datetime.now(timezone.utc)
    plan = _Activation()
    if (user.state == "SUSPENDED" or user.suspended) and not _suspended(user, plan, outcome, reactivate_suspended):
        return outcome
    if user.state == "STAGED":
        plan.activate_state = _staged(client, user, outcome, now, activate_now)
        if not plan.activate_state:
            return outcome
    _no_password(user, plan, outcome, has_password=password is not None or wants_password, resend=resend)
    if not outcome.planned:
        if outcome.notes:  # the activation email is pending: said why above
            outcome.after = outcome.before
            return outcome
        return outcome.unchanged("already Active with a password")
    if check:
        outcome.status = "changed"
        return outcome
    if plan.set_password and password is None:
        return outcome.fail("invalid_input", "no initial password was given")
    made = _apply(client, user, plan, password, run_id)
    _verify(client, user, plan, outcome)
    for index in made:
        journal.settle(run_id, index, "failed" if outcome.status == "failed" else "applied")
    return outcome
