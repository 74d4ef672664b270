"""The lint's entry points: :func:`check` (rules and allowances on one script, here-string scripts included),
:func:`lint_source` (one script) and :func:`lint_templates` (every action rendered with every combination of its
switches, each finding placed on the raw template line it came from)."""

from __future__ import annotations

import difflib
from typing import Any

from .allowances import Allowance, read_allowances
from .catalog import CHECKS, Finding
from .tree import Script, line_of


def check(source: str) -> tuple[list[tuple[str, int, str]], list[Allowance], set[Allowance]]:
    """Findings ``(rule, line, message)`` after allowances, the valid allowances, and those that were used.

    A verbatim here-string that holds a script (one that a SYSTEM task or a child process runs) is linted too,
    as its own script, its lines counted in the outer script's lines."""
    script = Script(source)
    allowances, found = read_allowances(script)
    used: set[Allowance] = set()
    for rule, function in CHECKS.items():
        for node, message in function(script):
            line = line_of(node)
            matching = [a for a in allowances if a.rule == rule and a.target == line]
            used.update(matching)
            if not matching:
                found.append((rule, line, message))
    for node, inner, hidden in script.embedded:
        # Inner line n is outer line (string's first line + n - hidden); the hidden prefix lines are another
        # here-string's, linted where that one is written.
        offset = line_of(node) - hidden
        inner_found, inner_allowances, inner_used = check(inner)
        found += [(r, n + offset, f"(in a here-string script) {m}") for r, n, m in inner_found if n > hidden]
        shift = {a: Allowance(a.rule, a.line + offset, a.target + offset) for a in inner_allowances if a.line > hidden}
        allowances += shift.values()
        used |= {shift[a] for a in inner_used if a in shift}
    return found, allowances, used


def lint_source(source: str, name: str = "<source>") -> list[Finding]:
    """Lint one script; ``name`` labels its findings."""
    found, allowances, used = check(source)
    unused = [("PS51-ALLOW", a.line, f"allowance of {a.rule} suppresses nothing") for a in allowances if a not in used]
    return sorted({Finding(rule, name, line, message) for rule, line, message in found + unused})


def line_origins(rendered: list[str], sources: list[tuple[str, list[str]]]) -> dict[int, tuple[str, int]]:
    """Rendered line (1-based) -> (template, line) for lines copied verbatim from a raw template: aligned in
    order with the action's own template first, then the shared ones, so a line that appears in two
    templates is placed where the rendering put it."""
    origins: dict[int, tuple[str, int]] = {}
    for name, lines in sources:
        todo = [i for i in range(len(rendered)) if i + 1 not in origins]
        matcher = difflib.SequenceMatcher(None, [rendered[i] for i in todo], lines, autojunk=False)
        for a, b, size in matcher.get_matching_blocks():
            origins.update({todo[a + k] + 1: (name, b + k + 1) for k in range(size) if lines[b + k]})
    return origins


def lint_templates() -> list[Finding]:
    """Lint every action rendered with every combination of its switches; findings point at the raw template
    line the rendered line came from (or at the rendered line, marked so, when it came from no raw line)."""
    from actioncases import all_renderings

    from toolkit.templates import template_names, template_source

    shared = [(name, stripped_lines(template_source(name))) for name in template_names() if name.startswith("_")]
    findings: set[Finding] = set()
    unused: dict[tuple[str, int], Finding] = {}
    used: set[tuple[str, int]] = set()
    for action, options in all_renderings():
        found, allowances = lint_rendering(action.template, {**action.options, **options}, shared)
        findings.update(found)
        for where, allowance, was_used in allowances:
            if was_used:
                used.add(where)
            else:
                unused[where] = Finding("PS51-ALLOW", *where, f"allowance of {allowance.rule} suppresses nothing")
    return sorted(findings | {f for where, f in unused.items() if where not in used})


def stripped_lines(text: str) -> list[str]:
    """The text's lines, each stripped of surrounding whitespace (how rendered and raw lines are aligned)."""
    return [line.strip() for line in text.splitlines()]


def lint_rendering(
    template: str, options: dict[str, Any], shared: list[tuple[str, list[str]]]
) -> tuple[set[Finding], list[tuple[tuple[str, int], Allowance, bool]]]:
    """One rendering's findings placed in the raw templates, and its allowances (placed, and whether used)."""
    from toolkit.templates import render_template, template_source

    # Rendered without the declaration's marker check: the lint reads templates mid-edit too.
    source = render_template(template, options)
    origins = line_origins(stripped_lines(source), [(template, stripped_lines(template_source(template))), *shared])

    def place(line: int) -> tuple[str, int]:
        return origins.get(line, (f"{template} (rendered)", line))

    found, allowances, allowed = check(source)
    placed = {Finding(rule, *place(line), message) for rule, line, message in found}
    return placed, [(place(a.line), a, a in allowed) for a in allowances]
