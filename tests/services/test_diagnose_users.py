"""Where the expected users come from, and no false all-clear without them.

Issue 12: with the JumpCloud API configured, each device's expected users are its JumpCloud bindings
(``-j`` not needed; given ``-j`` or inventory ``jc_users`` still win), and the document says which.
Issue 13, item 4: with no expected users at all (no ``-j``, no ``jc_users``, no API), the account-level
blockers of every enabled local account are reported, a note says name matching was not checked, and
the exit code is never 0 beside a blocker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jc_support import JcLab, jc_lab, json_out

from toolkit.exitcodes import ExitCode


def bare_inventory(lab: JcLab) -> Path:
    """The lab's inventory without any ``jc_users``."""
    document = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
    for entry in document["hosts"].values():
        entry.pop("jc_users", None)
    bare = lab.inventory.with_name("bare.yaml")
    bare.write_text(yaml.safe_dump(document), encoding="utf-8")
    return bare


def diagnose(lab: JcLab, inventory: Path, *extra: str) -> tuple[int, dict[str, dict[str, Any]]]:
    args = ("--inventory", str(inventory), "--http", "--auth", "basic")
    result = lab.jcfix("diagnose", *args, "-o", "json", *extra)
    return result.returncode, {h["host"]: h for h in json_out(result)["hosts"]}


@pytest.mark.parametrize(
    ("scenario", "code", "account"), [("msa", "MSA_LINKED", "maria"), ("pin", "HELLO_PIN_SET", "pat")]
)
def test_no_expected_users_is_no_all_clear(tmp_path: Path, scenario: str, code: str, account: str) -> None:
    with jc_lab(scenario, tmp_path) as lab:
        bare = bare_inventory(lab)
        returncode, hosts = diagnose(lab, bare, "--no-jc-api")
        table = lab.jcfix("diagnose", "--inventory", str(bare), "--http", "--auth", "basic", "--no-jc-api")
    assert returncode == ExitCode.BLOCKERS
    (host,) = hosts.values()
    assert host["jc_users"] == [] and host["jc_users_from"] == "none"
    (finding,) = [f for f in host["findings"] if f["code"] == code]
    assert finding["severity"] == "blocker" and finding["evidence"]["local_username"] == account
    assert f"--user {account}" in finding["fix"]
    assert any("no JumpCloud usernames were given" in n and "not checked" in n for n in host["notes"])
    assert table.returncode == ExitCode.BLOCKERS and code in table.stdout and "nothing found" not in table.stdout


def test_the_api_supplies_each_devices_users_and_the_document_says_so(tmp_path: Path) -> None:
    with jc_lab("jumpcloud", tmp_path) as lab:
        _, bound = diagnose(lab, bare_inventory(lab))
        _, listed = diagnose(lab, lab.inventory, "--limit", "lab-jc-local")
        _, given = diagnose(lab, bare_inventory(lab), "--limit", "lab-jc-local", "-j", "jsmith")
    local = bound["lab-jc-local"]
    assert local["jc_users"] == ["Jonathan", "jsmith"] and local["jc_users_from"] == "jumpcloud"
    assert {(f["code"], f["subject"]) for f in local["findings"]} >= {
        ("CASE_MISMATCH", "Jonathan"),
        ("TAKEOVER_READY", "jsmith"),
    }
    assert bound["lab-jc-nopw"]["jc_users"] == ["newhire"]
    assert "NO_INITIAL_PASSWORD" in {f["code"] for f in bound["lab-jc-nopw"]["findings"]}
    # Bound to nobody: known to be nobody (a note), not "unknown" (no account-level checks).
    unbound = bound["lab-jc-unbound"]
    assert unbound["jc_users"] == [] and unbound["jc_users_from"] == "jumpcloud"
    assert any("binds no user" in n for n in unbound["notes"])
    # A device JumpCloud does not know has no bindings: no usernames, and the note says so.
    gone = bound["lab-jc-gone"]
    assert gone["jc_users_from"] == "none" and any("not checked" in n for n in gone["notes"])
    # The inventory's jc_users and -j still win, and are named as the source.
    assert listed["lab-jc-local"]["jc_users_from"] == "inventory"
    assert given["lab-jc-local"]["jc_users"] == ["jsmith"] and given["lab-jc-local"]["jc_users_from"] == "option"
