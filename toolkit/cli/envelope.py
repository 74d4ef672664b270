"""The one JSON shape every command's ``--output json`` prints.

A whole-run command prints one document::

    {"schema": 1, "command": "diagnose", "run_id": "...", "hosts": [{"host": "...", ...}, ...], ...}

and a streaming command prints JSON Lines of the same objects (one per host as it finishes, then one
``{"schema": 1, "command": ..., "run_id": ..., "summary": {...}}`` line). Commands that are not about hosts
(``templates``, ``render``, ``lab status``) still use the envelope, with their own key beside ``hosts: []``.
Consumers key on ``schema`` and ``command``; fields are only ever added within one schema number.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

ENVELOPE_SCHEMA = 1


def envelope(
    command: str,
    hosts: Sequence[Mapping[str, Any]] = (),
    *,
    run_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The document for ``command``: ``hosts`` (one object per host) and any command-specific ``extra`` keys."""
    return {"schema": ENVELOPE_SCHEMA, "command": command, "run_id": run_id, "hosts": list(hosts), **extra}


def write_document(document: Mapping[str, Any], stream: IO[str] | None = None) -> None:
    """Print ``document`` as indented JSON followed by a newline (stdout by default)."""
    out = stream or sys.stdout
    json.dump(document, out, indent=2, default=str)
    out.write("\n")


def write_line(obj: Mapping[str, Any], stream: IO[str] | None = None) -> None:
    """Print ``obj`` as one JSON Lines record and flush, for streaming commands."""
    out = stream or sys.stdout
    out.write(json.dumps(obj, default=str, separators=(",", ":")) + "\n")
    out.flush()
