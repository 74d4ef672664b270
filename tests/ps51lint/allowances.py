"""Allowances: ``# ps51lint: allow RULE-ID: reason`` on the line before a flagged line. Reads them, and reports
those that are malformed, name an unknown rule or give no reason (unused ones are reported by the drivers)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .catalog import CHECKS
from .tree import Script, line_of

ALLOW_RE = re.compile(r"^# ps51lint: allow (?P<rule>[A-Za-z0-9-]+):(?P<reason>.*)$")


@dataclass(frozen=True)
class Allowance:
    """A valid allowance: ``rule`` findings on ``target`` (the next line that is not an allowance) are allowed."""

    rule: str
    line: int
    target: int


def read_allowances(script: Script) -> tuple[list[Allowance], list[tuple[str, int, str]]]:
    """The valid allowances, and findings for malformed, unknown or reason-less ones."""
    comments = [c for c in script.nodes["comment"] if re.match(r"#\s*ps51lint", script.text(c), re.I)]
    lines = {line_of(c) for c in comments}
    valid, bad = [], []
    for comment in comments:
        match = ALLOW_RE.match(script.text(comment).rstrip())
        target = line_of(comment) + 1
        while target in lines:
            target += 1
        if match is None:
            bad.append(("PS51-ALLOW", line_of(comment), "malformed: write '# ps51lint: allow RULE-ID: reason'"))
        elif match["rule"] not in CHECKS:
            bad.append(("PS51-ALLOW", line_of(comment), f"unknown rule {match['rule']}"))
        elif not match["reason"].strip():
            bad.append(("PS51-ALLOW", line_of(comment), f"allowance of {match['rule']} gives no reason"))
        else:
            valid.append(Allowance(match["rule"], line_of(comment), target))
    return valid, bad
