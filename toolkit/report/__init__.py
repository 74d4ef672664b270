"""Run reports: JSON Lines, JUnit XML and a self-contained HTML page, each a streaming recorder.

Every report is a :class:`toolkit.recorder.RunRecorder`: it gets ``start``, one ``host_done`` per host as
the host finishes, and ``finish``. None of them keeps the fleet in memory: JSON Lines writes each host
as it comes, JUnit and HTML spool each host's part to a temporary file and assemble the document at
``finish``, when the counts their headers need are known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportOptions:
    """Where a run's reports and history go (from ``--junit``, ``--html``, ``--history``).

    Attributes:
        junit: write a JUnit XML report here.
        html: write a self-contained HTML report here.
        history: the run-history database (None: ``$JCFIX_HISTORY`` or the user's data directory).
    """

    junit: Path | None = None
    html: Path | None = None
    history: Path | None = None
