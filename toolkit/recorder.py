"""The hook between a fleet run and whatever records it (run history, JSON stream, JUnit, HTML).

A run calls, in this order and from one thread:

* :meth:`RunRecorder.start` once, before the first host starts;
* :meth:`RunRecorder.host_done` once per host, as each host finishes (streamed: a recorder must not
  need the whole fleet in memory) — including hosts that were skipped or never reached;
* :meth:`RunRecorder.finish` once, last, also after Ctrl-C (``interrupted`` says so).

``host_done`` receives the runner's :class:`~toolkit.runner.HostReport`: ``target`` (name, vars),
``status`` (``ok``/``changed``/``pending``/``failed``/``unreachable``/``skipped``), ``reason`` (why a host
was skipped or stopped, else None) and ``results``: one ``(step, ResultDocument)`` per step in order,
where ``step.name`` is the step's display name and ``step.action.name`` the action it ran. A step's
``status`` can be ``failed`` with ``changed`` true: it changed the host, then failed. Every recorder shows
that as "failed (changed)" (:func:`toolkit.results.status_label`), never as a failure that changed nothing.

A recorder that fails must not lose the run: :class:`MultiRecorder` reports a recorder's exception
once on stderr and keeps feeding the others.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

# Host statuses in recap order: one definition, in toolkit.models (re-exported here for the reports).
from toolkit.models import HOST_STATUSES as HOST_STATUSES

if TYPE_CHECKING:
    from toolkit.runner import HostReport



@dataclass(frozen=True)
class RunMeta:
    """What a run is, known before it starts.

    Attributes:
        run_id: unique id of the run (also the history key).
        command: the command line that started it (secrets never appear on it).
        playbook: the playbook's path or shipped name; None for a single-action command.
        user: who ran it (the local OS user).
        started: when it started (timezone-aware).
        check_mode: True when nothing may change (``-WhatIf``).
        hosts: how many hosts the run targets (after ``--limit``).
    """

    run_id: str
    command: str
    playbook: str | None
    user: str
    started: datetime
    check_mode: bool
    hosts: int


@dataclass(frozen=True)
class RunSummary:
    """How a run ended.

    Attributes:
        counts: hosts per status, every key of :data:`HOST_STATUSES` present.
        interrupted: True when Ctrl-C (or a signal) stopped the run early.
        ended: when the run ended (timezone-aware).
        exit_code: the process exit code the run ends with.
        stopped_reason: why new hosts stopped being started (max-fail-percent, interrupt), else None.
    """

    counts: dict[str, int]
    interrupted: bool
    ended: datetime
    exit_code: int
    stopped_reason: str | None = None


class RunRecorder(Protocol):
    """Something that records a run as it happens."""

    def start(self, meta: RunMeta) -> None:
        """The run begins; called once."""
        ...

    def host_done(self, report: HostReport) -> None:
        """One host finished (any status); called once per host, as it finishes."""
        ...

    def finish(self, summary: RunSummary) -> None:
        """The run ended (normally or interrupted); called once, last."""
        ...


class NullRecorder:
    """Records nothing."""

    def start(self, meta: RunMeta) -> None:
        """Nothing to do."""

    def host_done(self, report: HostReport) -> None:
        """Nothing to do."""

    def finish(self, summary: RunSummary) -> None:
        """Nothing to do."""


@dataclass
class MultiRecorder:
    """Fans every call out to several recorders; one recorder's failure does not stop the others."""

    recorders: list[RunRecorder] = field(default_factory=list)
    _broken: set[int] = field(default_factory=set, init=False, repr=False)

    @classmethod
    def of(cls, recorders: Iterable[RunRecorder | None]) -> MultiRecorder:
        """A fan-out over the given recorders, leaving out Nones."""
        return cls([r for r in recorders if r is not None])

    def _each(self, method: str, argument: object) -> None:
        for index, recorder in enumerate(self.recorders):
            if index in self._broken:
                continue
            try:
                getattr(recorder, method)(argument)
            except Exception as exc:  # a broken report must not lose the run or the other reports
                self._broken.add(index)
                print(
                    f"jcfix: {type(recorder).__name__}.{method} failed, it records nothing more: "
                    f"{type(exc).__name__}: {exc}",
                    file=sys.stderr,
                )

    def start(self, meta: RunMeta) -> None:
        """Start every recorder."""
        self._each("start", meta)

    def host_done(self, report: HostReport) -> None:
        """Pass one host's report to every recorder."""
        self._each("host_done", report)

    def finish(self, summary: RunSummary) -> None:
        """Finish every recorder."""
        self._each("finish", summary)
