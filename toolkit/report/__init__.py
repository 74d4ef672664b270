"""Run reports: JSON Lines, JUnit XML and a self-contained HTML page, each a streaming recorder.

Every report is a :class:`toolkit.recorder.RunRecorder`: it gets ``start``, one ``host_done`` per host as
the host finishes, and ``finish``. None of them keeps the fleet in memory: JSON Lines writes each host
as it comes, JUnit and HTML spool each host's part to a temporary file and assemble the document at
``finish``, when the counts their headers need are known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import UsageError


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

    def __post_init__(self) -> None:
        # Refused before anything connects: found at the end of a run, the run's report would be lost.
        for option, path in (("--junit", self.junit), ("--html", self.html)):
            if path is not None:
                check_report_path(option, path)


def check_report_path(option: str, path: Path) -> None:
    """Refuse (``UsageError``) a report path that cannot become a file: a directory, or a folder jcfix can't write.

    A missing folder is fine (the report creates it) as long as its nearest existing ancestor is a writable folder.
    """
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder: give a file name, e.g. {path / 'report'}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: cannot write in {folder}")
