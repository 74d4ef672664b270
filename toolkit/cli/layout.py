"""Lay out rows of values for the console's real width, never breaking a code, a name, a SID or a command.

Each column has a kind:

- ``key``: short values that must never be broken (codes, usernames, statuses);
- ``long``: long values that must never be broken either (SIDs, paths, fix commands): on a line of their own
  whenever the row does not fit in one line;
- ``text``: prose, wrapped at spaces (a word longer than the line gets a line of its own, unbroken).

Three forms, the widest that fits: one line per row; aligned columns with each ``long`` value on its own line
below its row; or, on narrow terminals, a compact block per row (its ``key`` values on one line, then its
text and long values indented below). Every line is printed with ``soft_wrap`` so rich never folds it again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text

from toolkit.textvalues import needs_escape, printable

Kind = Literal["key", "long", "text"]
Cell = str | Text
GAP = 2
INDENT = 4
MIN_TEXT = 24  # narrower than this, prose wraps so often that the compact block reads better
WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Column:
    """A column: its header, its kind, and whether the compact form labels its value (``Header: value``)."""

    header: str
    kind: Kind = "key"
    labelled: bool = True


@dataclass
class Row:
    """One row's cells (plain strings or styled Text), and lines to print under it (notes), wrapped at words."""

    cells: Sequence[Cell]
    after: list[Cell] = field(default_factory=list)


def as_text(cell: Cell) -> Text:
    """A cell as rich Text: a ``str`` is plain text (never markup); control characters escaped (:func:`printable`)."""
    return Text(printable(cell)) if isinstance(cell, str) else printable_text(cell)


def printable_text(text: Text) -> Text:
    """``text`` with its control characters escaped as :func:`~toolkit.textvalues.printable` does, styles kept.

    A value from a host can carry a newline or an escape sequence: escaped, it can never start a line of its
    own or restyle the terminal. Text without such characters is returned as it is.
    """
    plain = text.plain
    if not any(needs_escape(c) for c in plain):
        return text
    cuts = sorted({0, len(plain)} | {s.start for s in text.spans} | {s.end for s in text.spans})
    escaped = Text(style=text.style, end=text.end, no_wrap=text.no_wrap, overflow=text.overflow)
    for start, end in pairwise(cuts):
        part = Text(printable(plain[start:end]))
        for span in text.spans:  # every span covers a piece whole, cut as the pieces are at span edges
            if span.start <= start and end <= span.end:
                part.stylize(span.style)
        escaped.append_text(part)
    return escaped


def wrap(text: Text, width: int, indent: int = 0) -> list[Text]:
    """``text`` wrapped at spaces to ``width`` cells, continuation lines indented; words are never broken.

    Control characters are escaped first, so a newline in a value never becomes a line break of its own.
    """
    text = printable_text(text)
    plain = text.plain
    lead = len(plain) - len(plain.lstrip(" "))  # a leading indent is kept, and continuation lines go under it
    indent += lead
    lines: list[Text] = []
    start = end = None
    for match in WORD.finditer(plain):
        room = width - (indent if lines else 0)
        if start is None:
            start, end = (0 if not lines else match.start()), match.end()
        elif cell_len(plain[start : match.end()]) <= room:
            end = match.end()
        else:
            assert end is not None
            lines.append(_indented(text[start:end], indent if lines else 0))
            start, end = match.start(), match.end()
    if start is not None and end is not None:
        lines.append(_indented(text[start:end], indent if lines else 0))
    return lines or [Text("")]


def _indented(text: Text, indent: int) -> Text:
    return Text(" " * indent).append_text(text) if indent else text


def _pad(text: Text, width: int) -> Text:
    return text + Text(" " * max(0, width - cell_len(text.plain)))


def print_lines(out: Console, lines: Sequence[Text]) -> None:
    """Print each line as is: rich neither wraps nor crops it (a long value runs on, for the terminal to show)."""
    for line in lines:
        out.print(printable_text(line), soft_wrap=True, highlight=False)


