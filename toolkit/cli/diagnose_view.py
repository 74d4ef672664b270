"""How ``jcfix diagnose`` prints its diagnosis documents: for people at the terminal's width, or as CSV.

Both read the documents of :func:`toolkit.services.diagnose.diagnosis_document` (the ``--output json``
shape), including the optional ``notes`` (things the admin must know) and ``pending`` (fixes started but
not finished: a blocker with one shows "fix pending (run R): waiting for W" instead of a second fix).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from toolkit.report.spool import OrderedSpool
from toolkit.textvalues import plural, printable

if TYPE_CHECKING:  # rich and the runner are imported when a table is printed (jcfix --help stays quick)
    from rich.console import Console
    from rich.text import Text

    from toolkit.cli.layout import Column, Row
    from toolkit.runner import HostReport

DIAGNOSIS_SCHEMA = 1
SEVERITY_STYLE = {"blocker": "bold red", "warning": "yellow", "info": "dim"}
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


def columns() -> tuple[Column, ...]:
    """The table's columns (host, severity, code, user: whole values; the message wrapped; the fix long)."""
    from toolkit.cli.layout import Column

    return (
        Column("Host", "key"),
        Column("Severity", "key", labelled=False),
        Column("Code", "key", labelled=False),
        Column("JumpCloud user", "key", labelled=False),
        Column("What is wrong", "text", labelled=False),
        Column("Fix", "long"),
    )


def _rows(document: Mapping[str, Any]) -> list[Row]:
    """One row per finding of one host (or one "nothing found" row), its notes under the last."""
    from rich.text import Text

    from toolkit.cli.layout import Row

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
    from toolkit.cli.layout import render_rows
    from toolkit.cli.output import print_failures

    rows = [row for document in documents if document["error"] is None for row in _rows(document)]
    if rows:
        render_rows(out, columns(), rows)
    print_failures(reports, out)
    _print_summary(out, [d["status"] for d in documents], sum(1 for d in documents if d["blockers"]))


def _print_summary(out: Console, statuses: Sequence[str] | Mapping[str, int], blocked: int) -> None:
    """``N hosts: 3 ok, 1 unreachable; 2 with blockers`` (``statuses``: one per host, or counts by status)."""
    from toolkit.cli.output import STATUS_STYLE

    counts: dict[str, int] = {}
    if isinstance(statuses, Mapping):
        counts.update(statuses)
    for status in statuses if not isinstance(statuses, Mapping) else ():
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"[{STATUS_STYLE.get(k, '')}]{v} {k}[/]" for k, v in sorted(counts.items()))
    out.print(f"{plural(sum(counts.values()), 'host')}: {summary}; {blocked} with blockers", highlight=False)


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
    csv.writer(stream, lineterminator="\n").writerow(CSV_HEADER)
    for document in documents:
        stream.write(csv_rows(document))


