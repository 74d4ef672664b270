"""The JumpCloud agent's files, parsed in Python from the raw bytes ``collect_facts`` brings back.

Windows PowerShell 5.1 is a poor place to read them: ``ConvertFrom-Json`` writes a JSON array down the
pipeline as ONE object (PowerShell/PowerShell#3424, fact sheet §8), so two managed users read as one name
``"alice bob"``, and ``Get-Content`` decodes BOM-less files with the ANSI code page. Here every shape is
handled on purpose and tested with real-shaped samples (``tests/facts/data``):

* ``managedUsers.json`` (``<install>\\Plugins\\Contrib``): a JSON array of objects with at least
  ``username`` (fact sheet §5; JumpCloud ADMU ``Test-LocalUsernameExist.ps1``). Other fields are
  UNCONFIRMED and ignored. Also accepted: one object (what PowerShell 5.1's ``@(@{username=..}) |
  ConvertTo-Json`` writes for a one-element array, as ADMU's own tests do) and an object holding the array.
* ``jcagent.conf``: JSON with ``systemKey`` (fact sheet §5; ADMU reads it with a regex, which is the fallback).
* ``jcagent.log`` tail: lines ``YYYY/MM/DD HH:MM:SS [pid] [LEVEL] message`` (fact sheet §5); the ERROR/WARN ones.

Nothing here raises on bad input: what cannot be read becomes a note the rules show (AGENT_FILES_UNREADABLE).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from toolkit.facts import RawFile

# How many ERROR/WARN lines the decided facts keep by default (the old LogLines default).
DEFAULT_LOG_LINES = 20
MAX_LOG_LINES = 500

# Longest first, so a UTF-32 LE BOM (FF FE 00 00) is not taken for a UTF-16 LE one (FF FE).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# ADMU's own pattern for jcagent.conf (DeviceQuery.ps1: 'systemKey["]?:["]?(\w+)'), with JSON's whitespace.
_SYSTEM_KEY = re.compile(r'systemKey"?\s*:\s*"?(\w+)')
# The level field of a jcagent.log line ("[ERROR]", "[WARN]"); WARNING is accepted in case a build spells it so.
_LEVEL = re.compile(r"\[(ERROR|WARN|WARNING)\]", re.IGNORECASE)


@dataclass(frozen=True)
class Decoded:
    """A file's text, or why there is none.

    Attributes:
        text: the decoded text (None when the file is absent, unreadable or not base64).
        notes: what an admin should know about the reading (unreadable, truncated, not UTF-8).
    """

    text: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ManagedUsers:
    """What ``managedUsers.json`` says.

    Attributes:
        usernames: the ``username`` of every entry, in file order, duplicates removed (exact strings: the
            rules decide how to compare).
        read: True when the file was present and parsed; False when absent or unreadable (then the rules must
            not conclude that nobody is managed).
        notes: why it could not be read, or what was odd about it.
    """

    usernames: tuple[str, ...]
    read: bool
    notes: tuple[str, ...] = ()


def raw_bytes(raw: RawFile, label: str) -> tuple[bytes | None, tuple[str, ...]]:
    """The bytes of ``raw``, or None with the reason as a note (absent files have no note)."""
    if not raw.present:
        return None, ()
    if raw.error:
        return None, (f"{label} could not be read: {raw.error}",)
    if raw.base64 is None:
        return None, (f"{label} is present but its content did not come back",)
    try:
        return base64.b64decode(raw.base64, validate=True), ()
    except (binascii.Error, ValueError):
        return None, (f"{label}: the host sent content that is not base64",)


def decode_text(data: bytes, label: str, *, cut: bool = False) -> Decoded:
    """``data`` as text: a BOM decides the encoding (UTF-8, UTF-16, UTF-32); without one, UTF-8.

    BOM-less bytes that are not UTF-8 are read as Windows-1252, with a note: PowerShell 5.1's
    ``Set-Content`` writes the ANSI code page by default (fact sheet §8); which code page a host uses is
    not known here, so a non-Western name may come out wrong (the note says so). ``cut``: the bytes were
    cut by the template's bound, so a broken character at the cut is expected and replaced, not a note.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom) :].decode(encoding, errors="replace"))
    try:
        return Decoded(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        if cut and exc.start >= len(data) - 3:
            # Only the last character was cut in half by the size bound.
            return Decoded(data[: exc.start].decode("utf-8"))
        return Decoded(
            data.decode("cp1252", errors="replace"),
            (f"{label} is not UTF-8 (byte {exc.start}); read as Windows-1252, non-ASCII names may be wrong",),
        )


def read_text(raw: RawFile, label: str) -> Decoded:
    """The decoded text of ``raw``, with every note about getting it."""
    data, notes = raw_bytes(raw, label)
    if data is None:
        return Decoded(None, notes)
    decoded = decode_text(data, label, cut=raw.truncated)
    return Decoded(decoded.text, notes + decoded.notes)


def _entries(document: Any) -> list[Any] | None:
    """The list of user entries in a parsed managedUsers.json, whatever its outer shape; None if none fits."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if _username(document) is not None:
            return [document]  # one object: a one-element array as PowerShell 5.1's ConvertTo-Json writes it
        lists = [v for v in document.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]  # an object holding the array (e.g. {"users": [...]}); the key is UNCONFIRMED
        if not document:
            return []
    return None


def _username(entry: Any) -> str | None:
    """An entry's ``username``; the key is matched without case because ADMU reads it as ``$entry.username``
    (PowerShell property names are case-insensitive), so ADMU accepts what this accepts."""
    if not isinstance(entry, dict):
        return None
    for key, value in entry.items():
        if key.casefold() == "username" and isinstance(value, str) and value.strip():
            return value
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return "true, false or null"
    return "a number"


def _json_error(exc: json.JSONDecodeError, truncated: bool, label: str) -> str:
    if truncated:
        return f"{label} is larger than the 1 MiB read and was cut, so its users are unknown"
    return f"{label} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"


def parse_managed_users(raw: RawFile) -> ManagedUsers:
    """``managedUsers.json`` from its raw bytes (see the module doc for the shapes accepted)."""
    label = "managedUsers.json"
    decoded = read_text(raw, label)
    if decoded.text is None:
        return ManagedUsers((), read=False, notes=decoded.notes)
    notes = list(decoded.notes)
    text = decoded.text.strip().lstrip("\ufeff")  # a second BOM (a file written twice) is whitespace here
    if not text:
        # ADMU skips an empty or whitespace-only file as "no users" (Test-LocalUsernameExist.ps1).
        return ManagedUsers((), read=True, notes=tuple(notes))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return ManagedUsers((), read=False, notes=(*notes, _json_error(exc, raw.truncated, label)))
    entries = _entries(document)
    if entries is None:
        notes.append(f"{label} has an unknown shape ({_json_kind(document)}, not a list of users)")
        return ManagedUsers((), read=False, notes=tuple(notes))
    names: list[str] = []
    skipped = 0
    for entry in entries:
        name = _username(entry)
        if name is None:
            skipped += 1
        elif name not in names:
            names.append(name)
    if skipped:
        notes.append(f"{label}: {skipped} entr{'y' if skipped == 1 else 'ies'} without a username ignored")
    return ManagedUsers(tuple(names), read=True, notes=tuple(notes))


def parse_system_key(raw: RawFile) -> tuple[str | None, tuple[str, ...]]:
    """The agent's ``systemKey`` from ``jcagent.conf`` (None with a note when it has none)."""
    label = "jcagent.conf"
    decoded = read_text(raw, label)
    if decoded.text is None:
        return None, decoded.notes
    key: str | None = None
    try:
        document = json.loads(decoded.text.strip())
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("systemKey"), str):
        key = document["systemKey"].strip() or None
    if key is None:
        # Not JSON, or cut: fall back to ADMU's regex over the text, as ADMU itself reads the file.
        match = _SYSTEM_KEY.search(decoded.text)
        key = match[1] if match else None
    if key is None:
        return None, (*decoded.notes, f"{label} has no systemKey")
    return key, decoded.notes


