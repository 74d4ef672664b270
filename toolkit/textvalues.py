"""Reading values typed by people (flags, environment variables, YAML) the same way everywhere."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_bool(value: Any) -> bool:
    """``True``/``False`` from a bool or one of :data:`TRUE_WORDS`/:data:`FALSE_WORDS` (any case).

    Raises ``ValueError`` for anything else, so a typo is an error rather than a silent ``False``.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def plural(n: int, word: str) -> str:
    """``1 host``, ``2 hosts``: counts read as English, never ``host(s)``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
