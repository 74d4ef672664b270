"""Fixes made in JumpCloud rather than on a device: the Local User Account field, activation, and undo.

Each reads the user first, says what it would change (``check``), records what it changes in the run's
journal before changing it, and reads the user back to verify; nothing is assumed to have worked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from toolkit.jumpcloud import api, journal
from toolkit.jumpcloud.client import JumpCloudClient
from toolkit.naming import name_problems
from toolkit.results import Status
from toolkit.secrets import Secret


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


def _view(user: api.JcUser) -> dict[str, Any]:
    return {
        "state": user.state,
        "activated": user.activated,
        "systemUsername": user.system_username,
        "local_name": user.local_name,
    }


def _find_user(users: list[api.JcUser], jc_user: str, outcome: FixOutcome) -> api.JcUser | None:
    """``jc_user`` (exact name) among ``users``, or None with ``outcome`` failed and naming near matches."""
    exact, near = api.find_user(users, jc_user)
    if exact is None:
        hint = f" (did you mean {', '.join(repr(u.username) for u in near)}?)" if near else ""
        outcome.fail("invalid_input", f"no JumpCloud user {jc_user!r}{hint}")
    return exact


def set_local_account(
    client: JumpCloudClient, jc_user: str, local_name: str, *, run_id: str, check: bool
) -> FixOutcome:
    """Set ``jc_user``'s Local User Account (``systemUsername``) to ``local_name``, the exact local username."""
    outcome = FixOutcome("jc-local-account", jc_user, run_id, check)
    problems = name_problems(local_name)
    if problems:
        return outcome.fail("invalid_input", f"{local_name!r} cannot be a Windows account name: {'; '.join(problems)}")
    users = api.list_users(client)
    user = _find_user(users, jc_user, outcome)
    if user is None:
        return outcome
    outcome.before = _view(user)
    if user.system_username == local_name:
        outcome.notes.append(f"the Local User Account is already {local_name!r}")
        outcome.after = outcome.before
        return outcome
    taken = [
        u.username
        for u in users
        if u.id != user.id and local_name.casefold() in {u.username.casefold(), (u.system_username or "").casefold()}
    ]
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
    journal.record(
        run_id,
        {
            "fix": outcome.fix,
            "user_id": user.id,
            "username": user.username,
            "field": "systemUsername",
            "before": user.system_username,
            "after": local_name,
            "undoable": True,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )
    api.update_user(client, user.id, {"systemUsername": local_name})
    after = api.get_user(client, user.id)
    outcome.after = _view(after)
    if after.system_username != local_name:
        return outcome.fail("verify_failed", f"JumpCloud still shows Local User Account {after.system_username!r}")
    outcome.status = "changed"
    outcome.notes.append("the agent applies it at its next check-in: confirm with jcfix verify provisioned")
    return outcome


@dataclass
class _Activation:
    """What activating one user takes, decided cause by cause before anything is changed."""

    activate_state: bool = False  # Staged: activate now
    set_password: bool = False  # no password, and one was given: set it
    send_email: bool = False  # no password, none given: the user sets their own from the activation email


def _staged(client: JumpCloudClient, user: api.JcUser, outcome: FixOutcome, now: datetime, activate_now: bool) -> bool:
    """Cause: Staged. Plans the activation; False (outcome skipped) when a future start date is scheduled and
    ``activate_now`` was not given: the Scheduled Activation will do it. ``outcome.before`` gets the date."""
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


def _no_password(user: api.JcUser, plan: _Activation, outcome: FixOutcome, *, has_password: bool) -> None:
    """Cause: no initial password. Plans setting the given one, else the activation email."""
    if user.activated:
        return
    # In check mode the password is not read yet: ``has_password`` also counts one that was asked for.
    plan.set_password = has_password
    plan.send_email = not has_password
    if plan.set_password:
        outcome.planned.append("set an initial password (from JCFIX_JC_INITIAL_PASSWORD; never shown)")
    else:
        outcome.planned.append("send the activation email: the user sets their own password")


def _journal_activation(run_id: str, user: api.JcUser, outcome: FixOutcome, now: datetime) -> None:
    journal.record(
        run_id,
        {
            "fix": outcome.fix,
            "user_id": user.id,
            "username": user.username,
            "field": "state/password",
            "planned": outcome.planned,
            "undoable": False,
            "note": "JumpCloud cannot return a user to Staged, and a password cannot be unset",
            "at": now.isoformat(timespec="seconds"),
        },
    )


def _apply_activation(client: JumpCloudClient, user: api.JcUser, plan: _Activation, password: Secret | None) -> None:
    if plan.set_password and password is not None:
        api.update_user(client, user.id, {"password": password.reveal()})
    if plan.activate_state:
        # Without a password, activation itself sends the Activation email; with one, a Welcome email.
        api.activate_user(client, user.id, email=True)
    elif plan.send_email:
        api.send_activation_email(client, user.id)


def _verify_activation(client: JumpCloudClient, user: api.JcUser, plan: _Activation, outcome: FixOutcome) -> FixOutcome:
    """Read the user back: each planned change shows, or the outcome fails naming the one that does not."""
    after = api.get_user(client, user.id)
    outcome.after = _view(after)
    if plan.activate_state and after.state != "ACTIVATED":
        return outcome.fail("verify_failed", f"JumpCloud still shows {outcome.jc_user!r} as {after.state}")
    if plan.set_password and not after.activated:
        return outcome.fail("verify_failed", "JumpCloud still shows the password as pending")
    if not after.activated:
        outcome.status = "pending"
        outcome.notes.append("activation email sent: the account reaches the device once the user sets a password")
    else:
        outcome.status = "changed"
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
) -> FixOutcome:
    """Clear the provisioning causes of ``jc_user``: Staged (activate), a future start date (only with
    ``activate_now``), no password (send the activation email, or set ``password``); Suspended is refused."""
    outcome = FixOutcome("jc-activate", jc_user, run_id, check)
    user = _find_user(api.list_users(client), jc_user, outcome)
    if user is None:
        return outcome
    outcome.before = _view(user)
    if user.state == "SUSPENDED" or user.suspended:
        return outcome.fail(
            "invalid_input",
            f"{jc_user!r} is Suspended: someone suspended them on purpose; reactivate them in the console if intended",
        )
    now = datetime.now(timezone.utc)
    plan = _Activation()
    if user.state == "STAGED":
        plan.activate_state = _staged(client, user, outcome, now, activate_now)
        if not plan.activate_state:
            return outcome
    _no_password(user, plan, outcome, has_password=password is not None or wants_password)
    if not outcome.planned:
        outcome.notes.append("already Active with a password")
        outcome.after = outcome.before
        return outcome
    if check:
        outcome.status = "changed"
        return outcome
    _journal_activation(run_id, user, outcome, now)
    if plan.set_password and password is None:
        return outcome.fail("invalid_input", "no initial password was given")
    _apply_activation(client, user, plan, password)
    return _verify_activation(client, user, plan, outcome)


