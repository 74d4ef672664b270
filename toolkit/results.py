"""The result contract: every script emits exactly one JSON document, and Python validates it.

A document (``schema`` 1)::

    {"schema": 1, "action": "list_users", "status": "ok", "changed": false,
     "data": {...}, "findings": [...], "error": null}

Whatever the host sends back — nothing, two documents, text that is not JSON, the wrong shape, a
terminating error, or non-terminating error records beside a valid document — :func:`parse_result`
turns it into a :class:`ResultDocument`; anything off becomes ``status: failed`` carrying the host's
own error text. There is no path to a silent success.

A failure never erases a change: a document that says ``failed`` keeps ``changed`` as the host set it and
its ``data`` (validated when complete, else kept as sent in :attr:`ResultDocument.partial_data`), and error
records beside a valid document keep that document's ``changed`` and ``data`` (issue 10, defect 5).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

# Re-exported: the values are defined once, in toolkit.models.
from toolkit.models import STATUSES as STATUSES
from toolkit.models import ErrorCategory as ErrorCategory
from toolkit.models import Status as Status
from toolkit.textvalues import plural

SCHEMA_VERSION: Final = 1

# The keys every document on the wire carries.
WIRE_KEYS: tuple[str, ...] = ("schema", "action", "status", "changed", "data", "findings", "error")

DataT = TypeVar("DataT", bound=BaseModel)


class ErrorInfo(BaseModel):
    """Why a result failed, in one line an admin can act on."""

    model_config = ConfigDict(extra="allow")

    category: ErrorCategory
    message: str


Severity = Literal["blocker", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"blocker": 0, "warning": 1, "info": 2}


class Finding(BaseModel):
    """Something a script or a diagnosis rule noticed: the one finding model of jcfix.

    Attributes:
        code: stable identifier (``CASE_MISMATCH``...), documented in the README.
        severity: ``blocker`` stops takeover/provisioning; ``warning`` may; ``info`` is context.
        message: one line in the admin's words.
        subject: the JumpCloud username it concerns, or None for host-wide findings.
        evidence: the facts it rests on, as read from the host.
        fix: the exact jcfix command that fixes it, when there is one.

    Built positionally or by keyword (``Finding("CASE_MISMATCH", "blocker", "...", subject="Jonathan")``).
    In a result document on the wire, ``subject`` and ``fix`` appear only when set (scripts send neither);
    :meth:`to_dict` always has every key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    severity: Severity
    message: str
    subject: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    fix: str | None = None

    def __init__(
        self,
        code: str,
        severity: Severity,
        message: str,
        subject: str | None = None,
        evidence: dict[str, Any] | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(
            code=code, severity=severity, message=message, subject=subject, evidence=evidence or {}, fix=fix
        )

    @model_serializer(mode="wrap")
    def _wire(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        for key in ("subject", "fix"):
            if dumped.get(key) is None:
                dumped.pop(key, None)
        return dumped

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (``subject`` and ``fix`` as None when unset)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "subject": self.subject,
            "evidence": copy.deepcopy(self.evidence),
            "fix": self.fix,
        }


class ResultDocument(BaseModel, Generic[DataT]):
    """One script's result, validated; ``data`` is the action's declared model.

    A ``failed`` document keeps what it says: ``changed`` as the host set it (a change, then a failure, is
    ``status: failed, changed: true``), and its ``data`` when that validates. When a script failed midway
    and its ``data`` is only partly filled, ``data`` is None and :attr:`partial_data` holds the host's
    object as sent (``before``, ``after``, ``backups``, ``notes`` are never dropped).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(alias="schema")
    action: str
    status: Status
    changed: bool
    data: DataT | None = None
    findings: list[Finding] = Field(default_factory=list)
    error: ErrorInfo | None = None

    # The host's data of a failed document that did not validate against the model; never read from the wire.
    _partial_data: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def partial_data(self) -> dict[str, Any] | None:
        """A failed document's ``data`` as the host sent it, when it did not validate (else None)."""
        return self._partial_data

    @property
    def changed_then_failed(self) -> bool:
        """Whether the step changed the host and then failed: the change happened, whatever came after."""
        return self.status == "failed" and self.changed

    @property
    def label(self) -> str:
        """The status in words for people: ``failed (changed)`` for a change followed by a failure."""
        return status_label(self.status, self.changed)

    def data_dict(self) -> dict[str, Any] | None:
        """``data`` as JSON-ready data: the validated model, else a failed document's partial data."""
        if self.data is not None:
            return self.data.model_dump(mode="json")
        return self._partial_data

    def backups(self) -> list[str]:
        """The backup records the step reports having written (also from a failed step's partial data)."""
        found = self.data_dict() or {}
        listed = found.get("backups")
        return [str(b) for b in listed] if isinstance(listed, list) else []

    def to_json_dict(self) -> dict[str, Any]:
        """The document as JSON-ready data, with the ``schema`` key spelled as on the wire.

        A failed document's partial data is written as its ``data``, with ``data_partial: true``.
        """
        dumped = self.model_dump(mode="json", by_alias=True)
        if dumped["data"] is None and self._partial_data is not None:
            dumped["data"] = self._partial_data
            dumped["data_partial"] = True
        return dumped


def status_label(status: str, changed: bool) -> str:
    """A status in words: ``failed (changed)`` when a step changed the host and then failed, else the status."""
    return f"{status} (changed)" if status == "failed" and changed else status


@dataclass
class RawOutput:
    """What a transport got back from one script run, before any interpretation."""

    output: list[Any] = field(default_factory=list)
    error_records: list[str] = field(default_factory=list)
    terminating_error: str | None = None


def failed(action: str, category: ErrorCategory, message: str) -> ResultDocument[Any]:
    """A ``failed`` document made on the Python side (transport errors, contract violations)."""
    return ResultDocument[BaseModel](
        schema=SCHEMA_VERSION,
        action=action,
        status="failed",
        changed=False,
        error=ErrorInfo(category=category, message=message),
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
    partial: dict[str, Any] | None = None
    if isinstance(document, dict) and document.get("status") == "failed" and document.get("data") is not None:
        # A script that failed midway may have filled only part of data. It is kept (what was changed, the
        # backups, the notes), but a half-built data must not hide the host's error behind a shape complaint.
        try:
            data_model.model_validate(document["data"], strict=True)
        except ValidationError:
            partial = document["data"] if isinstance(document["data"], dict) else None
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
    result._partial_data = partial
    return result


def _excerpt(text: str, limit: int = 200) -> str:
    """The start of what the host printed, quoted, so a failure shows the host's own words."""
    return repr(text[:limit]) + (f" ... ({len(text)} characters)" if len(text) > limit else "")


def parse_result(action: str, raw: RawOutput, data_model: type[DataT]) -> ResultDocument[DataT]:
    """Turn a script's raw output into a validated document, or a ``failed`` one that says why."""
    if raw.terminating_error is not None:
        return _host_errors(action, raw, data_model, f"the script stopped with an error: {raw.terminating_error}")
    if raw.error_records:
        # pypsrp flags only terminating errors; non-terminating records are failures too.
        wrote = f"the script wrote {plural(len(raw.error_records), 'error')}: "
        return _host_errors(action, raw, data_model, wrote + "; ".join(raw.error_records))
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


def _host_errors(action: str, raw: RawOutput, data_model: type[DataT], message: str) -> ResultDocument[Any]:
    """A failed result for errors the host raised, keeping what a valid document beside them says.

    The document's ``changed`` and ``data`` stay (a change that happened before the error is not undone by
    it). The category is the document's own when it already says ``failed`` (a ``verify_failed`` stays
    ``verify_failed`` when the verification message itself raised), else ``script_failed``.
    """
    plain = failed(action, "script_failed", message)
    if len(raw.output) != 1 or not isinstance(raw.output[0], str):
        return plain
    try:
        document = json.loads(raw.output[0])
    except ValueError:
        return plain
    said = validate_document(action, document, data_model)
    if said.error is not None and said.error.category == "invalid_result":
        return plain  # the document itself broke the contract: the host's error is the story
    error = ErrorInfo(category="script_failed", message=message)
    if said.error is not None:
        error = said.error.model_copy(update={"message": f"{said.error.message}; then: {message}"})
    return said.model_copy(update={"status": "failed", "error": error})


def summarise(results: Sequence[ResultDocument[Any]]) -> dict[str, int]:
    """Counts by status, in the shared status order."""
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] += 1
    return counts
