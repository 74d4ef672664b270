"""Who is signed in, decided in Python from the raw session facts ``collect_facts`` returns.

The host reports the owner of every process in an interactive session (``SessionId > 0``):
``Win32_Process.GetOwnerSid`` and ``GetOwner`` per process. Signed in means: a user SID owns a process in
such a session. Names are never compared: ``CORP\\jonathan`` or ``AzureAD\\jonathan`` signed in does not
make the local account ``jonathan`` signed in (issue 10, defect 9); and any shell counts, not only
``explorer.exe``.

"Profile loaded" (``Win32_UserProfile.Loaded``) is a different fact: a hive can stay loaded after sign-out
(a service or a scheduled task holding it). The rules report it as its own ``PROFILE_LOADED`` finding,
never as signed in (see :func:`check`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from toolkit.facts import SessionFact
from toolkit.rules import Context, Finding

# User SIDs: S-1-5-21-<domain or machine>-<RID> (local and domain accounts) and S-1-12-1-... (Azure AD /
# Entra ID accounts). Well-known SIDs (learn.microsoft.com/windows-server/identity/ad-ds/manage/understand-
# security-identifiers): S-1-5-18 SYSTEM, -19 LOCAL SERVICE, -20 NETWORK SERVICE; S-1-5-90-0-<n> is
# "Window Manager\DWM-<n>" and S-1-5-96-0-<n> "Font Driver Host\UMFD-<n>", which own processes in every
# interactive session. None of those is a person, and none matches these patterns.
_USER_SID = re.compile(r"^S-1-(5-21|12-1)(-\d+){4}$", re.IGNORECASE)


def is_user_sid(sid: str | None) -> bool:
    """Whether ``sid`` is a person's account (local, domain or Azure AD), not a service or system identity."""
    return sid is not None and _USER_SID.match(sid.strip()) is not None


def normal_sid(sid: str) -> str:
    """A SID in one spelling for comparison (SIDs compare without case: ``s-1-5-...`` is ``S-1-5-...``)."""
    return sid.strip().upper()


def signed_in_sids(sessions: Iterable[SessionFact]) -> frozenset[str]:
    """The SIDs (normalised) that own a process in an interactive session."""
    return frozenset(
        normal_sid(s.sid) for s in sessions if s.session_id > 0 and s.sid is not None and is_user_sid(s.sid)
    )


def signed_in_people(sessions: Iterable[SessionFact]) -> list[dict[str, object]]:
    """Each signed-in SID once, with how the host named it and its sessions: evidence for reports."""
    named: dict[str, tuple[str | None, str | None]] = {}
    session_ids: dict[str, list[int]] = {}
    for s in sessions:
        if s.session_id <= 0 or s.sid is None or not is_user_sid(s.sid):
            continue
        sid = normal_sid(s.sid)
        named.setdefault(sid, (s.domain, s.user))
        ids = session_ids.setdefault(sid, [])
        if s.session_id not in ids:
            ids.append(s.session_id)
    return [
        {"sid": sid, "domain": named[sid][0], "user": named[sid][1], "sessions": session_ids[sid]}
        for sid in sorted(named)
    ]


def same_name_others(ctx: Context, name: str, sid: str) -> list[str]:
    """``DOMAIN\\user`` of signed-in accounts named like ``name`` but with another SID (for the message)."""
    folded = name.casefold()
    return [
        f"{p['domain']}\\{p['user']}"
        for p in ctx.decided.signed_in
        if str(p["user"] or "").casefold() == folded and p["sid"] != normal_sid(sid)
    ]


def check(ctx: Context) -> Iterator[Finding]:
    """USER_SIGNED_IN (its SID owns an interactive process) and PROFILE_LOADED (only the hive is loaded)."""
    for jc_user in ctx.jc_users:
        account = ctx.match(jc_user).account
        if account is None:
            continue
        evidence = {"local_username": account.name, "sid": account.sid, "profile_loaded": account.profile_loaded}
        others = same_name_others(ctx, account.name, account.sid)
        if others:
            evidence["same_name_signed_in"] = others
        if ctx.signed_in(account):
            yield Finding(
                "USER_SIGNED_IN",
                "info",
                f"{account.name!r} is signed in (its SID owns a process in an interactive session): fixes that "
                "rename or unlink the account wait until the user signs out, unless forced.",
                subject=jc_user,
                evidence=evidence,
            )
        elif account.profile_loaded:
            yield Finding(
                "PROFILE_LOADED",
                "info",
                f"{account.name!r} is not signed in, but its profile is still loaded (Win32_UserProfile.Loaded): "
                "a service, a scheduled task or a sign-out in progress holds it. This is not a sign-in; a fix "
                "may still find files of that profile in use.",
                subject=jc_user,
                evidence=evidence,
            )
        elif others:
            yield Finding(
                "SAME_NAME_SIGNED_IN",
                "info",
                f"{', '.join(others)} is signed in: another account (another SID) with the same short name as "
                f"local {account.name!r}, which is not signed in.",
                subject=jc_user,
                evidence=evidence,
            )
