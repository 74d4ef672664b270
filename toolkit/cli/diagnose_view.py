"""How ``jcfix diagnose`` prints its diagnosis documents: for people at the terminal's width, or as CSV.

Both read the documents of :func:`toolkit.services.diagnose.diagnosis_document` (the ``--output json``
shape), including the optional ``notes`` (things the admin must know) and ``pending`` (fixes started but
not finished: a blocker with one shows "fix pending (run R): waiting for W" instead of a second fix).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from toolkit.cli.layout import Column, Row, render_rows
from toolkit.cli.output import STATUS_STYLE, print_failures
from toolkit.runner import HostReport
from toolkit.textvalues import plural, printable

SEVERITY_STYLE = {"blocker": "bold red", "warning": "yellow", "info": "dim"}
COLUMNS = (
    Column("Host", "key"),
    Column("Severity", "key", labelled=False),
    Column("Code", "key", labelled=False),
    Column("JumpCloud user", "key", labelled=False),
    Column("What is wrong", "text", labelled=False),
    Column("Fix", "long"),
)
CSV_HEADER = ("host", "severity", "code", "subject", "message", "fix")


def pending_for(document: Mapping[str, Any], finding: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pending fix of ``finding`` (same code and subject) in the host's ``pending`` list, else None."""
    for item in document.get("pending") or []:
        if item.get("code") == finding["code"] and (item.get("subject") or None) == (finding["subject"] or None):
            return dict(item)
    return None


def pending_text(item: Mapping[str, Any]) -> str:
    """``fix pending (run R): waiting for W`` (W as the run recorded it, "waiting for" not repeated)."""
    waiting = str(item.get("waiting_for") or "the host").strip()
    waiting = waiting[len("waiting for ") :] if waiting.lower().startswith("waiting for ") else waiting
    return f"fix pending (run {item.get('run_id')}): waiting for {waiting}"


def _rows(document: Mapping[str, Any]) -> list[Row]:
    """One row per finding of one host (or one "nothing found" row), its notes under the last."""
    host = document["host"]
    rows: list[Row] = []
    for finding in document["findings"]:
        severity = finding["severity"]
        pending = pending_for(document, finding)
        cells = [
            host,
            Text(severity, style=SEVERITY_STYLE.get(severity, "")),
            finding["code"],
            finding["subject"] or "",
            finding["message"],
            "" if pending else finding["fix"] or "",
        ]
        rows.append(Row(cells, [Text(pending_text(pending), style="cyan")] if pending else []))
    if not rows:
        users = ", ".join(document["jc_users"]) or "no JumpCloud users given"
        rows.append(Row([host, "", "", "", f"nothing found ({users})", ""]))
    rows[-1].after.extend(f"note: {note}" for note in document.get("notes") or [])
    return rows


def print_diagnoses(documents: Sequence[Mapping[str, Any]], reports: Sequence[HostReport], out: Console) -> None:
    """Every host's findings laid out for ``out``'s width, then failures and a one-line summary."""
    rows = [row for document in documents if document["error"] is None for row in _rows(document)]
    if rows:
        render_rows(out, COLUMNS, rows)
    print_failures(reports, out)
    counts: dict[str, int] = {}
    for document in documents:
        counts[document["status"]] = counts.get(document["status"], 0) + 1
    summary = ", ".join(f"[{STATUS_STYLE.get(k, '')}]{v} {k}[/]" for k, v in sorted(counts.items()))
    blocked = sum(1 for d in documents if d["blockers"])
    out.print(f"{plural(len(documents), 'host')}: {summary}; {blocked} with blockers", highlight=False)


def csv_value(value: object) -> str:
    """A CSV cell: control characters escaped as ``\\xNN`` (quoting is the csv module's).

    A tab or newline inside a value would break a row for many readers; line separators and bidi
    overrides would do the same to whoever reads the file in a terminal.
    """
    return printable("" if value is None else value)


def write_csv(documents: Sequence[Mapping[str, Any]], stream: IO[str]) -> None:
    """One row per finding (host, severity, code, subject, message, fix); a host without findings is one row.

    A host that could not be diagnosed is one row with severity ``error`` and its error as the message.
    """
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for document in documents:
        host = document["host"]
        error = document.get("error")
        if error is not None:
            writer.writerow(map(csv_value, (host, "error", error.get("category"), "", error.get("message"), "")))
            continue
        for finding in document["findings"]:
            pending = pending_for(document, finding)
            fix = pending_text(pending) if pending else finding["fix"]
            values = (host, finding["severity"], finding["code"], finding["subject"], finding["message"], fix)
            writer.writerow(map(csv_value, values))
        if not document["findings"]:
            writer.writerow(map(csv_value, (host, "", "", "", "nothing found", "")))
