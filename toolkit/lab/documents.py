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


def failure(
    action: str,
    message: str,
    category: str = "script_failed",
    *,
    data: dict[str, Any] | None = None,
    changed: bool = False,
) -> dict[str, Any]:
    """What ``Set-JcfixFailure`` records when the script's body throws.

    ``data`` and ``changed`` stay as the body left them (a change followed by a failure reads "changed,
    then failed" with its before/after/backups/notes); ``data`` is None when the body failed before
    setting it.
    """
    return document(action, data, status="failed", changed=changed, error={"category": category, "message": message})
