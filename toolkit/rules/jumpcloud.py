"""JumpCloud-side findings: why a bound user never reaches this device, read from the JumpCloud API.

Silent unless the run read the API (``ctx.jc``). Each message says what to do in the JumpCloud Admin
Portal, in its words (research §0: user states, Password Pending, Scheduled Activation, User Bindings),
and names the jcfix command when one changes it without touching the device.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from datetime import timedelta

from toolkit.jumpcloud.api import JcSystem, JcUser, ScheduledState
from toolkit.jumpcloud.facts import JumpCloudFacts
from toolkit.rules import Context, Finding

# An agent checks in within about a minute (research §5); a day of silence means the device is off the air.
STALE_CONTACT = timedelta(hours=24)


def _jcfix(*words: str) -> str:
    """A jcfix command that acts on JumpCloud, not on a device (so no --host)."""
    return shlex.join(["jcfix", *words])


def _device_findings(ctx: Context, jc: JumpCloudFacts) -> Iterator[Finding]:
    key = ctx.decided.system_key
    if not key:
        return  # no agent identity on the device: the agent rules already say why
    system = jc.systems.get(key)
    if system is None:
        yield Finding(
            "DEVICE_NOT_IN_JUMPCLOUD",
            "blocker",
            f"JumpCloud has no device with this agent's systemKey {key!r}: the device was deleted in the console or "
            "the agent registered with another organisation. Reinstall the agent with your organisation's Connect "
            "Key (Devices > + > Windows), then bind the users to the new device.",
            evidence={"system_key": key},
        )
        return
    yield from _offline_finding(system, jc)


def _offline_finding(system: JcSystem, jc: JumpCloudFacts) -> Iterator[Finding]:
    contact = system.last_contact_at()
    stale = contact is None or jc.read_at - contact > STALE_CONTACT
    if system.active and not stale:
        return
    when = contact.strftime("%Y-%m-%d %H:%M UTC") if contact else "never"
    yield Finding(
        "AGENT_OFFLINE",
        "blocker" if not system.active else "warning",
        f"JumpCloud shows device {system.display_name or system.hostname!r} as "
        f"{'inactive' if not system.active else 'active'}, last contact {when}: bindings and user changes reach it "
        "only when its agent checks in. Check the device is on and online (Devices > the device > Details), "
        "and that the jumpcloud-agent service runs.",
        evidence={"system_id": system.id, "active": system.active, "last_contact": system.last_contact},
    )


def _scheduled_activation(jc: JumpCloudFacts, user: JcUser) -> ScheduledState | None:
    """The user's next Scheduled Activation still to come (JumpCloud schedules them for Staged or Suspended users)."""
    upcoming = [
        e for e in jc.scheduled.get(user.id, ()) if e.state == "ACTIVATED" and (e.at() or jc.read_at) > jc.read_at
    ]
    return min(upcoming, key=lambda e: e.scheduled_date) if upcoming else None


def _when(event: ScheduledState) -> str:
    at = event.at()
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else event.scheduled_date


