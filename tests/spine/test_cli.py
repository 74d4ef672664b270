"""The CLI without a network: dry runs, bad input, exit codes, and secrets kept out of output."""

from __future__ import annotations

import subprocess
import sys

import pytest
from subprocess_env import environ_without_jcfix

from toolkit.templates import PREVIEW_SEPARATOR


def jcfix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = environ_without_jcfix()
    base["JCFIX_CONFIG"] = "/dev/null"
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=60,
    )


def test_dry_run_prints_each_hosts_script_and_connects_to_nothing() -> None:
    # Neither host exists; a dry run must not try them (nor ask for a password).
    result = jcfix("users", "list", "-H", "pc-1", "-H", "pc-2:5985", "--http", "--dry-run", "--name", "o'brien")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("# jcfix-template: list_users v1") == 2
    assert "# ==== pc-1 (http://pc-1:5985" in result.stdout
    assert "# ==== pc-2 (http://pc-2:5985" in result.stdout
    assert result.stdout.count(PREVIEW_SEPARATOR) == 2
    assert "Name = @('o''brien')" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "list", "-H", "bad host", "--dry-run"], "invalid host 'bad host'"),
        (["users", "list", "-H", "pc:99999", "--dry-run"], "must be 1..65535"),
        (["users", "list", "--dry-run"], "no hosts"),
        (["users", "list", "-H", "pc-1", "--auth", "digest", "--dry-run"], "auth must be one of"),
        (["users", "list", "-H", "pc-1", "--output", "xml", "--dry-run"], "--output must be one of"),
        (["users", "list", "-H", "pc-1"], "no user"),
        (["users", "list", "-H", "pc-1", "-u", "admin"], "no password for admin"),
        (["users", "list", "-H", "pc-1", "--http", "--auth", "basic", "--dry-run"], "in clear"),
        (["render", "no-such-thing"], "unknown template 'no-such-thing'"),
        (["render", "list_users", "--param", "Name"], "expected NAME=VALUE"),
        (["render", "list_users", "--param", "Bogus=1"], "unknown parameter 'Bogus'"),
        (["render", "list_users", "--option", "nope=true"], "--option 'nope=true'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = jcfix(*args, env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_render_prints_script_and_parameters() -> None:
    result = jcfix("render", "list-users", "--param", "Name=a", "--param", "Name=b", "--whatif")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# jcfix-template: list_users v1\n")
    assert "Name = @('a', 'b')" in result.stdout
    assert "WhatIf = $true" in result.stdout


def test_render_without_fallback_drops_the_wmi_section() -> None:
    with_fallback = jcfix("render", "list_users").stdout
    without = jcfix("render", "list_users", "--option", "localaccounts_fallback=false").stdout
    assert "Win32_UserAccount" in with_fallback
    assert "Win32_UserAccount" not in without.split(".DESCRIPTION")[1].split("#>")[1]


def test_templates_lists_every_action() -> None:
    from toolkit.actions import registry

    result = jcfix("templates")
    assert result.returncode == 0
    for name in registry():
        assert name in result.stdout


def test_password_in_environment_never_reaches_a_dry_run() -> None:
    result = jcfix("users", "list", "-H", "pc-1", "--dry-run", env={"JCFIX_PASSWORD": "Pa55-Leak-Check"})
    assert "Pa55-Leak-Check" not in result.stdout + result.stderr


def test_dry_run_via_jumpcloud_shows_the_command_text_that_would_be_sent() -> None:
    import base64
    import json
    import re

    env = {"JCFIX_JC_URL": "http://127.0.0.1:9", "JCFIX_JC_API_KEY": "not-a-real-key"}
    args = ["fix", "rename", "-H", "pc-1", "--user", "o'x", "--to", "ox", "--run-id", "r1", "--via", "jumpcloud"]
    result = jcfix(*args, "--dry-run", "--check", env=env)
    assert result.returncode == 0, result.stderr
    assert "the JumpCloud command text" in result.stdout
    (encoded,) = re.findall(r"^\$JcfixParametersBase64 = '([A-Za-z0-9+/=]+)'$", result.stdout, flags=re.M)
    assert json.loads(base64.b64decode(encoded)) == {
        "UserName": "o'x",
        "NewName": "ox",
        "Force": False,
        "RunId": "r1",
        "WhatIf": True,
    }
    assert "# jcfix-template: rename_user v2" in result.stdout  # the script body travels unchanged
    assert "not-a-real-key" not in result.stdout + result.stderr
