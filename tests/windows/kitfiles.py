"""Reading what setup-host.ps1 wrote, whatever wrote it to disk.

In Windows PowerShell 5.1 ``>`` writes UTF-16 LE with a BOM, ``Set-Content -Encoding UTF8`` UTF-8 with a
BOM, and the kit's own files are UTF-8 without one; the console host may also put warning lines before
the summary, so the summary is the last line that is a JSON object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_text(path: str | Path) -> str:
    """A text file as PowerShell 5.1 may have written it (UTF-16 with a BOM, or UTF-8 with or without one)."""
    data = Path(path).read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def read_summary(path: str | Path) -> dict[str, Any]:
    """setup-host.ps1's JSON summary: the last line of the file that parses as a JSON object."""
    for line in reversed(read_text(path).splitlines()):
        if line.strip().startswith("{"):
            return dict(json.loads(line))
    raise ValueError(f"{path}: no JSON summary line (did setup-host.ps1 -Setup fail?)")
