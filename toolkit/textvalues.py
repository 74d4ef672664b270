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


# Characters that can rewrite a terminal line or forge one: C0 controls (newline, carriage return, ESC...),
# DEL, C1 controls (0x9B is an ESC [ of its own), the Unicode line/paragraph separators, and the bidi
# embeddings, overrides and isolates that make text display in a different order than it reads.
_LAYOUT_CONTROLS = frozenset("\u2028\u2029\u200e\u200f\u061c") | frozenset(chr(c) for c in range(0x202A, 0x202F))
_LAYOUT_CONTROLS |= frozenset(chr(c) for c in range(0x2066, 0x206A))


def needs_escape(char: str) -> bool:
    """Whether one character must never reach a terminal or report raw (see :func:`printable`)."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in _LAYOUT_CONTROLS


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control character escaped (``\\n`` → ``\\x0a``, U+202E → ``\\u202e``).

    For values that came from a host or a user: a newline in one can then never start a line of its own,
    and an escape sequence can never recolour or rewrite the terminal. A backslash is left as it is, so
    Windows paths still read naturally; text without such characters comes back unchanged.
    """
    value = str(text)
    if not any(needs_escape(c) for c in value):
        return value
    return "".join(_escape(c) if needs_escape(c) else c for c in value)
