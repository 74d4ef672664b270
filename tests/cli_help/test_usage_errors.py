"""click's usage errors (unknown option, bad value, missing argument) are one ``jcfix: error:`` line, exit 2.

Before, click printed a usage line, a "Try ... --help" line, a blank line and "Error: ..." (four lines,
without jcfix's prefix or the command's name on the error line).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from subprocess_env import environ_without_jcfix


def jcfix(*args: str) -> subprocess.CompletedProcess[str]:
    env = environ_without_jcfix()
    env.update(JCFIX_CONFIG="/dev/null", COLUMNS="80")
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["users", "list", "--bogus"], "jcfix: error: users list: no such option: --bogus"),
        (["diagnose", "-H", "pc-1", "--forks", "many"], "jcfix: error: diagnose: --forks must be a valid integer"),
        (["fix", "rename", "-H", "pc-1"], "jcfix: error: fix rename: missing option '--user'"),
        (["runs", "show"], "jcfix: error: runs show: missing argument 'RUN_ID'"),
        (["fix"], "jcfix: error: fix: missing command"),
        (["no-such-command"], "jcfix: error: no such command 'no-such-command'"),
        (["secrets", "status", "jc-api-key", "--output"], "jcfix: error: secrets status: option '--output' requires"),
    ],
)
def test_usage_error_is_one_line_naming_the_command(args: list[str], expected: str) -> None:
    result = jcfix(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]
    assert "Usage:" not in result.stderr and "Error:" not in result.stderr
    assert len(lines[0]) <= 80  # the parser's wording ("unable to parse string as ...") is dropped


def test_short_errors_point_at_the_commands_help() -> None:
    line = jcfix("render").stderr.strip()
    assert line == "jcfix: error: render: missing argument 'NAME' (see 'jcfix render --help')"


def test_bare_group_prints_its_help_on_stdout_not_stderr() -> None:
    result = jcfix("lab")
    assert result.returncode == 2
    assert result.stderr == ""
    assert result.stdout.startswith("Usage: jcfix lab [OPTIONS] COMMAND [ARGS]...")
