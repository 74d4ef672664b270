"""Result documents built by lab simulations, in exactly the shape the real scripts print."""

from __future__ import annotations

from typing import Any

from toolkit.results import SCHEMA_VERSION


def document(
    action: str,
    data: dict[str, Any] | None,
    *,
    status: str = "ok",
    changed: bool = False,
    findings: list[dict[str, Any]] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A schema-1 result document, as ``ConvertTo-JcfixJson`` would print it (before JSON encoding)."""
    return {
        "schema": SCHEMA_VERSION,
        "action": action,
        "status": status,
        "changed": changed,
        "data": data,
        "findings": findings or [],
        "error": error,
    }


def failure(action: str, message: str, category: str = "script_failed") -> dict[str, Any]:
    """What ``Set-JcfixFailure`` records when the script's body throws."""
    return document(action, None, status="failed", error={"category": category, "message": message})
