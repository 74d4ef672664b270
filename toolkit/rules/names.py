"""Username findings: invalid JumpCloud names and the near-misses that make the agent miss an account."""

from __future__ import annotations

from collections.abc import Iterator

from toolkit.facts import AccountFacts
from toolkit.naming import name_problems
from toolkit.rules import Context, Finding, Match


def check(ctx: Context) -> Iterator[Finding]:
    """Each JumpCloud user's invalid name or near-miss local account, then spaced names no user claims."""
    claimed: set[str] = set()
    for jc_user in ctx.jc_users:
        invalid = _invalid_name(ctx, jc_user)
        if invalid is not None:
            yield invalid
        match = ctx.match(jc_user)
        if match.account is not None:
            claimed.add(match.account.name)
        near_miss = _near_miss(ctx, jc_user, match)
        if near_miss is not None:
            yield near_miss
    for account in ctx.facts.users:
        if " " in account.name and account.name not in claimed:
            yield _unclaimed_space(ctx, account)


def _unclaimed_space(ctx: Context, account: AccountFacts) -> Finding:
    """A spaced username no expected user claims: context, or a blocker when nobody said whom to expect."""
    # With no expected users, an enabled spaced account may be exactly the one a JumpCloud user is meant
    # to take over; the JumpCloud username is unknown, so the message says how to rename, not to what.
    blocker = not ctx.users_known and account.enabled
    return Finding(
        "USERNAME_HAS_SPACE",
        "blocker" if blocker else "info",
        f"Local account {account.name!r} has a space in its username; JumpCloud could not take it over"
        + (": rename it to the JumpCloud username meant for it (jcfix fix rename), or give -j." if blocker else "."),
        evidence={"local_username": account.name, "sid": account.sid},
    )


def _invalid_name(ctx: Context, jc_user: str) -> Finding | None:
    """A blocker when the account name the agent would create is not a valid Windows name."""
    # The agent creates the Local User Account name when JumpCloud has one, else the username.
    problems = name_problems(ctx.local_name(jc_user))
    if not problems:
        return None
    return Finding(
        "JC_USERNAME_INVALID",
        "blocker",
        f"JumpCloud username {jc_user!r} cannot be a Windows account name: {'; '.join(problems)}. "
        "Change it in the JumpCloud console.",
        subject=jc_user,
        evidence={"problems": problems},
    )


def _near_miss(ctx: Context, jc_user: str, match: Match) -> Finding | None:
    """A blocker when a local account nearly matches ``jc_user`` (case, Full Name, space), else None."""
    account = match.account
    if account is None or match.kind not in ("case", "full_name", "space"):
        return None
    fix = ctx.command("fix", "rename", "--user", account.name, "--to", ctx.local_name(jc_user))
    if match.kind == "case":
        note = " (its Full Name matches too, which does not count)" if match.also_full_name else ""
        return Finding(
            "CASE_MISMATCH",
            "blocker",
            f"Local account {account.name!r} differs from JumpCloud user {jc_user!r} only in letter case{note}; "
            "the agent matches case-sensitively and will not take it over.",
            subject=jc_user,
            evidence={"local_username": account.name, "jc_username": jc_user, "sid": account.sid},
            fix=fix,
        )
    if match.kind == "full_name":
        return Finding(
            "FULLNAME_ONLY_MATCH",
            "blocker",
            f"JumpCloud user {jc_user!r} matches the Full Name of local account {account.name!r}, not its "
            "username: JumpCloud links by username only and would create a second account.",
            subject=jc_user,
            evidence={"local_username": account.name, "full_name": account.full_name, "sid": account.sid},
            fix=fix,
        )
    return Finding(
        "USERNAME_HAS_SPACE",
        "blocker",
        f"Local account {account.name!r} looks like JumpCloud user {jc_user!r} but has a space in its "
        "username, which JumpCloud cannot take over: rename it.",
        subject=jc_user,
        evidence={"local_username": account.name, "sid": account.sid},
        fix=fix,
    )
