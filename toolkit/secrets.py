"""A string wrapper that never shows its value.

Passwords travel through jcfix as :class:`Secret`. Its ``repr``/``str``/``format`` are ``******``, so a
secret cannot leak through a log line, an exception message, a preview or a report by accident; code
that really needs the value calls :meth:`Secret.reveal` at the last moment (the transport, when it
hands the parameter to pypsrp).
"""

from __future__ import annotations

REDACTED = "******"


class Secret:
    """An opaque secret string; ``str()`` and ``repr()`` are redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret takes a str")
        self._value = value

    def reveal(self) -> str:
        """The real value. Call only where the value leaves jcfix for the host."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the value to disk (multiprocessing, caches): refuse it.
        raise TypeError("Secret values are not picklable")


def redact(value: object) -> object:
    """Replace secrets anywhere inside ``value`` (dicts, lists, tuples) with the redaction marker."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    return value