def _lines(text: str) -> Iterator[str]:
    for line in text.splitlines():
        line = line.strip()
        if line:
            yield line


def parse_log_tail(raw: RawFile, limit: int = DEFAULT_LOG_LINES) -> tuple[list[str], tuple[str, ...]]:
    """The last ``limit`` ERROR/WARN lines of the jcagent.log tail (0 <= limit <= 500).

    The template sends the LAST 256 KiB; when that cut the file (``truncated``), the first line is
    a partial line and is dropped before anything else, so a half line never reads as a log line.
    """
    if not 0 <= limit <= MAX_LOG_LINES:
        raise ValueError(f"limit must be between 0 and {MAX_LOG_LINES}")
    label = "jcagent.log"
    data, notes = raw_bytes(raw, label)
    if data is None or limit == 0:
        return [], notes
    if raw.truncated:
        newline = data.find(b"\n")
        data = data[newline + 1 :] if newline >= 0 else b""
    # The tail is raw bytes from the middle of a file: no BOM to trust, and a bad byte costs one character.
    decoded = decode_text(data, label) if not raw.truncated else Decoded(data.decode("utf-8", errors="replace"))
    matching = [line for line in _lines(decoded.text or "") if _LEVEL.search(line)]
    return matching[-limit:], notes + decoded.notes
