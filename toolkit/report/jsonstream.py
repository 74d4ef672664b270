"""``--output json`` for fleet runs: JSON Lines, one object per host and step, written as hosts finish.

Every line is one JSON object with a ``type``:

* ``run``: first line: ``run_id``, ``command``, ``playbook``, ``user``, ``started``, ``check_mode``, ``hosts``;
* ``step``: one per host and step: ``host``, ``step``, ``action``, ``position``, ``whatif``, ``status``,
  ``changed`` (as the host said: ``failed`` with ``changed: true`` is a change, then a failure), ``label``
  (``failed (changed)`` for that case, else the status), ``error`` (``{category, message}`` or null),
  ``findings`` and ``result`` (the validated result document; a failed step's partial data is its ``data``,
  with ``data_partial: true``);
* ``host``: after a host's steps: ``host``, ``status`` (the host's overall status), ``changed`` (some step
  changed it), ``label`` and ``reason`` (why it was skipped or stopped early). A host that ran no step
  (skipped, never started) still gets this line, so every host of the run appears in the stream;
* ``summary``: last line: ``counts`` per status, ``changed_then_failed`` (failed hosts that had changed
  first), ``interrupted``, ``exit_code``, ``stopped_reason``, ``ended``.

Each host's lines are flushed together when it finishes, so a reader (``jq``, a CI log) sees progress live.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from toolkit.models import HostReport
from toolkit.recorder import RunMeta, RunSummary
from toolkit.report.view import (
    FindingsFor,
    changed_then_failed,
    default_findings,
    host_changed,
    host_label,
    host_reason,
    step_views,
)

JSONL_SCHEMA = 1


class JsonLinesRecorder:
    """Writes a run to ``stream`` as JSON Lines (see the module doc for each line's shape).

    Args:
        stream: where to write (``sys.stdout`` for ``--output json``); flushed after each host.
        findings_for: the diagnosis over a host's facts (default: the rules, with the inventory's users).
    """

    def __init__(self, stream: TextIO, findings_for: FindingsFor = default_findings) -> None:
        self.stream = stream
        self.findings_for = findings_for
        self.run_id: str | None = None
        self.changed_then_failed = 0

    def _write(self, line: dict[str, Any]) -> None:
        self.stream.write(json.dumps(line, default=str, separators=(",", ":")) + "\n")

    def start(self, meta: RunMeta) -> None:
        """Write the ``run`` line."""
        self.run_id = meta.run_id
        self._write(
            {
                "type": "run",
                "schema": JSONL_SCHEMA,
                "run_id": meta.run_id,
                "command": meta.command,
                "playbook": meta.playbook,
                "user": meta.user,
                "started": meta.started.isoformat(),
                "check_mode": meta.check_mode,
                "hosts": meta.hosts,
            }
        )
        self.stream.flush()

    def host_done(self, report: HostReport) -> None:
        """Write one ``step`` line per step of the host, then its ``host`` line."""
        host = report.target.name
        for view in step_views(report, self.findings_for):
            error = {"category": view.error_category, "message": view.error_message} if view.error_category else None
            self._write(
                {
                    "type": "step",
                    "run_id": self.run_id,
                    "host": host,
                    "step": view.name,
                    "action": view.action,
                    "position": view.position,
                    "whatif": view.whatif,
                    "status": view.status,
                    "changed": view.changed,
                    "label": view.label,
                    "error": error,
                    "findings": [f.to_dict() for f in view.findings],
                    "result": view.document,
                }
            )
        self._write(
            {
                "type": "host",
                "run_id": self.run_id,
                "host": host,
                "status": report.status,
                "changed": host_changed(report),
                "label": host_label(report),
                "reason": host_reason(report),
            }
        )
        self.changed_then_failed += changed_then_failed(report)
        self.stream.flush()

    def finish(self, summary: RunSummary) -> None:
        """Write the ``summary`` line."""
        self._write(
            {
                "type": "summary",
                "run_id": self.run_id,
                "counts": summary.counts,
                "changed_then_failed": self.changed_then_failed,
                "interrupted": summary.interrupted,
                "exit_code": summary.exit_code,
                "stopped_reason": summary.stopped_reason,
                "ended": summary.ended.isoformat(),
            }
        )
        self.stream.flush()
