"""The envelope every ``--output json`` prints (toolkit/cli/envelope.py): parsed and its keys checked."""

from __future__ import annotations

import json
import subprocess
from typing import Any

ENVELOPE_KEYS = {"schema", "command", "run_id", "hosts"}


def envelope_of(result: subprocess.CompletedProcess[str], command: str) -> dict[str, Any]:
    """stdout parsed as one JSON document: an envelope of ``command`` (schema 1, a hosts list)."""
    assert result.stdout.strip(), result.stderr
    document = json.loads(result.stdout)
    assert isinstance(document, dict), document
    assert set(document) >= ENVELOPE_KEYS, sorted(document)
    assert document["schema"] == 1 and document["command"] == command
    assert isinstance(document["hosts"], list)
    return document
