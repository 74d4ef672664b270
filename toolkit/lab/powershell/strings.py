"""String literals: verbatim (``'...'``, ``@'...'@``) and expandable (``"..."``, ``@"..."@``) text.

Escapes follow about_Special_Characters and about_Quoting_Rules (learn.microsoft.com) and the tokenizer
(``src/System.Management.Automation/engine/parser/tokenizer.cs``): in a verbatim string a doubled single
quote is one quote (PowerShell also accepts U+2018..U+201B as single quotes); in an expandable string the
backtick escapes (`` `n ``, `` `t ``, `` `0 ``, `` `$ ``...) apply and a doubled ``"`` is one quote.
"""

from __future__ import annotations

import re

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
DOUBLE_QUOTES = '"\u201c\u201d\u201e'
_BACKTICK = {"0": "\0", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_DOUBLED_SINGLE = re.compile(f"[{SINGLE_QUOTES}]([{SINGLE_QUOTES}])")


def verbatim(text: str) -> str:
    """The value of ``'...'`` (``text`` includes the quotes)."""
    return _DOUBLED_SINGLE.sub(r"\1", text[1:-1])


def here_body(text: str) -> str:
    """The body of ``@'...'@`` / ``@"..."@``: after the opening line, before the closing line's newline."""
    start = text.index("\n") + 1
    end = text.rindex("\n")
    body = text[start:end] if end >= start else ""
    return body[:-1] if body.endswith("\r") else body


def unescape(text: str, *, here: bool = False) -> str:
    """Backtick escapes and (outside here-strings) doubled double quotes of an expandable segment."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "`" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "u" and i + 2 < n and text[i + 2] == "{":
                end = text.index("}", i)
                out.append(chr(int(text[i + 3 : end], 16)))
                i = end + 1
                continue
            out.append(_BACKTICK.get(nxt, nxt))
            i += 2
            continue
        if not here and c in DOUBLE_QUOTES and i + 1 < n and text[i + 1] in DOUBLE_QUOTES:
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
