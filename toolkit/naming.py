"""Username rules: what Windows accepts for a local account, and what JumpCloud accepts for a user.

Sources (see ../shared/research/windows-jumpcloud.md §4): Windows, USER_INFO_0 remarks and the
New-LocalUser notes; JumpCloud, "Naming Conventions for Users". Whether JumpCloud allows ``-`` today
is unconfirmed, so it is allowed here and the rename fix never introduces one itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from toolkit.textvalues import needs_escape, printable

WINDOWS_MAX_LENGTH = 20
WINDOWS_FORBIDDEN = set('"/\\[]:;|=,+*?<>@')
# What every local account already satisfies, however it was made: the USER_INFO_0 rules, which the account
# API itself enforces. ``@`` is forbidden only by New-LocalUser's notes, so an account made another way
# (net user, older tools) may carry one, and --user must still reach it; a *new* name gets every rule.
EXISTING_FORBIDDEN = WINDOWS_FORBIDDEN - {"@"}
_JUMPCLOUD_ALLOWED = re.compile(r"^[A-Za-z0-9._-]*$")


def windows_name_problems(name: str) -> list[str]:
    """Why ``name`` cannot be a local Windows username (empty when it can)."""
    problems = []
    if not name:
        return ["is empty"]
    if len(name) > WINDOWS_MAX_LENGTH:
        problems.append(f"is {len(name)} characters long (Windows allows {WINDOWS_MAX_LENGTH})")
    bad = sorted({c for c in name if c in WINDOWS_FORBIDDEN})
    if bad:
        problems.append("contains " + " ".join(bad) + " (Windows forbids them)")
    if has_control(name):
        problems.append("contains control characters")
    if set(name) <= {".", " "}:
        problems.append("is only dots or spaces")
    elif name.endswith("."):
        problems.append("ends with a dot")
    return problems


def has_control(text: str) -> bool:
    """Whether ``text`` holds a character no name may carry: C0/C1 controls, DEL, line/paragraph separators,
    bidi overrides (the characters :func:`toolkit.textvalues.printable` escapes)."""
    return any(needs_escape(c) for c in text)


def existing_name_problems(name: str) -> list[str]:
    """Why ``name`` cannot be the name of any existing local Windows account (empty when it can)."""
    if not name.strip():
        return ["must name an account"]
    problems = []
    if len(name) > WINDOWS_MAX_LENGTH:
        problems.append(f"is {len(name)} characters long (Windows allows {WINDOWS_MAX_LENGTH})")
    bad = sorted({c for c in name if c in EXISTING_FORBIDDEN})
    if bad:
        problems.append("contains " + " ".join(bad) + " (Windows forbids them)")
    if has_control(name):
        problems.append("contains control characters")
    if name.endswith("."):
        problems.append("ends with a dot")
    return problems


def check_existing_name(value: str) -> None:
    """Param validator for a name that must already exist on the host (``--user``): ``ValueError`` if it
    cannot be the name of any local account."""
    _raise(value, existing_name_problems(value))


def check_new_name(value: str) -> None:
    """Param validator for a name jcfix gives an account (``--to``): a valid JumpCloud *and* Windows name."""
    _raise(value, name_problems(value))


# systemuserput / systemuserreturn ``username``: maxLength 1024 (JumpCloud.SDK.V1.json, jcapi-powershell).
JUMPCLOUD_NAME_MAX = 1024


def check_jumpcloud_name(value: str) -> None:
    """Param validator for a JumpCloud username to look for (``jc_users``): not empty, no control characters
    (the rest is what the diagnosis reports on, so it is not refused here)."""
    if not value.strip():
        raise ValueError("must name a JumpCloud user, not be empty")
    if len(value) > JUMPCLOUD_NAME_MAX:
        raise ValueError(f"is longer than a JumpCloud username can be ({JUMPCLOUD_NAME_MAX} characters)")
    if has_control(value):
        _raise(value, ["contains control characters"])


def check_each(check: Callable[[str], None]) -> Callable[[list[str]], None]:
    """A ``string[]`` parameter's validator: ``check`` applied to every value."""

    def check_all(values: list[str]) -> None:
        for value in values:
            check(value)

    return check_all


def _raise(value: str, problems: list[str]) -> None:
    if problems:
        raise ValueError(f"{printable(repr(value))} {'; '.join(problems)}")


def jumpcloud_name_problems(name: str) -> list[str]:
    """Why ``name`` breaks JumpCloud's username rules for a Windows device (empty when it does not)."""
    problems = []
    if not name:
        return ["is empty"]
    if not name[0].isascii() or not name[0].isalpha():
        problems.append("does not start with a letter")
    if " " in name:
        problems.append("contains a space")
    if "@" in name:
        problems.append("contains @")
    if len(name) > WINDOWS_MAX_LENGTH:
        problems.append(f"is longer than {WINDOWS_MAX_LENGTH} characters (the Windows limit)")
    others = sorted({c for c in name if not _JUMPCLOUD_ALLOWED.match(c) and c not in " @"})
    if others:
        problems.append("contains " + " ".join(repr(c) for c in others) + " (only letters, digits, . _ -)")
    return problems


def name_problems(name: str) -> list[str]:
    """Every reason ``name`` cannot be both a JumpCloud username and a Windows local username."""
    seen: list[str] = []
    for problem in jumpcloud_name_problems(name) + windows_name_problems(name):
        if problem not in seen:
            seen.append(problem)
    return seen


def space_name_forms(spaced: str) -> set[str]:
    """JumpCloud-style usernames an admin commonly derives from a name with spaces, lower-cased.

    ``john smith`` → ``johnsmith``, ``john.smith``, ``john_smith``, ``john-smith``, ``jsmith``,
    ``smithj``, ``johns``.
    """
    parts = [p for p in re.split(r"\s+", spaced.strip().lower()) if p]
    if len(parts) < 2:
        return set()
    first, last = parts[0], parts[-1]
    forms = {sep.join(parts) for sep in ("", ".", "_", "-")}
    forms |= {first[0] + last, last + first[0], first + last[0], f"{first[0]}.{last}"}
    return forms
