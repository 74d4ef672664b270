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
    for jc_user in ctx.jc_users:
        match = ctx.match(jc_user)
        account = match.account
        if account is None:
            continue
        evidence = {"local_username": account.name, "sid": account.sid}
        for code, present, what, remedy, fix in _PARTIAL_TAKEOVER:
            if present(account):
                yield Finding(
                    code,
                    "blocker",
                    f"Local account {account.name!r} {what}: JumpCloud can only partly take it over{remedy}",
                    subject=jc_user,
                    evidence={**evidence, "principal_source": account.principal_source},
                    fix=ctx.command("fix", fix, "--user", account.name),
                )
        if not account.enabled:
            yield Finding(
                "ACCOUNT_DISABLED",
                "warning",
                f"Local account {account.name!r} is disabled; the user cannot sign in until JumpCloud (or an admin) "
                "enables it.",
                subject=jc_user,
                evidence=evidence,
            )
