"""Shell completion: commands and options from click, values (playbooks, scenarios, hosts, groups) from jcfix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.cli.completion import action_names, inventory_names, limit_values, playbook_names, scenario_names

NO_DETECTION = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
INVENTORY = """\
groups:
  berlin:
    hosts: [pc-0001, pc-0002]
  laptops:
    hosts: [pc-0002]
hosts:
  pc-0003: {}
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inv.yml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


def test_playbooks_shipped_and_in_a_playbooks_folder(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "site-check.yml").write_text("name: x\n", encoding="utf-8")
    (tmp_path / "playbooks" / "notes.txt").write_text("", encoding="utf-8")
    assert "takeover-readiness" in playbook_names("", cwd=tmp_path)
    assert playbook_names("take", cwd=tmp_path) == ["takeover-readiness"]
    assert "playbooks/" in playbook_names("play", cwd=tmp_path)
    assert playbook_names("playbooks/", cwd=tmp_path) == ["playbooks/site-check.yml"]


def test_scenarios_and_actions() -> None:
    assert scenario_names("m") == ["mixed", "msa"]
    assert "random" in scenario_names("")
    assert "list_users" in action_names("list")


def test_hosts_and_groups_from_the_inventory(inventory: Path, tmp_path: Path) -> None:
    assert inventory_names(inventory, groups=False) == ["pc-0003", "pc-0001", "pc-0002"]
    assert inventory_names(inventory, groups=True)[-2:] == ["berlin", "laptops"]
    assert limit_values(inventory, "pc-0001,!b") == ["pc-0001,!berlin"]
    assert limit_values(inventory, "la") == ["laptops"]
    broken = tmp_path / "broken.yml"
    broken.write_text("hosts: [unclosed\n", encoding="utf-8")
    assert inventory_names(broken, groups=True) == []
    assert inventory_names(None, groups=True) == []


def complete(words: str, cword: int, cwd: Path | None = None) -> list[str]:
    """One round trip through click's bash completion, as the installed script makes it."""
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword), "_JCFIX_COMPLETE": "complete_bash"}
    result = subprocess.run(
        [sys.executable, "-m", "toolkit"], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.split()


def test_bash_completion_round_trips(inventory: Path) -> None:
    assert complete("jcfix di", 1) == ["diagnose"]
    assert complete("jcfix diagnose --for", 2) == ["--forks"]
    assert complete("jcfix secrets s", 2) == ["set", "status"]
    assert complete("jcfix play take", 2) == ["takeover-readiness"]
    assert complete("jcfix lab up --scenario m", 4) == ["mixed", "msa"]
    assert complete(f"jcfix diagnose -i {inventory} --limit ber", 5) == ["berlin"]
    assert complete(f"jcfix users list -i {inventory} -H pc-000", 6) == ["pc-0003", "pc-0001", "pc-0002"]
    assert complete("jcfix secrets status ", 3) == ["winrm-password", "jc-api-key"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_shown_bash_script_completes_in_bash(tmp_path: Path) -> None:
    wrapper = tmp_path / "bin" / "jcfix"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m toolkit "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    # The shell is named on the command line, not detected from the processes above the test.
    env = {**os.environ, "PATH": f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}", **NO_DETECTION}
    script = subprocess.run(
        ["jcfix", "--show-completion", "bash"], capture_output=True, text=True, env=env, timeout=60, check=True
    ).stdout
    assert "_JCFIX_COMPLETE=complete_bash" in script
    (tmp_path / "completion.sh").write_text(script, encoding="utf-8")
    probe = (
        f"source {tmp_path / 'completion.sh'}; COMP_WORDS=(jcfix lab up --scenario m); COMP_CWORD=4; "
        '_jcfix_completion jcfix; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.split() == ["mixed", "msa"], result.stderr


def test_install_completion_writes_to_the_users_bash_files(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), **NO_DETECTION}
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "--install-completion", "bash"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "_JCFIX_COMPLETE=complete_bash" in (tmp_path / ".bash_completions" / "jcfix.sh").read_text()
    assert ".bash_completions/jcfix.sh" in (tmp_path / ".bashrc").read_text()
