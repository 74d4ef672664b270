"""One host's connection for a whole run (:class:`HostChannel`) and its retry policy.

Retry policy (:class:`RetryPolicy`): only ``unreachable`` transport errors are retried (refused,
timed out, dropped, 502/503/504), never a refused password, a protocol fault or a script's own
failure, and never past the host's deadline. A read-only step is simply run again on a fresh
session. A state-changing step that may have run is not re-run blindly: its ``-WhatIf`` check runs
first, and the change is applied again only when the check says it is still needed. A step whose
document came back is never retried, and one that reports ``changed: true`` (even ``failed``) never
runs again.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from toolkit.models import Step
from toolkit.results import ResultDocument, failed
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostSession, HostTarget, TransportError
from toolkit.transport.registry import SessionFactory, open_session

# The transport is the one the settings belong to (toolkit.transport.registry.for_settings).
_default_session_factory: SessionFactory = open_session


@dataclass(frozen=True)
class RetryPolicy:
    """How often a transient (``unreachable``) failure is retried, and the backoff between tries.

    Attributes:
        retries: extra attempts after the first (0: never retry).
        backoff_s: the first wait; each later wait doubles, with up to 25% jitter, capped at ``max_backoff_s``.
        min_time_left_s: no retry starts with less than this left of the host's deadline.
    """

    retries: int = 0
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    min_time_left_s: float = 2.0

    def delay(self, attempt: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * (2.0 ** max(0, attempt - 1)))
        return float(base * (1 + random.uniform(0, 0.25)))


def is_transient(error: TransportError) -> bool:
    """Whether ``error`` may go away by itself: the host could not be reached or stopped answering."""
    return error.category == "unreachable"


class HostChannel:
    """One host's connection for a whole run: one session, reopened only after a transient error.

    :meth:`run` never raises for host trouble: it returns the step's result document. After a
    failure that is not retried the channel is *broken* and later steps return ``failed`` ("not
    run") without touching the host. The host's deadline spans every session the channel opens.
    """

    def __init__(
        self,
        target: HostTarget,
        settings: ConnectionSettings,
        session_factory: SessionFactory = _default_session_factory,
        retry: RetryPolicy | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self.session_factory = session_factory
        self.retry = retry or RetryPolicy()
        self.stop = stop or threading.Event()
        self.expires = time.monotonic() + settings.deadline
        self.session: HostSession | None = None
        self.broken: TransportError | None = None
        self.retries = 0
        self.notes: list[str] = []

    def time_left(self) -> float:
        return self.expires - time.monotonic()

    def _open(self) -> HostSession:
        if self.session is None:
            # A reopened session gets what is left of the host's deadline, not a fresh one.
            settings = replace(self.settings, deadline=max(0.1, self.time_left()))
            session = self.session_factory(self.target, settings)
            self.session = session
            connect = getattr(session, "open", None)
            if connect is not None:
                connect()  # raises TransportError; nothing has run on the host yet
        return self.session

    def _drop_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def _may_retry(self, error: TransportError, attempt: int) -> bool:
        if not is_transient(error) or attempt > self.retry.retries or self.stop.is_set():
            return False
        delay = self.retry.delay(attempt)
        if self.time_left() - delay < self.retry.min_time_left_s:
            return False
        self._drop_session()
        self.retries += 1
        # Interruptible: Ctrl-C ends the wait at once.
        return not self.stop.wait(delay)

    def _attempt(self, step: Step, whatif: bool, timeout: float | None) -> ResultDocument[Any]:
        session = self._open()
        limit = getattr(session, "limit_to", None)
        scope = limit(timeout) if (timeout is not None and limit is not None) else contextlib.nullcontext()
        started = time.monotonic()
        try:
            with scope:
                raw = session.run(step.rendered, whatif=whatif)
        except TransportError:
            if timeout is not None and time.monotonic() - started >= timeout - 0.05 and self.time_left() > 0:
                # The step's own timeout, not the host's deadline: worded so, and not retried (the
                # pipeline may still be running on the host).
                raise StepTimeout(
                    f"{self.target.name}: {step.name}: no answer within its timeout of {timeout:g}s"
                ) from None
            raise
        return step.action.parse(raw)

    def run(self, step: Step, *, timeout: float | None = None) -> ResultDocument[Any]:
        """Run ``step`` (retrying transient failures per the policy); returns its result document."""
        if self.broken is not None:
            return failed(step.action.name, self.broken.category, f"not run: {self.broken.message}")
        attempt = 0
        check_first = False
        while True:
            attempt += 1
            try:
                if check_first:
                    # The apply may have reached the host before the connection broke: ask first.
                    check = self._attempt(step, True, timeout)
                    if check.changed:
                        # A step that reports it changed the host is never run again, whatever its status.
                        self.notes.append(
                            f"{step.name}: the connection broke during the change; its check afterwards reports "
                            "a change already made, so it was not applied again"
                        )
                        return check
                    if check.status != "changed":
                        self.notes.append(
                            f"{step.name}: the connection broke during the change; its check afterwards says "
                            f"{check.status}, so it was not applied again"
                        )
                        return check
                    self.notes.append(f"{step.name}: re-applied after its check showed it still needed")
                    check_first = False
                return self._attempt(step, step.whatif, timeout)
            except StepTimeout as exc:
                self.broken = TransportError("unreachable", str(exc))
                return failed(step.action.name, "unreachable", str(exc))
            except TransportError as exc:
                if self._may_retry(exc, attempt):
                    check_first = check_first or (step.action.changes_state and not step.whatif)
                    continue
                self.broken = exc
                return failed(step.action.name, exc.category, exc.message)

    def close(self) -> None:
        """Close the session, if one is open; never raises."""
        try:
            self._drop_session()
        except Exception:  # closing is best effort; every result is already decided
            self.session = None

    def __enter__(self) -> HostChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class StepTimeout(Exception):
    """A step ran past its own ``timeout``."""
