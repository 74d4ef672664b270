"""Per-user verdicts that depend on everything else found: ready, taken over, provisioned, to provision.

Whether an account will appear or be taken over is decided once, by :func:`toolkit.rules.outcomes.stopped_by`:
a prediction (``TAKEOVER_READY``, ``PROVISION_EXPECTED``) is never made beside a finding that stops it;
``PROVISION_BLOCKED`` says what stops it instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from toolkit.rules import Context, Finding
from toolkit.rules.outcomes import stopped_by

# The Description the agent gives the accounts it creates (TheJumpCloud/jumpcloud-ADMU, see research §0).
AGENT_CREATED_DESCRIPTION = "created by jumpcloud"


def check(ctx: Context, found: Sequence[Finding]) -> Iterator[Finding]:
    # Exact comparison: JumpCloud matches usernames case-sensitively (Troubleshoot page, fact sheet §0);
    # ADMU's own check is case-insensitive (-ieq), so a case-only difference is left to CASE_MISMATCH.
    managed = set(ctx.decided.managed_users)
    for jc_user in ctx.jc_users:
        stopped = stopped_by(found, jc_user)
        match = ctx.match(jc_user)
        account = match.account
        local_name = ctx.local_name(jc_user)  # managedUsers.json lists local names (Local User Account)
        if match.kind == "exact" and account is not None:
            evidence = {"local_username": account.name, "sid": account.sid}
            if local_name in managed:
                yield Finding(
                    "TAKEN_OVER",
                    "info",
                    f"The agent has taken {jc_user!r} over (listed in managedUsers.json).",
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
            elif not stopped and local_name not in managed:
                # Through WMI a Microsoft-account link cannot be seen: "nothing blocks" is only what was read.
                unread = any(f.code == "LOCALACCOUNTS_UNAVAILABLE" for f in found)
                caveat = " (Microsoft-account links could not be read here)" if unread else ""
                yield Finding(
                    "TAKEOVER_READY",
                    "info",
                    f"Local account {account.name!r} matches exactly and nothing seen blocks a takeover{caveat}.",
                    subject=jc_user,
                    evidence=evidence,
                )
        elif match.kind == "none":
            yield _to_provision(ctx, jc_user, stopped)


def _to_provision(ctx: Context, jc_user: str, stopped: Sequence[Finding]) -> Finding:
    """No local account yet: the agent will create one, or (never both) what stops it."""
    if stopped:
        codes = list(dict.fromkeys(f.code for f in stopped))
        return Finding(
            "PROVISION_BLOCKED",
            "info",
            f"No local account matches {jc_user!r}, and the agent will not create one until "
            f"{'this is' if len(codes) == 1 else 'these are'} fixed: {', '.join(codes)}.",
            subject=jc_user,
            evidence={"blocked_by": codes},
        )
    # Without the JumpCloud API the user's side is unknown: say what to check if the account never comes.
    hint = (
        ""
        if ctx.jc is not None
        else " If it never appears, check the user has an initial password and no future start date in JumpCloud."
    )
    return Finding(
        "PROVISION_EXPECTED",
        "info",
        f"No local account matches {jc_user!r}: the agent will create one at its next sync.{hint}",
        subject=jc_user,
        fix=ctx.command("verify", "provisioned", "--jc-user", jc_user),
    )
