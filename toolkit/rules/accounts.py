"""Account findings: what on the matched local account makes a takeover partial or a fix risky."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from toolkit.facts import AccountFacts
from toolkit.rules import Context, Finding

# What makes a takeover partial (JumpCloud, "Troubleshoot: User Accounts on Windows"): the finding,
# how to see it in the facts, how to say it, what the admin does, and the jcfix fix that does it.
_PARTIAL_TAKEOVER: tuple[tuple[str, Callable[[AccountFacts], bool], str, str, str], ...] = (
    (
        "MSA_LINKED",
        lambda a: a.principal_source == "MicrosoftAccount",
        "is linked to a Microsoft account",
        " (no password sync). Convert it to a plain local account first.",
        "convert-msa",
    ),
    ("HELLO_PIN_SET", lambda a: a.hello_pin, "has a Windows Hello PIN", ". Remove the PIN first.", "remove-pin"),
    (
        "PICTURE_PASSWORD_SET",
        lambda a: a.picture_password,
        "has a picture password",
        ". Remove it first.",
        "remove-picture-password",
    ),
)


def check(ctx: Context) -> Iterator[Finding]:
    if not ctx.users_known:
        # Nobody said which JumpCloud users to expect: any enabled account may be the one taken over, so
        # each one's blockers are reported (subject None: no JumpCloud user is named), never an all-clear.
        for local in ctx.facts.users:
            if local.enabled:
                yield from _partial_takeover(ctx, local, None)
        return
    for jc_user in ctx.jc_users:
        match = ctx.match(jc_user)
        account = match.account
        if account is None:
            continue
        evidence = {"local_username": account.name, "sid": account.sid}
        yield from _partial_takeover(ctx, account, jc_user)
        if not account.enabled:
            yield Finding(
                "ACCOUNT_DISABLED",
                "warning",
                f"Local account {account.name!r} is disabled; the user cannot sign in until JumpCloud (or an admin) "
                "enables it.",
                subject=jc_user,
                evidence=evidence,
            )


def _partial_takeover(ctx: Context, account: AccountFacts, jc_user: str | None) -> Iterator[Finding]:
    """What on ``account`` makes a takeover partial, each with its fix."""
    evidence = {"local_username": account.name, "sid": account.sid, "principal_source": account.principal_source}
    for code, present, what, remedy, fix in _PARTIAL_TAKEOVER:
        if present(account):
            yield Finding(
                code,
                "blocker",
                f"Local account {account.name!r} {what}: JumpCloud can only partly take it over{remedy}",
                subject=jc_user,
                evidence=dict(evidence),
                fix=ctx.command("fix", fix, "--user", account.name),
            )
