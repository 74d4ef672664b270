"""Account findings: what on the matched local account makes a takeover partial or a fix risky."""

from __future__ import annotations

from collections.abc import Iterator

from toolkit.rules import Context, Finding


def check(ctx: Context) -> Iterator[Finding]:
    for jc_user in ctx.jc_users:
        match = ctx.match(jc_user)
        account = match.account
        if account is None:
            continue
        evidence = {"local_username": account.name, "sid": account.sid}
        if account.principal_source == "MicrosoftAccount":
            yield Finding(
                "MSA_LINKED",
                "blocker",
                f"Local account {account.name!r} is linked to a Microsoft account: JumpCloud can only partly take it "
                "over (no password sync). Convert it to a plain local account first.",
                subject=jc_user,
                evidence={**evidence, "principal_source": account.principal_source},
                fix=ctx.command("fix", "convert-msa", "--user", account.name),
            )
        if account.hello_pin:
            yield Finding(
                "HELLO_PIN_SET",
                "blocker",
                f"Local account {account.name!r} has a Windows Hello PIN: JumpCloud can only partly take it over. "
                "Remove the PIN first.",
                subject=jc_user,
                evidence=evidence,
                fix=ctx.command("fix", "remove-pin", "--user", account.name),
            )
        if account.picture_password:
            yield Finding(
                "PICTURE_PASSWORD_SET",
                "blocker",
                f"Local account {account.name!r} has a picture password: JumpCloud can only partly take it over. "
                "Remove it first.",
                subject=jc_user,
                evidence=evidence,
                fix=ctx.command("fix", "remove-picture-password", "--user", account.name),
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
        if ctx.signed_in(account):
            yield Finding(
                "USER_SIGNED_IN",
                "info",
                f"{account.name!r} is signed in (or its profile is loaded): fixes that rename or unlink the account "
                "wait until the user signs out, unless forced.",
                subject=jc_user,
                evidence={**evidence, "profile_loaded": account.profile_loaded},
            )
