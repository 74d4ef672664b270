"""The run's report models: a :class:`Step` to run, each host's :class:`HostReport`, and skipped results.

The runner produces these; history, reports, services and the CLI read them. They live here, apart from
the runner, so that readers of reports do not import the scheduling and transport code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

if TYPE_CHECKING:
    from toolkit.actions import Action
    from toolkit.results import ResultDocument
    from toolkit.templates import RenderedScript
    from toolkit.transport.base import HostTarget

# The one definition of the status and error-category values. They are Literal aliases, not Enums, so that
# JSON documents, the history database and reports keep carrying the same plain strings. This module has no
# runtime import of the rest of the toolkit at its top, so that results, transports and exit codes, which
# the report models below build on, can import these names from here without an import cycle.

Status = Literal["ok", "changed", "pending", "skipped", "failed"]
"""A step's result status, as a result document carries it."""
STATUSES: Final[tuple[Status, ...]] = get_args(Status)

# Worst first: a set of step results is as bad as its worst one.
WORST_FIRST: Final[tuple[Status, ...]] = ("failed", "pending", "changed", "ok", "skipped")

HostStatus = Literal["ok", "changed", "pending", "failed", "unreachable", "skipped"]
"""A host's overall status (a step's, plus ``unreachable``), in recap order."""
HOST_STATUSES: Final[tuple[HostStatus, ...]] = get_args(HostStatus)
FAILURE_STATUSES: Final[frozenset[HostStatus]] = frozenset({"failed", "unreachable"})

TransportCategory = Literal[
    "unreachable",  # DNS, refused, connect/read timeout, dropped connection, per-host deadline
    "auth_failed",  # the host refused the credentials
    "protocol",  # a WSMan fault or a PSRP state the client did not expect
    "script_failed",  # the script raised, or wrote error records
]
"""Why a transport could not run a script: the categories a :class:`TransportError` carries."""

ErrorCategory = Literal[
    TransportCategory,
    "invalid_result",  # the script's output broke the result contract
    "invalid_input",  # the script refused its parameters or a precondition, before changing anything
    "verify_failed",  # the change was made, but reading it back does not show the intended state
]
"""Why a result failed: the transport categories, then what went wrong on or with the script."""
ERROR_CATEGORIES: Final[tuple[ErrorCategory, ...]] = get_args(ErrorCategory)


def worst_status(statuses: Iterable[Status]) -> Status:
    """The worst of ``statuses`` (:data:`WORST_FIRST`); ``ok`` when there are none."""
    present = set(statuses)
    return next((s for s in WORST_FIRST if s in present), "ok")


# The host could not be worked with at all, rather than the script saying no.
CONNECTION_CATEGORIES: Final[frozenset[ErrorCategory]] = frozenset({"unreachable", "auth_failed", "protocol"})


@dataclass(frozen=True)
class Step:
    """One action to run on a host, already rendered, in apply or check (``-WhatIf``) mode.

    ``name`` is what reports call the step (a playbook step's name); it defaults to the action's name.
    """

    action: Action
    rendered: RenderedScript
    whatif: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.action.name)


@dataclass
class HostReport:
    """Everything one host produced: a result per planned step, in order.

    ``skipped_reason`` marks a host that was never started (``--max-fail-percent`` reached, Ctrl-C):
    its status is then ``skipped`` and ``reason`` says why.
    """

    target: HostTarget
    results: list[tuple[Step, ResultDocument[Any]]] = field(default_factory=list)
    skipped_reason: str | None = None
    note: str | None = None
    retries: int = 0  # sessions reopened after a transient (unreachable) error
    # Set when the host failed as a whole (worker lost, past the deadline).
    failure_category: ErrorCategory | None = None
    # The diagnosis rules' findings for the result at each position, set by whoever ran the rules over that
    # step's facts (a playbook's diagnose step), so reports and exit codes judge by that same diagnosis.
    diagnoses: dict[int, list[Any]] = field(default_factory=dict)
    batch: int | None = None  # the --serial batch the host belongs to (1: the canary), None without --serial

    @property
    def reason(self) -> str | None:
        """Why the host was skipped or stopped early, else None."""
        return self.skipped_reason or self.note

    @property
    def status(self) -> HostStatus:
        """The host's overall status: ``unreachable`` when it could not be reached, else the worst step."""
        if self.skipped_reason is not None:
            return "skipped"
        if self.failure_category is not None:
            return "unreachable" if self.failure_category == "unreachable" else "failed"
        for _, result in self.results:
            if result.status == "failed" and result.error is not None and result.error.category == "unreachable":
                return "unreachable"
        # A step skipped by its condition does not make the host "skipped": only a host where nothing ran is.
        return worst_status(result.status for _, result in self.results)

    @property
    def changed(self) -> bool:
        """Whether any step changed the host (check-mode steps never do), including steps that failed after."""
        return any(result.changed and not step.whatif for step, result in self.results)

    @property
    def label(self) -> str:
        """The host's status in words: ``failed (changed)`` when something changed before the failure."""
        from toolkit.results import status_label  # at run time only: results imports this module

        return status_label(self.status, self.changed)

    def add_note(self, text: str) -> None:
        """Add one line to the host's note (why it stopped early, what a retry did)."""
        self.note = f"{self.note}; {text}" if self.note else text


SKIPPED_FINDING = "STEP_SKIPPED"


def skipped_result(action: str, reason: str) -> ResultDocument[Any]:
    """A ``skipped`` document made on the Python side; its one ``STEP_SKIPPED`` info finding says why."""
    from pydantic import BaseModel

    from toolkit.results import SCHEMA_VERSION, Finding, ResultDocument  # at run time only: see status_label

    return ResultDocument[BaseModel](
        schema=SCHEMA_VERSION,
        action=action,
        status="skipped",
        changed=False,
        data=None,
        findings=[Finding(code=SKIPPED_FINDING, severity="info", message=reason)],
        error=None,
    )


def skip_reason(result: ResultDocument[Any]) -> str | None:
    """Why a step was skipped (from :func:`skipped_result`), else None."""
    return next((f.message for f in result.findings if f.code == SKIPPED_FINDING), None)
