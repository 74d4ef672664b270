"""Host-wide findings: the JumpCloud agent itself, and what the PowerShell endpoint could read."""

from __future__ import annotations

from collections.abc import Iterator

from toolkit.rules import Context, Finding
from toolkit.textvalues import plural


def check(ctx: Context) -> Iterator[Finding]:
    agent = ctx.facts.agent
    if not agent.installed:
        yield Finding(
            "AGENT_NOT_INSTALLED",
            "blocker",
            "The JumpCloud agent is not installed: nothing will take over or create accounts on this device.",
            evidence={"service": "jumpcloud-agent", "found": False},
        )
    elif agent.service_state != "Running":
        yield Finding(
            "AGENT_NOT_RUNNING",
            "blocker",
            f"The jumpcloud-agent service is {agent.service_state or 'not running'}: bound users are not applied "
            "until it runs. Start the service (services.msc or Start-Service jumpcloud-agent).",
            evidence={"service_state": agent.service_state},
        )
    decided = ctx.decided
    if decided.log_lines:
        yield Finding(
            "AGENT_LOG_ERRORS",
            "warning",
            f"jcagent.log has {plural(len(decided.log_lines), 'recent ERROR/WARN line')}; "
            f"the last: {decided.log_lines[-1]}",
            evidence={"lines": list(decided.log_lines)},
        )
    for note in decided.notes:
        yield Finding("AGENT_FILES_UNREADABLE", "warning", f"Agent files: {note}.", evidence={"note": note})
    if not ctx.facts.elevated:
        # UAC remote restrictions give a local non-RID-500 administrator a filtered token over the network
        # (learn.microsoft.com troubleshoot KB 951016, fact sheet §8): GetOwner/GetOwnerSid may then be denied.
        yield Finding(
            "NOT_ELEVATED",
            "warning",
            "The script ran without an elevated token (UAC remote restrictions filter a local administrator's "
            "token unless LocalAccountTokenFilterPolicy=1, or use the built-in Administrator or a domain admin): "
            "who is signed in may be missing and every fix will refuse to run.",
            evidence={"elevated": False, "sessions_seen": len(ctx.facts.sessions)},
        )
    if not ctx.facts.localaccounts_available:
        yield Finding(
            "LOCALACCOUNTS_UNAVAILABLE",
            "warning",
            "This PowerShell endpoint has no LocalAccounts module (32-bit PowerShell on 64-bit Windows): "
            "accounts were read through WMI, which cannot tell Microsoft-account links apart.",
            evidence={"is_64bit_process": ctx.facts.is_64bit_process, "is_64bit_os": ctx.facts.is_64bit_os},
        )