def render_rows(out: Console, columns: Sequence[Column], rows: Sequence[Row], *, header: bool = True) -> None:
    """Print ``rows`` in the widest form that fits ``out.width``."""
    print_lines(out, layout_rows(columns, rows, out.width, header=header))


def layout_rows(columns: Sequence[Column], rows: Sequence[Row], width: int, *, header: bool = True) -> list[Text]:
    """The lines of :func:`render_rows` for ``width`` columns."""
    cells = [[as_text(c) for c in row.cells] for row in rows]
    natural = [
        max([cell_len(col.header) if header else 0] + [cell_len(r[i].plain) for r in cells])
        for i, col in enumerate(columns)
    ]
    if sum(natural) + GAP * (len(columns) - 1) <= width:
        return _aligned(columns, rows, cells, natural, list(range(len(columns))), width, header)
    inline = [i for i, col in enumerate(columns) if col.kind != "long"]
    fixed = sum(natural[i] for i in inline if columns[i].kind == "key") + GAP * (len(inline) - 1)
    texts = [i for i in inline if columns[i].kind == "text"]
    shares = _text_widths([natural[i] for i in texts], width - fixed)
    # only a column narrower than its own text is squeezed, and needs MIN_TEXT to read as prose
    squeezed = [share for i, share in zip(texts, shares, strict=True) if share < natural[i]]
    room = min(squeezed, default=width - fixed)
    if inline and room >= (MIN_TEXT if texts else 0):
        widths = list(natural)
        for i, share in zip(texts, shares, strict=True):
            widths[i] = share
        return _aligned(columns, rows, cells, widths, inline, width, header)
    return _compact(columns, rows, cells, width)


def _text_widths(natural: Sequence[int], room: int) -> list[int]:
    """Widths for prose columns sharing ``room``: a column narrower than its even share keeps its natural
    width (a short label column stays short), and what it leaves goes to the others."""
    widths = [0] * len(natural)
    left = list(range(len(natural)))
    while left:
        share = room // len(left)
        fitting = [i for i in left if natural[i] <= share]
        if not fitting:
            for i in left:
                widths[i] = share
            break
        for i in fitting:
            widths[i] = natural[i]
            room -= natural[i]
        left = [i for i in left if i not in fitting]
    return widths


def _aligned(
    columns: Sequence[Column],
    rows: Sequence[Row],
    cells: list[list[Text]],
    widths: list[int],
    inline: list[int],
    width: int,
    header: bool,
) -> list[Text]:
    """Aligned columns; the columns not ``inline`` (long values) each on a line of their own under the row."""
    lines: list[Text] = []
    if header:
        heads = [Text(columns[i].header, style="bold") for i in inline]
        lines.append(_join([_pad(h, widths[i]) for h, i in zip(heads, inline, strict=True)]))
    for row, row_cells in zip(rows, cells, strict=True):
        wrapped = [wrap(row_cells[i], widths[i]) if columns[i].kind == "text" else [row_cells[i]] for i in inline]
        for n in range(max(len(w) for w in wrapped)):
            parts = [_pad(w[n] if n < len(w) else Text(""), widths[i]) for w, i in zip(wrapped, inline, strict=True)]
            lines.append(_join(parts))
        for i, column in enumerate(columns):
            if i not in inline and row_cells[i].plain:
                label = f"{column.header}: " if column.header else ""
                lines.append(Text(" " * GAP + label).append_text(row_cells[i]))
        lines.extend(_after(row, width, GAP))
    return lines


