"""How the JumpCloud API stand-in reads queries, as strictly as the published specs describe them.

- v1 list ``filter`` (``User_List``): repeated ``field:$op:value`` (the operator form in the V1 spec's
  ``CommandResult_Search`` example); values compare case-sensitively (the V2 spec's filter trait says so;
  the V1 spec is silent). Only ``$eq`` and ``$ne`` are modelled; any other operator is refused with 400.
- v1 search body ``filter`` (``User_Search``): ``{"and"|"or": [expr, ...]}`` or a list of expressions (the
  spec's sample), each ``{field: value}`` or ``{field: {"$regex": pattern}}`` (what JumpCloud's ADMU sends).
- Paging: ``limit`` (default 10, "Limited to 100") and ``skip``; a bad number is refused with 400.
- Multi-tenant ``x-org-id`` (V1 spec, "Multi-Tenant Portal Headers"): 401 without it for a multi-tenant
  key, 400 malformed, 404 unknown organisation, 403 when sent to a route that does not take it.
- Errors use the spec's ``Error`` shape: ``{code, message, status}``.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

ORG_ID = re.compile(r"^[0-9a-f]{24}$")
# Routes that refuse x-org-id: JumpCloud's PowerShell module drops the header for the organizations
# endpoint (TheJumpCloud/support: PowerShell/JumpCloud Module/Private/NestedFunctions/Invoke-JCApi.ps1).
NO_ORG_HEADER = re.compile(r"^/api/organizations/?$")
V1_OPERATORS = ("$eq", "$ne")


class QueryError(ValueError):
    """A query the API would refuse: ``status`` and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str) -> dict[str, Any]:
    """The spec's ``Error`` object."""
    return {"code": status, "message": message, "status": HTTPStatus(status).phrase}


def _number(query: dict[str, list[str]], name: str, default: int) -> int:
    text = query.get(name, [str(default)])[0]
    try:
        value = int(text)
    except ValueError:
        raise QueryError(400, f"{name} must be an integer") from None
    if value < 0:
        raise QueryError(400, f"{name} must not be negative")
    return value


def window(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
    """One page: ``limit`` (default 10, at most 100) items after ``skip``."""
    limit = min(_number(query, "limit", 10), 100) or 10
    skip = _number(query, "skip", 0)
    return items[skip : skip + limit]


def v1_filtered(items: list[dict[str, Any]], query: dict[str, list[str]]) -> list[dict[str, Any]]:
    """``items`` matching every ``filter=field:$op:value`` of ``query`` (case-sensitive)."""
    kept = items
    for text in query.get("filter", []):
        field_name, _, rest = text.partition(":")
        operator, _, value = rest.partition(":")
        if not field_name or operator not in V1_OPERATORS:
            raise QueryError(400, f"invalid filter {text!r}: expected field:$eq:value")
        if operator == "$eq":
            kept = [i for i in kept if str(i.get(field_name, "")) == value]
        else:
            kept = [i for i in kept if str(i.get(field_name, "")) != value]
    return kept


def _expression_matches(item: dict[str, Any], expression: dict[str, Any]) -> bool:
    for field_name, wanted in expression.items():
        have = item.get(field_name)
        if isinstance(wanted, dict):
            pattern = wanted.get("$regex")
            if not isinstance(pattern, str) or set(wanted) != {"$regex"}:
                raise QueryError(400, f"unsupported filter on {field_name}")
            try:
                if have is None or re.search(pattern, str(have)) is None:
                    return False
            except re.error:
                raise QueryError(400, f"invalid $regex on {field_name}") from None
        elif have != wanted:
            return False
    return True


def search_filtered(items: list[dict[str, Any]], body: dict[str, Any]) -> list[dict[str, Any]]:
    """``items`` matching a search body's ``filter`` (``and`` by default, or ``or``)."""
    spec = body.get("filter")
    if spec is None:
        return items
    if isinstance(spec, list):
        spec = {"and": spec}
    if not isinstance(spec, dict) or not set(spec) <= {"and", "or"}:
        raise QueryError(400, "filter must be {and: [...]} or {or: [...]}")
    kept = items
    if "and" in spec:
        kept = [i for i in kept if all(_expression_matches(i, e) for e in spec["and"])]
    if "or" in spec:
        kept = [i for i in kept if any(_expression_matches(i, e) for e in spec["or"])]
    return kept


def with_fields(item: dict[str, Any], fields: Any) -> dict[str, Any]:
    """Only ``_id`` and the space-separated ``fields`` of ``item`` (all of it without ``fields``)."""
    if not isinstance(fields, str) or not fields.strip():
        return item
    names = {f.strip(" ,") for f in fields.split()} - {""}
    return {k: v for k, v in item.items() if k == "_id" or k in names}


def org_refusal(path: str, org_header: str | None, *, multi_tenant: bool, org_id: str) -> tuple[int, str] | None:
    """Why the API refuses ``x-org-id`` (or its absence) on ``path``, or None when it is fine."""
    if org_header is not None and NO_ORG_HEADER.match(path):
        return 403, "x-org-id is not supported on this route"
    if org_header is None:
        return (401, "x-org-id is required for multi-tenant administrators") if multi_tenant else None
    if not ORG_ID.match(org_header):
        return 400, "malformed x-org-id"
    if org_header != org_id:
        return 404, "organization not found"
    return None
