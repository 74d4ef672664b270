"""A host's channel that knows what it has done so far, for runs that may be stopped while hosts are running.

:class:`LiveChannel` is the :class:`~toolkit.transport.channel.HostChannel` fleet runs use. It keeps each
step's result as it comes back and the step on the wire, so a host the run stops waiting for (a second
signal, or the grace period after SIGTERM running out) is still recorded with what is known: the steps
that ended, the step that was running (``failed``, and ``changed`` when it was a change that had been
sent: it may have been made), and the rest ``skipped``. It also does not retry a host that hung
(:class:`~toolkit.transport.errors.HostHung`) unless asked to: each try would cost a whole read timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from toolkit.models import HostReport, Step, skipped_result
from toolkit.results import ResultDocument, failed
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget, TransportError
from toolkit.transport.channel import HostChannel, RetryPolicy, _default_session_factory
from toolkit.transport.errors import HostHung
from toolkit.transport.registry import SessionFactory

ABANDONED = "stopped while running: the step may or may not have completed"
ABANDONED_CHANGE = "stopped while its change was running: the change may have been made"


class LiveChannel(HostChannel):
    """A :class:`HostChannel` that records its steps as they run (see the module doc).

    Args:
        retry_hung: retry a host that accepted the connection and then stopped answering (default: no).
    """

    def __init__(
        self,
        target: HostTarget,
        settings: ConnectionSettings,
        session_factory: SessionFactory = _default_session_factory,
        retry: RetryPolicy | None = None,
        stop: threading.Event | None = None,
        *,
        retry_hung: bool = False,
    ) -> None:
        super().__init__(target, settings, session_factory, retry, stop)
        self.retry_hung = retry_hung
        self.done: list[tuple[Step, ResultDocument[Any]]] = []
        self.in_flight: Step | None = None

    def _may_retry(self, error: TransportError, attempt: int) -> bool:
        # Decided from the error's kind, never its text: a refused or reset connection stays transient.
        if isinstance(error, HostHung) and not self.retry_hung:
            return False
        return super()._may_retry(error, attempt)

    def run(self, step: Step, *, timeout: float | None = None) -> ResultDocument[Any]:
        """Run ``step`` as :meth:`HostChannel.run` does, remembering it while it runs and its result after."""
        self.in_flight = step
        result = super().run(step, timeout=timeout)
        self.done.append((step, result))
        self.in_flight = None
        return result

    def partial_report(self, planned: Iterable[Step], reason: str) -> HostReport:
        """The host as known now, for a run that stops waiting for it.

        The steps that ended keep their results; the running one is ``failed`` (and ``changed`` when it
        was a change sent to the host); the planned steps after them are ``skipped`` with ``reason``.
        """
        done, running = list(self.done), self.in_flight  # the worker may still append: read once
        report = HostReport(self.target, results=done, retries=self.retries)
        what = "between two steps"
        if running is not None:
            sent_change = running.action.changes_state and not running.whatif
            what = ABANDONED_CHANGE if sent_change else ABANDONED
            result = failed(running.action.name, "script_failed", what)
            report.results.append((running, result.model_copy(update={"changed": sent_change})))
        for step in list(planned)[len(report.results) :]:
            report.results.append((step, skipped_result(step.action.name, reason)))
        report.add_note(f"{reason}: {what}")
        return report
