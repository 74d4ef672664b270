"""Issue 15 item 5: a deeply nested ``when:`` is a usage error naming the file and field, never a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.expressions import MAX_DEPTH, ExpressionError, parse_expression
from toolkit.playbook import parse_playbook

DEEP = 5000


@pytest.mark.parametrize(
    "text",
    [
        "(" * DEEP + "x" + ")" * DEEP,
        "not " * DEEP + "x",
        "[" * DEEP + "]" * DEEP,
        "count(" * DEEP + "x" + ")" * DEEP,
        "{{ " + "(" * DEEP + "x" + ")" * DEEP + " }}",
    ],
)
def test_deep_nesting_is_an_expression_error(text: str) -> None:
    with pytest.raises(ExpressionError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse_expression(text.strip("{} "))


def test_nesting_up_to_the_bound_still_parses_and_evaluates() -> None:
    grouped = parse_expression("(" * MAX_DEPTH + "x == 1" + ")" * MAX_DEPTH)
    assert grouped.test({"x": 1}) and not grouped.test({"x": 2})
    negated = parse_expression("not " * MAX_DEPTH + "x")  # an even number of nots: x itself
    assert MAX_DEPTH % 2 == 0 and negated.test({"x": True}) and not negated.test({"x": False})
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_expression("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))


def test_deep_when_in_a_playbook_names_the_file_line_and_field() -> None:
    body = "name: t\nsteps:\n  - action: diagnose\n    when: '" + "(" * DEEP + "x" + ")" * DEEP + "'\n"
    with pytest.raises(UsageError, match=r"pb\.yml:4: steps\[0\]\.when: nested more than"):
        parse_playbook(body, "pb.yml")


def test_jcfix_play_with_a_deep_when_is_exit_2_with_one_line(tmp_path: Path) -> None:
    playbook = tmp_path / "deep.yml"
    playbook.write_text("name: deep\nsteps:\n  - action: diagnose\n    when: '" + "(" * DEEP + "x" + ")" * DEEP + "'\n")
    inventory = tmp_path / "inv.yml"
    inventory.write_text("hosts:\n  pc-1: {address: 127.0.0.1, port: 1}\n")
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "play", str(playbook), "-i", str(inventory)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "JCFIX_CONFIG": "/dev/null", "JCFIX_HISTORY": str(tmp_path / "h.db")},
    )
    assert result.returncode == ExitCode.USAGE, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"jcfix: error: {playbook}:4: steps[0].when: nested more than {MAX_DEPTH}")
