"""A Windows PowerShell 5.1 lint for jcfix's rendered templates: tree-sitter-powershell trees, no PowerShell.

Each rule finds one class of pitfall that reads well on paper and fails on a real Windows host; the facts
behind them, with their sources, are in §8 of ../shared/research/windows-jumpcloud.md ("fact sheet §8").
Rules that cannot be exact are conservative: they flag what they cannot prove safe. A flagged line that is
safe gets an allowance on the line before it, exactly ``# ps51lint: allow RULE-ID: reason``; an allowance
that is malformed, names an unknown rule, gives no reason or suppresses nothing is itself a finding.

Invoke-Expression/iex, Write-Host and PowerShell 7-only syntax (``??``, ``?.``, ternary, ``&&``, ``||``,
``-Parallel``, ``clean {}``) are already checked by the template checks (tests/pscheckers.py: ``banned_commands``,
``ps7_syntax``, ``raw_problems``; run by tests/test_static_checks.py) and are deliberately not repeated here.

Entry points: :func:`lint_source` (one script) and :func:`lint_templates` (every action rendered with every
combination of its switches, findings placed on the raw template line they came from). A script held in a
verbatim here-string (a SYSTEM task's script) is linted as a script of its own.

Known limits (each errs towards flagging, except where said): variables are tracked by name within one
function, so a value assigned at script level and used in a function is not followed (STRICT-NULL misses it);
a script function counts as returning nothing only if it has a bare ``return``; parameter-name prefixes are
not resolved (only full names and -EA/-WI), so a prefix is flagged as missing; the System32 -> SysWOW64 file
redirection is not checked (WOW64-PATH covers Program Files and HKLM:/SOFTWARE only).

The package: ``catalog`` (rule ids, ``CHECKS``, ``Finding``), ``tree`` and ``flow`` (reading the parse tree and
its control flow), ``embedded`` (here-string scripts), one ``rule_*`` module per rule, ``allowances`` and
``drivers`` (the entry points).
"""

from __future__ import annotations

from .allowances import ALLOW_RE, Allowance, read_allowances
from .catalog import CHECKS, RULES, Finding
from .drivers import check, line_origins, lint_rendering, lint_source, lint_templates, stripped_lines
from .tree import Script

__all__ = [
    "ALLOW_RE",
    "CHECKS",
    "RULES",
    "Allowance",
    "Finding",
    "Script",
    "check",
    "line_origins",
    "lint_rendering",
    "lint_source",
    "lint_templates",
    "read_allowances",
    "stripped_lines",
]