def _state_findings(ctx: Context, jc: JumpCloudFacts, jc_user: str, user: JcUser) -> Iterator[Finding]:
    evidence: dict[str, object] = {"jc_user_id": user.id, "state": user.state, "activated": user.activated}
    scheduled = _scheduled_activation(jc, user)
    if user.state == "SUSPENDED" or user.suspended:
        then = ""
        if scheduled is not None:
            then = f" JumpCloud re-activates them on {_when(scheduled)} (Scheduled Activation)."
            evidence = {**evidence, "scheduled_activation": scheduled.scheduled_date}
        yield Finding(
            "JC_USER_SUSPENDED",
            "blocker",
            f"JumpCloud user {jc_user!r} is Suspended: the agent disables the account and the user cannot sign in."
            f"{then} If that is not intended, open Users > the user and choose Activate (restore access): the user "
            "can sign in again with their JumpCloud password, and the agent re-enables the account.",
            subject=jc_user,
            evidence=evidence,
            fix=_jcfix("fix", "jc-activate", "--jc-user", jc_user, "--reactivate-suspended"),
        )
    elif user.state == "STAGED" and scheduled is not None:
        yield Finding(
            "START_DATE_IN_FUTURE",
            "blocker",
            f"JumpCloud user {jc_user!r} is Staged with a Scheduled Activation on {_when(scheduled)}: nothing "
            "reaches the device before then. Wait, or activate now (Users > the user > Activate, or the command).",
            subject=jc_user,
            evidence={**evidence, "scheduled_activation": scheduled.scheduled_date},
            fix=_jcfix("fix", "jc-activate", "--jc-user", jc_user, "--activate-now"),
        )
    elif user.state == "STAGED":
        yield Finding(
            "JC_USER_STAGED",
            "blocker",
            f"JumpCloud user {jc_user!r} is Staged: Staged users get no access to their devices until activated. "
            "Activate the user (Users > the user > Activate).",
            subject=jc_user,
            evidence=evidence,
            fix=_jcfix("fix", "jc-activate", "--jc-user", jc_user),
        )
    if not user.activated:
        yield Finding(
            "NO_INITIAL_PASSWORD",
            "blocker",
            f"JumpCloud user {jc_user!r} has no password yet (Password Pending): the agent does not provision an "
            "account without one. Resend the activation email so the user sets it (Users > the user > Resend "
            "Activation Email), or set an initial password.",
            subject=jc_user,
            evidence=evidence,
            fix=_jcfix("fix", "jc-activate", "--jc-user", jc_user),
        )
    if user.account_locked:
        yield Finding(
            "JC_ACCOUNT_LOCKED",
            "blocker",
            f"JumpCloud user {jc_user!r} is locked out (too many failed sign-ins): they cannot sign in anywhere "
            "until unlocked. Users > the user > Unlock.",
            subject=jc_user,
            evidence={**evidence, "account_locked": True},
            fix=_jcfix("fix", "jc-unlock", "--jc-user", jc_user),
        )


def check(ctx: Context) -> Iterator[Finding]:
    jc = ctx.jc
    if jc is None:
        return
    yield from _device_findings(ctx, jc)
    key = ctx.decided.system_key
    system = jc.systems.get(key) if key else None
    for jc_user in ctx.jc_users:
        user = jc.user(jc_user)
        if user is None:
            near = jc.case_only_matches(jc_user)
            if near:
                names = ", ".join(repr(u.username) for u in near)
                yield Finding(
                    "JC_USER_CASE_ONLY_MATCH",
                    "blocker",
                    f"JumpCloud has no user {jc_user!r}, only {names}: usernames are case-sensitive. Use the exact "
                    "JumpCloud username (Users > the user > Username) in the inventory or --jc-user.",
                    subject=jc_user,
                    evidence={"jc_usernames": [u.username for u in near]},
                )
            else:
                yield Finding(
                    "JC_USER_NOT_FOUND",
                    "blocker",
                    f"JumpCloud has no user {jc_user!r}: create the user (Users > +), or correct the name expected "
                    "on this device.",
                    subject=jc_user,
                    evidence={"jc_username": jc_user},
                )
            continue
        yield from _state_findings(ctx, jc, jc_user, user)
        if system is not None and user.id not in jc.bound.get(system.id, frozenset()):
            yield Finding(
                "NOT_BOUND_TO_DEVICE",
                "blocker",
                f"JumpCloud user {jc_user!r} is not bound to this device ({system.display_name or system.hostname}): "
                "the agent only manages bound users. Bind them: Devices > the device > User Bindings, tick the "
                "user, Save (or through a device group).",
                subject=jc_user,
                evidence={"jc_user_id": user.id, "system_id": system.id},
                # The device's systemKey is its id in the API (jcagent.conf's systemKey, read as /api/systems/{id}).
                fix=_jcfix("fix", "jc-bind", "--jc-user", jc_user, "--system-id", system.id),
            )
        match = ctx.match(jc_user)
        if match.kind == "case" and match.account is not None:
            yield Finding(
                "JC_LOCAL_ACCOUNT_OPTION",
                "info",
                f"Instead of renaming the Windows account, set JumpCloud user {jc_user!r}'s Local User Account to "
                f"{match.account.name!r} (Users > the user > Local User Account): no change on the device.",
                subject=jc_user,
                evidence={"local_username": match.account.name, "system_username": user.system_username},
                fix=_jcfix("fix", "jc-local-account", "--jc-user", jc_user, "--to", match.account.name),
            )
