"""Username rules: what Windows accepts for a local account, and what JumpCloud accepts for a user.

Sources (see ../shared/research/windows-jumpcloud.md §4): Windows, USER_INFO_0 remarks and the
New-LocalUser notes; JumpCloud, "Naming Conventions for Users". Whether JumpCloud allows ``-`` today
is unconfirmed, so it is allowed here and the rename fix never introduces one itself.
"""

from __future__ import annotations

import re

WINDOWS_MAX_LENGTH = 20
WINDOWS_FORBIDDEN = set('"/\\[]:;|=,+*?<>@')
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
    if any(ord(c) < 32 for c in name):
        problems.append("contains control characters")
    if set(name) <= {".", " "}:
        problems.append("is only dots or spaces")
    elif name.endswith("."):
        problems.append("ends with a dot")
    return problems


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