def csv_rows(document: Mapping[str, Any]) -> str:
    """One host's CSV rows (see :func:`write_csv`), as text."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    host = document["host"]
    error = document.get("error")
    if error is not None:
        writer.writerow(map(csv_value, (host, "error", error.get("category"), "", error.get("message"), "")))
        return stream.getvalue()
    for finding in document["findings"]:
        pending = pending_for(document, finding)
        fix = pending_text(pending) if pending else finding["fix"]
        values = (host, finding["severity"], finding["code"], finding["subject"], finding["message"], fix)
        writer.writerow(map(csv_value, values))
    if not document["findings"]:
        writer.writerow(map(csv_value, (host, "", "", "", "nothing found", "")))
    return stream.getvalue()


# A diagnosis document without what only --output json shows (the raw and decided facts): what the table needs.
_TABLE_KEYS = ("host", "status", "error", "blockers", "jc_users", "findings", "notes", "pending")
CHUNK_HOSTS = 200  # hosts laid out per print while the table is replayed from its spool


class StreamedDiagnoses:
    """``jcfix diagnose``'s output, fed one host at a time as hosts finish and printed in the fleet's order.

    Each host's part (its JSON, its CSV rows, or the little the table needs) goes to an
    :class:`~toolkit.report.spool.OrderedSpool` as it comes; :meth:`write` prints them in order at the end,
    the table's column widths taken over every host, so the output is what the whole list would give while
    memory holds no host.
    """

    def __init__(self, output: str, positions: Mapping[str, int]) -> None:
        self.output = output
        self.positions = positions
        self.spool = OrderedSpool(len(positions))
        self.counts: dict[str, int] = {}
        self.blocked = 0

    def add(self, document: Mapping[str, Any], report: HostReport) -> None:
        """One host's diagnosis document (:func:`~toolkit.services.diagnose.diagnosis_document`) and report."""
        self.counts[document["status"]] = self.counts.get(document["status"], 0) + 1
        self.blocked += bool(document["blockers"])
        position = self.positions[document["host"]]
        if self.output == "json":
            self.spool.put(position, json.dumps(document, indent=2).replace("\n", "\n    "))
        elif self.output == "csv":
            self.spool.put(position, csv_rows(document))
        else:
            failures = [
                (step.action.name, result.error.category, result.error.message)
                for step, result in report.results
                if result.status == "failed" and result.error is not None
            ]
            part = {key: document.get(key) for key in _TABLE_KEYS}
            self.spool.put(position, json.dumps({**part, "failures": failures}))

    def write(self, stream: IO[str], out: Callable[[], Console]) -> None:
        """Print everything added: JSON or CSV to ``stream``, the table to the console ``out()`` gives."""
        if self.output == "json":
            stream.write(f'{{\n  "schema": {DIAGNOSIS_SCHEMA},\n  "hosts": [')
            for n, text in enumerate(self.spool.texts()):
                stream.write(("," if n else "") + "\n    " + text)
            stream.write("\n  ]\n}\n" if len(self.spool) else "]\n}\n")
        elif self.output == "csv":
            csv.writer(stream, lineterminator="\n").writerow(CSV_HEADER)
            for text in self.spool.texts():
                stream.write(text)
        else:
            self._table(out())

    def close(self) -> None:
        """Remove the spool."""
        self.spool.close()

    def _documents(self) -> Iterator[dict[str, Any]]:
        return (json.loads(text) for text in self.spool.texts())

    def _table(self, out: Console) -> None:
        from rich.cells import cell_len

        from toolkit.cli.layout import as_text, print_lines

        cols = columns()
        natural = [cell_len(col.header) for col in cols]
        for document in self._documents():  # first pass: the widths every host's rows need
            for row in _rows(document) if document["error"] is None else []:
                natural = [max(w, cell_len(as_text(c).plain)) for w, c in zip(natural, row.cells, strict=True)]
        lay = fixed_layout(cols, natural, out.width)
        chunk: list[Row] = []
        printed = False
        for document in self._documents():
            chunk.extend(_rows(document) if document["error"] is None else [])
            if len(chunk) >= CHUNK_HOSTS:
                print_lines(out, lay(chunk, not printed))
                chunk, printed = [], True
        if chunk:
            print_lines(out, lay(chunk, not printed))
        for document in self._documents():
            _print_failures(out, document["host"], document["failures"])
        _print_summary(out, self.counts, self.blocked)


def _print_failures(out: Console, host: str, failures: Sequence[Sequence[str]]) -> None:
    """As :func:`toolkit.cli.output.print_failures` prints a report's failed steps, from the spooled values."""
    from rich.text import Text

    from toolkit.cli.layout import INDENT, print_lines, wrap
    from toolkit.cli.output import STATUS_STYLE

    for action, category, message in failures:
        style = STATUS_STYLE["unreachable" if category == "unreachable" else "failed"]
        line = Text(printable(host), style=style).append(printable(f": {action} {category}: {message}"))
        print_lines(out, wrap(line, out.width, indent=INDENT))


Layout = Callable[[Sequence["Row"], bool], list["Text"]]


def fixed_layout(cols: Sequence[Column], natural: Sequence[int], width: int) -> Layout:
    """:func:`toolkit.cli.layout.layout_rows`'s choice of form made once, from every row's ``natural`` widths
    (header included), as a function laying out any part of the rows (``header``: print it first)."""
    from toolkit.cli import layout

    def cells(rows: Sequence[Row]) -> list[list[Text]]:
        return [[layout.as_text(c) for c in row.cells] for row in rows]

    inline = list(range(len(cols)))
    widths = list(natural)
    if sum(natural) + layout.GAP * (len(cols) - 1) > width:
        inline = [i for i, col in enumerate(cols) if col.kind != "long"]
        fixed = sum(natural[i] for i in inline if cols[i].kind == "key") + layout.GAP * (len(inline) - 1)
        texts = [i for i in inline if cols[i].kind == "text"]
        shares = layout._text_widths([natural[i] for i in texts], width - fixed)
        squeezed = [share for i, share in zip(texts, shares, strict=True) if share < natural[i]]
        room = min(squeezed, default=width - fixed)
        if not inline or room < (layout.MIN_TEXT if texts else 0):
            return lambda rows, header: layout._compact(cols, rows, cells(rows), width)
        for i, share in zip(texts, shares, strict=True):
            widths[i] = share
    return lambda rows, header: layout._aligned(cols, rows, cells(rows), widths, inline, width, header)
