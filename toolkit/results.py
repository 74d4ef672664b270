"""The result contract: every script emits exactly one JSON document, and Python validates it.

A document (``schema`` 1)::

    {"schema": 1, "action": "list_users", "status": "ok", "changed": false,
     "data": {...}, "findings": [...], "error": null}

Whatever the host sends back — nothing, two documents, text that is not JSON, the wrong shape, a
terminating error, or non-terminating error records beside a valid document — :func:`parse_result`
turns it into a :class:`ResultDocument`; anything off becomes ``status: failed`` carrying the host's
own error text. There is no path to a silent success.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 1

Status = Literal["ok", "changed", "pending", "skipped", "failed"]
STATUSES: tuple[str, ...] = ("ok", "changed", "pending", "skipped", "failed")

# Why a result failed. Transport classes first, then what went wrong on or with the script.
ErrorCategory = Literal[
    "unreachable",  # DNS, refused, connect/read timeout, dropped connection, per-host deadline
    "auth_failed",  # the host refused the credentials
    "protocol",  # a WSMan fault or a PSRP state the client did not expect
    "script_failed",  # the script raised, or wrote error records
    "invalid_result",  # the script's output broke the result contract
    "invalid_input",  # the script refused its parameters or a precondition, before changing anything
    "verify_failed",  # the change was made, but reading it back does not show the intended state
]

# The keys every document on the wire carries.
WIRE_KEYS: tuple[str, ...] = ("schema", "action", "status", "changed", "data", "findings", "error")

DataT = TypeVar("DataT", bound=BaseModel)


class ErrorInfo(BaseModel):
    """Why a result failed, in one line an admin can act on."""

    model_config = ConfigDict(extra="allow")

    category: ErrorCategory
    message: str


class Finding(BaseModel):
    """Something a script or a rule noticed; rules in Python add most of them."""

    model_config = ConfigDict(extra="forbid")

    code: str
    severity: Literal["blocker", "warning", "info"]
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class ResultDocument(BaseModel, Generic[DataT]):
    """One script's result, validated; ``data`` is the action's declared model (None when failed)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(alias="schema")
    action: str
    status: Status
    changed: bool
    data: DataT | None = None
    findings: list[Finding] = Field(default_factory=list)
    error: ErrorInfo | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The document as JSON-ready data, with the ``schema`` key spelled as on the wire."""
        return self.model_dump(mode="json", by_alias=True)


@dataclass
class RawOutput:
    """What a transport got back from one script run, before any interpretation."""

    output: list[Any] = field(default_factory=list)
    error_records: list[str] = field(default_factory=list)
    terminating_error: str | None = None


def failed(action: str, category: str, message: str) -> ResultDocument[Any]:
    """A ``failed`` document made on the Python side (transport errors, contract violations)."""
    return ResultDocument[BaseModel](
        schema=SCHEMA_VERSION,
        action=action,
        status="failed",
        changed=False,
        error=ErrorInfo(category=category, message=message),  # type: ignore[arg-type]
    )


def _summarise_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(document)"
        parts.append(f"{loc}: {err['msg']}")
    more = len(exc.errors()) - 5
    if more > 0:
        parts.append(f"... {more} more")
    return "; ".join(parts)


def validate_document(action: str, document: Any, data_model: type[DataT]) -> ResultDocument[DataT]:
    """Validate one decoded JSON document against the contract and the action's data model."""
    if isinstance(document, dict):
        # On the wire every key is present (New-JcfixResult writes them all); defaults are for Python only.
        missing = [key for key in WIRE_KEYS if key not in document]
        if missing:
            return failed(action, "invalid_result", f"result document lacks {', '.join(missing)}")
        if document.get("status") == "failed":
            # A script that failed midway may have filled part of data: a failed result carries none, and
            # a half-built data must not hide the host's error behind a shape complaint.
            document = {**document, "data": None}
    try:
        # strict: the document is JSON, so no coercion ("false" is not a bool, 1 is not true).
        result = ResultDocument[data_model].model_validate(document, strict=True)  # type: ignore[valid-type]
    except ValidationError as exc:
        return failed(action, "invalid_result", f"result document has the wrong shape: {_summarise_validation(exc)}")
    if result.action != action:
        return failed(action, "invalid_result", f"result document is for action {result.action!r}, not {action!r}")
    if result.status == "failed" and result.error is None:
        return failed(action, "invalid_result", "result document says failed but carries no error")
    if result.status != "failed" and result.error is not None:
        return failed(
            action,
            "invalid_result",
            f"result document says {result.status} but carries an error: {result.error.message}",
        )
    if result.status != "failed" and result.data is None:
        return failed(action, "invalid_result", f"result document says {result.status} but carries no data")
    return result


def _excerpt(text: str, limit: int = 200) -> str:
    """The start of what the host printed, quoted, so a failure shows the host's own words."""
    return repr(text[:limit]) + (f" ... ({len(text)} characters)" if len(text) > limit else "")


def parse_result(action: str, raw: RawOutput, data_model: type[DataT]) -> ResultDocument[DataT]:
    """Turn a script's raw output into a validated document, or a ``failed`` one that says why."""
    if raw.terminating_error is not None:
        return failed(action, "script_failed", raw.terminating_error)
    if raw.error_records:
        # pypsrp flags only terminating errors; non-terminating records are failures too.
        return failed(action, "script_failed", "; ".join(raw.error_records))
    if len(raw.output) != 1:
        what = "no result document" if not raw.output else f"{len(raw.output)} output objects, expected 1"
        return failed(action, "invalid_result", f"script returned {what}")
    (text,) = raw.output
    if not isinstance(text, str):
        return failed(action, "invalid_result", f"script returned a {type(text).__name__}, expected JSON text")
    try:
        document = json.loads(text)
    except ValueError as exc:
        return failed(action, "invalid_result", f"script returned invalid JSON ({exc}): {_excerpt(text)}")
    return validate_document(action, document, data_model)


def summarise(results: Sequence[ResultDocument[Any]]) -> dict[str, int]:
    """Counts by status, in the shared status order."""
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] += 1
    return counts
