"""Per-user verdicts that depend on everything else found: ready, taken over, provisioned, to provision."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from toolkit.rules import Context, Finding

# The Description the agent gives the accounts it creates (TheJumpCloud/jumpcloud-ADMU, see research §0).
AGENT_CREATED_DESCRIPTION = "created by jumpcloud"


def check(ctx: Context, found: Sequence[Finding]) -> Iterator[Finding]:
    agent_blocked = any(f.severity == "blocker" and f.subject is None for f in found)
    # Exact comparison: JumpCloud matches usernames case-sensitively (Troubleshoot page, fact sheet §0);
    # ADMU's own check is case-insensitive (-ieq), so a case-only difference is left to CASE_MISMATCH.
    managed = set(ctx.decided.managed_users)
    for jc_user in ctx.jc_users:
        blocked = agent_blocked or any(f.severity == "blocker" and f.subject == jc_user for f in found)
        match = ctx.match(jc_user)
        account = match.account
        local_name = ctx.local_name(jc_user)  # managedUsers.json lists local names (Local User Account)
        if match.kind == "exact" and account is not None:
            evidence = {"local_username": account.name, "sid": account.sid}
            if local_name in managed:
                yield Finding(
                    "TAKEN_OVER",
                    "info",
                    f"The agent manages {jc_user!r} (listed in managedUsers.json).",
                    subject=jc_user,
                    evidence={**evidence, "managed_users": sorted(managed)},
                )
            if account.description.strip().casefold() == AGENT_CREATED_DESCRIPTION:
                yield Finding(
                    "PROVISIONED",
                    "info",
                    f"The agent created {jc_user!r} on this device (Description 'Created by Jumpcloud').",
                    subject=jc_user,
                    evidence={**evidence, "description": account.description},
                )
            elif not blocked and local_name not in managed:
                yield Finding(
                    "TAKEOVER_READY",
                    "info",
                    f"Local account {account.name!r} matches exactly and nothing blocks a takeover.",
                    subject=jc_user,
                    evidence=evidence,
                )
        elif match.kind == "none":
            yield Finding(
                "PROVISION_EXPECTED",
                "info",
                f"No local account matches {jc_user!r}: the agent will create one at its next sync. If it never "
                "appears, check the user has an initial password and no future start date in JumpCloud.",
                subject=jc_user,
                fix=ctx.command("verify", "provisioned", "--jc-user", jc_user),
            )
