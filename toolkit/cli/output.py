"""How results leave jcfix: rich tables for people, JSON for scripts, and the run's exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from toolkit.cli.layout import INDENT, FlowTable, print_lines, show_table, wrap
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.textvalues import printable

if TYPE_CHECKING:  # the runner (transports, pypsrp) is imported by the commands that run hosts, not by this module
    from toolkit.runner import HostReport

OUTPUT_FORMATS = ("table", "json")
STATUS_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "pending": "cyan",
    "skipped": "dim",
    "failed": "red",
    "unreachable": "magenta",
}


def console() -> Console:
    """A console for results at the real width: the terminal's, or ``COLUMNS`` (rich reads both), else 80.

    Piped or redirected output is plain text (no colour codes) at that same width: never a fixed wide one.
    """
    # soft_wrap: rich never folds or crops a line; jcfix lays out its lines for the width itself (toolkit.cli.layout).
    return Console(soft_wrap=True, highlight=False)


def reports_as_json(reports: Sequence[HostReport]) -> list[dict[str, Any]]:
    """One object per host: its name, status and each step's validated result document."""
    return [
        {
            "host": report.target.name,
            "status": report.status,
            "changed": report.changed,
            "reason": report.reason,
            "results": [result.to_json_dict() for _, result in report.results],
        }
        for report in reports
    ]


def print_json(reports: Sequence[HostReport]) -> None:
    json.dump(reports_as_json(reports), sys.stdout, indent=2)
    sys.stdout.write("\n")


def print_failures(reports: Sequence[HostReport], out: Console) -> None:
    """One line per failed step (host, step, category, message), wrapped at words to ``out``'s width."""
    for report in reports:
        for step, result in report.results:
            if result.status == "failed" and result.error is not None:
                style = STATUS_STYLE["unreachable" if result.error.category == "unreachable" else "failed"]
                line = Text(printable(report.target.name), style=style).append(
                    printable(f": {step.action.name} {result.error.category}: {result.error.message}")
                )
                print_lines(out, wrap(line, out.width, indent=INDENT))


def print_tables(
    reports: Sequence[HostReport], title: Callable[[HostReport], str], table_for: Callable[[HostReport], Table | None]
) -> None:
    """Each host's table under its title, laid out for the console's width (:mod:`toolkit.cli.layout`)."""
    out = console()
    for report in reports:
        table = table_for(report)
        if table is not None:
            table.title = title(report)
            show_table(out, table)
    print_failures(reports, out)


def exit_code(reports: Sequence[HostReport]) -> ExitCode:
    return for_statuses([r.status for r in reports])


def change_table(
    *,
    status: str,
    check_mode: bool,
    planned: Sequence[str],
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    notes: Sequence[str] = (),
    backups: Sequence[str] = (),
    heading: Sequence[tuple[str, str]] = (),
    title: str | None = None,
) -> Table:
    """What one fix did, the same way for every fix: status, plan, before/after as read, backups, notes.

    ``after`` is shown only outside check mode (in check mode nothing was read back after a change).
    Every value is the host's or the user's, so none is read as rich markup (a ``[/]`` in a name stays text);
    control characters are escaped when the table is laid out (:func:`toolkit.cli.layout.table_rows`).
    """
    table = FlowTable(show_header=False, title=title, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    shown = "would change" if check_mode and status == "changed" else status
    style = STATUS_STYLE.get(status.split(" ", 1)[0], "")  # "failed (changed)" is styled as failed
    table.add_row("status", f"[{style}]{shown}[/]")
    for label, value in heading:
        table.add_row(escape(label), escape(value))
    for line in planned:
        table.add_row("planned", escape(line))
    if before is not None:
        table.add_row("before", escape(", ".join(f"{k}={v}" for k, v in before.items())))
    if after is not None and not check_mode:
        table.add_row("after (read back)", escape(", ".join(f"{k}={v}" for k, v in after.items())))
    for path in backups:
        table.add_row("backup", escape(path))
    for note in notes:
        table.add_row("note", escape(note))
    return table
