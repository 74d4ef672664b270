"""Issue 13 item 3: every fix ``jcfix diagnose`` suggests runs as printed.

The diagnosis runs with ``-i INV`` (a path with a space), the sign-in account given only as ``--login``
(not in the environment) and other non-default options; each suggested command is then split as a shell
would split it and run with ``--check`` (or ``--dry-run`` when the command has no check mode). Before,
``jcfix fix convert-msa --host lab-msa --user maria`` failed with "name does not resolve".
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import Lab
from subprocess_env import environ_without_jcfix

from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME

pytestmark = pytest.mark.slow


def _jcfix(*args: str) -> subprocess.CompletedProcess[str]:
    """``jcfix ARGS`` with the password in the environment, the sign-in account NOT (it must be carried)."""
    env = environ_without_jcfix()
    env.update(
        JCFIX_CONFIG="/dev/null",
        JCFIX_PASSWORD=LAB_PASSWORD,
        JCFIX_NEW_PASSWORD="Correct-Horse-42!",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="200",
    )
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=env, timeout=180
    )


def test_every_suggested_fix_runs_as_printed(start_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lab: Lab = start_lab("mixed")
    folder = tmp_path / "my lab"
    folder.mkdir()
    inventory = folder / "fleet inventory.yaml"
    inventory.write_text(lab.inventory.read_text(encoding="utf-8"), encoding="utf-8")
    history = folder / "run history.sqlite3"
    options = ["--login", LAB_USERNAME, "--connect-timeout", "9", "--deadline", "150", "--history", str(history)]
    diagnosed = _jcfix("diagnose", "-i", str(inventory), *options, "-o", "json")
    assert diagnosed.returncode == 6, diagnosed.stderr
    fixes = {
        (host["host"], finding["fix"])
        for host in json.loads(diagnosed.stdout)["hosts"]
        for finding in host["findings"]
        if finding["fix"]
    }
    assert {host for host, _ in fixes} >= {"lab-msa", "lab-case", "lab-space", "lab-pin", "lab-picture"}
    for host, fix in sorted(fixes):
        words = shlex.split(fix)
        assert words[0] == "jcfix" and str(inventory) in words and LAB_USERNAME in words, fix
        if words[1] == "fix":
            result = _jcfix(*words[1:], "--check", "-o", "json")
            assert result.returncode not in (1, 2, 4), (fix, result.stderr)
            (only,) = json.loads(result.stdout)  # exactly the host the finding is about
            assert only["host"] == host, fix
            errors = [r["error"] for r in only["results"] if r["error"]]
            # Reached and signed in: any refusal comes from the fix's own checks on the host.
            assert all(e["category"] == "invalid_input" for e in errors), (fix, errors)
        else:  # verify provisioned: no check mode; the dry run resolves the host exactly as a run would
            result = _jcfix(*words[1:], "--dry-run")
            assert result.returncode == 0, (fix, result.stderr)
            headers = [line for line in result.stdout.splitlines() if line.startswith("# ==== ")]
            assert headers and all(line.startswith(f"# ==== {host} (") for line in headers), fix
        assert "does not resolve" not in result.stderr, fix