def undo(client: JumpCloudClient, run_id: str, *, check: bool) -> list[FixOutcome]:
    """Restore each Local User Account a run changed, unless it was changed again since."""
    outcomes = []
    for entry in journal.read(run_id)["entries"]:
        outcome = FixOutcome("jc-undo", str(entry.get("username", "")), run_id, check)
        outcomes.append(outcome)
        if not entry.get("undoable"):
            outcome.status = "skipped"
            outcome.notes.append(f"cannot undo {', '.join(entry.get('planned') or [])}: {entry.get('note', '')}")
            continue
        user = api.get_user(client, str(entry["user_id"]))
        outcome.before = _view(user)
        before, after = entry.get("before"), entry.get("after")
        if user.system_username == before:
            outcome.notes.append("already restored")
            continue
        if user.system_username != after:
            outcome.fail(
                "invalid_input",
                f"the Local User Account is now {user.system_username!r}, not {after!r} as this run left it: "
                "changed since, not restored",
            )
            continue
        outcome.planned.append(f"restore the Local User Account from {after!r} to {before or '(empty)'!r}")
        if check:
            outcome.status = "changed"
            continue
        api.update_user(client, user.id, {"systemUsername": before})
        restored = api.get_user(client, user.id)
        outcome.after = _view(restored)
        if restored.system_username != before:
            outcome.fail("verify_failed", f"JumpCloud shows {restored.system_username!r} after the restore")
        else:
            outcome.status = "changed"
    return outcomes
