"""Which keys an inventory refuses: secrets anywhere, and unknown keys with the nearest known one.

Used by :mod:`toolkit.inventory` for YAML keys at every level and for CSV header columns.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# Names that hold a secret: such a value must never sit in a file someone shares or commits.
SECRET_KEY = re.compile(
    r"passw(or)?d|(^|_)pass($|_)|secret|api_?key|(^|_)token($|_)|credential|private_?key", re.IGNORECASE
)
SECRET_REASON = "a secret belongs in JCFIX_PASSWORD or the keyring, not in a file"


def refuse_key(key: str, known: Iterable[str], near_only: bool = False, otherwise: str = "") -> str | None:
    """Why ``key`` is refused (a secret; unknown, with the nearest known key), or None when it is accepted.

    ``near_only``: any other key is a variable, so only a near miss of a known key (``adress``) is refused.
    ``otherwise``: the hint when no known key is near (default: the known keys).
    """
    if SECRET_KEY.search(key):
        return SECRET_REASON
    names = sorted(known)
    if key in names:
        return None
    near = difflib.get_close_matches(key, names, n=1, cutoff=0.8 if near_only else 0.6)
    if near_only and not near:
        return None
    hint = f"did you mean {near[0]}?" if near else (otherwise or f"known: {', '.join(names)}")
    return f"unknown key ({hint})"
