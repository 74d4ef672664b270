"""Which local account a JumpCloud username would land on, and how.

The agent links by username only, case-sensitively. Windows compares names without case, so
``jonathan`` and ``Jonathan`` are the same account to Windows but not to JumpCloud.
"""

from __future__ import annotations

from collections.abc import Sequence

from toolkit.facts import AccountFacts
from toolkit.naming import space_name_forms
from toolkit.rules import Match


def match_account(users: Sequence[AccountFacts], jc_user: str) -> Match:
    """The best match of ``jc_user`` among ``users``: exact, then case-only, Full Name, spaced name."""
    exact = next((u for u in users if u.name == jc_user), None)
    if exact is not None:
        return Match("exact", exact)
    folded = jc_user.casefold()
    case_only = next((u for u in users if u.name.casefold() == folded), None)
    if case_only is not None:
        also_full = case_only.full_name.casefold() == folded
        return Match("case", case_only, also_full_name=also_full)
    full_name = next((u for u in users if u.full_name and u.full_name.casefold() == folded), None)
    if full_name is not None:
        return Match("full_name", full_name)
    spaced = next((u for u in users if " " in u.name.strip() and folded in space_name_forms(u.name)), None)
    if spaced is not None:
        return Match("space", spaced)
    return Match("none")