def _compact(columns: Sequence[Column], rows: Sequence[Row], cells: list[list[Text]], width: int) -> list[Text]:
    """A block per row: its key values on one line (whole values only), then text and long values indented."""
    lines: list[Text] = []
    for row, row_cells in zip(rows, cells, strict=True):
        fields = [
            _labelled(col, cell, first=i == 0)
            for i, (col, cell) in enumerate(zip(columns, row_cells, strict=True))
            if col.kind == "key" and cell.plain
        ]
        line = Text("")
        for item in fields:
            if line.plain and cell_len(line.plain) + GAP + cell_len(item.plain) > width:
                lines.append(line)
                line = Text(" " * INDENT)
            line = line + Text(" " * GAP) + item if line.plain.strip() else line + item
        if line.plain.strip():
            lines.append(line)
        for col, cell in zip(columns, row_cells, strict=True):
            if col.kind == "text" and cell.plain:
                body = _labelled(col, cell, first=False)
                lines.extend(_indented(t, INDENT) for t in wrap(body, width - INDENT))
            elif col.kind == "long" and cell.plain:
                lines.append(Text(" " * INDENT).append_text(_labelled(col, cell, first=False)))
        lines.extend(_after(row, width, INDENT))
    return lines


def _labelled(column: Column, cell: Text, *, first: bool) -> Text:
    return cell if first or not column.labelled or not column.header else Text(f"{column.header}: ").append_text(cell)


def _after(row: Row, width: int, indent: int) -> list[Text]:
    return [_indented(t, indent) for note in row.after for t in wrap(as_text(note), width - indent, indent=2)]


def _join(parts: Sequence[Text]) -> Text:
    line = Text(" " * GAP).join(parts)
    line.rstrip()
    return line


def table_rows(table: Table) -> tuple[list[Column], list[Row]]:
    """A rich Table's columns and rows, kinds guessed from the cells: one word up to 24 cells is a key,
    one longer word a long value, anything with spaces prose."""
    columns: list[Column] = []
    cells: list[list[Text]] = []
    for column in table.columns:
        values = [_from_markup(c) if isinstance(c, str) else c for c in column.cells]
        cells.append([printable_text(v) if isinstance(v, Text) else Text(printable(v)) for v in values])
        plain = [v.plain for v in cells[-1]]
        long = any(len(p) > MIN_TEXT for p in plain)
        kind: Kind = "text" if any(" " in p for p in plain) else "long" if long else "key"
        columns.append(Column(str(column.header), kind))
    rows = [Row([col[n] for col in cells]) for n in range(table.row_count)]
    return columns, rows


def _from_markup(cell: str) -> Text:
    """A str cell of a rich Table: markup, as rich reads it; a value that is not valid markup (a ``[/]`` in a
    host's text) is plain text rather than a crash."""
    try:
        return Text.from_markup(cell)
    except MarkupError:
        return Text(cell)


def show_table(out: Console, table: Table) -> None:
    """Print ``table`` in the forms of :func:`layout_rows` at ``out``'s width, title first; a value longer than
    the line runs on whole (``console.print`` of a renderable would crop it at the terminal's width)."""
    print_lines(out, table_lines(table, out.width))


def table_lines(table: Table, width: int) -> list[Text]:
    """The lines :func:`show_table` prints."""
    title = table.title
    lines = [as_text(title) if isinstance(title, str | Text) else Text(str(title))] if title else []
    if lines:
        lines[0].stylize("bold")
    columns, rows = table_rows(table)
    return lines + layout_rows(columns, rows, width, header=table.show_header)


class Flow:
    """Any rich Table, printed in the forms of :func:`layout_rows` at the console's width (title first).

    Inside other renderables only: printed on its own, :func:`show_table` keeps long values whole.
    """

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = table_lines(self.table, options.max_width)
        for line in map(printable_text, lines):
            # Printed whole: a value longer than the line runs on for the terminal to show, never cut or folded.
            line.no_wrap, line.overflow, line.end = True, "ignore", "\n"
            yield line


class FlowTable(Table):
    """A rich Table that prints itself as :class:`Flow` does: values never broken, long ones on their own line."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from Flow(self).__rich_console__(console, options)
