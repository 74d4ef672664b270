"""Issue 15 item 3: account names are checked before anything connects, and no value from a host or a user
can forge an output line or reach the terminal raw (users list, diagnose table and CSV, play recap, JUnit)."""

from __future__ import annotations

import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from tests.fleet.conftest import jcfix_env
from toolkit.actions import get_action, parse_param_args, pseudo_actions
from toolkit.cli.layout import Flow
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.lab.fleet import LabFleet, write_inventory
from toolkit.naming import existing_name_problems, name_problems
from toolkit.playbook import parse_playbook
from toolkit.textvalues import printable

FORGED = "lab-msa: rename_user ok"
# What must never reach a terminal or report raw: each can start a line, move the cursor or reorder text.
RAW = ("\r", "\x1b", "\x85", "\x9b", "\u2028", "\u2029", "\u202e", "\u2066")

BAD_USERS = [
    "bob\n" + FORGED,
    "bob\r" + "x",
    "bob\x1b[31m",
    "bob\x00",
    "bob\t",
    "bob\x7f",
    "bob\x85",
    "bob\u2028x",
    "bob\u202ex",
    *(f"a{c}b" for c in '"/\\[]:;|=,+*?<>'),
    "a" * 21,
    "ends.",
    "",
    "   ",
]


def _bind(action: str, **values: object) -> dict[str, object]:
    return get_action(action).bind({"RunId": "r-1", **values} if action != "list_users" else values)


@pytest.mark.parametrize("user", BAD_USERS)
def test_every_fix_refuses_a_user_no_windows_account_can_have(user: str) -> None:
    for action in ("rename_user", "remove_pin", "remove_picture_password", "convert_msa"):
        extra = {"NewName": "Bob"} if action == "rename_user" else {}
        with pytest.raises(UsageError, match="parameter UserName") as caught:
            _bind(action, UserName=user, **extra)
        assert "\n" not in str(caught.value) and not any(c in str(caught.value) for c in RAW)


@pytest.mark.parametrize("name", ["bob@corp", "john smith", "j.smith", "Jonathan", "JD-Laptop", "ÄÖÜ-user"])
def test_an_odd_but_possible_existing_name_is_accepted_for_user(name: str) -> None:
    assert existing_name_problems(name) == []
    assert _bind("remove_pin", UserName=name)["UserName"] == name


@pytest.mark.parametrize("name", ["bob@corp", "john smith", "ends.", "...", "1abc", "a" * 21, "x\ny", "a\u202eb"])
def test_a_new_name_gets_the_full_rule(name: str) -> None:
    assert name_problems(name)
    with pytest.raises(UsageError, match="parameter NewName"):
        _bind("rename_user", UserName="bob", NewName=name)


def test_list_filters_and_jumpcloud_names_are_checked_too() -> None:
    with pytest.raises(UsageError, match=r"parameter Name .* contains control characters"):
        _bind("list_users", Name=["ok", "x\x1b[2J"])
    with pytest.raises(UsageError, match="list_users: parameter Name"):
        get_action("list_users").bind(parse_param_args(get_action("list_users"), ["Name=a:b"]))
    declared = {p.name: p for p in pseudo_actions()["diagnose"].params}
    for name, bad, message in (("jc_users", ["ok", "a\nb"], "control characters"), ("log_lines", -1, "between")):
        check = declared[name].validate
        assert check is not None
        with pytest.raises(ValueError, match=message):
            check(declared[name].convert(bad))


def test_a_playbook_literal_user_is_refused_at_load() -> None:
    body = 'name: t\nsteps:\n  - action: remove_pin\n    params: {UserName: "bob\\nlab-msa: ok"}\n'
    with pytest.raises(UsageError, match=r"pb\.yml:4: steps\[0\]\.params.*contains control characters"):
        parse_playbook(body, "pb.yml")


def _jcfix(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args],
        capture_output=True,
        text=True,
        env=jcfix_env(tmp_path),
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["fix", "rename", "--user", "bob\n" + FORGED, "--to", "Bob"],
        ["fix", "remove-pin", "--user", "a" * 21],
        ["fix", "rename", "--user", "bob", "--to", "new name"],
        ["run", "list_users", "--param", "Name=x\x1b[31m"],
    ],
)
def test_the_cli_refuses_before_connecting_in_one_line(tmp_path: Path, args: list[str]) -> None:
    # Port 1 on loopback: had jcfix connected, the host would be unreachable (exit 3), not a usage error.
    result = _jcfix(tmp_path, *args, "--host", "127.0.0.1:1", "--http")
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert result.stderr.startswith("jcfix: error: ") and result.stderr.count("\n") == 1
    assert result.stdout == ""
    _assert_no_forged_line(result.stderr)


def test_printable_escapes_every_line_breaking_or_terminal_control_character() -> None:
    assert printable("a\nb\r\tc\x00\x1b[31m\x7f\x85\x9b") == "a\\x0ab\\x0d\\x09c\\x00\\x1b[31m\\x7f\\x85\\x9b"
    assert printable("x\u2028y\u2029z\u202e\u2066\u200f") == "x\\u2028y\\u2029z\\u202e\\u2066\\u200f"
    assert printable("C:\\Users\\jöhn smith ✓") == "C:\\Users\\jöhn smith ✓"  # ordinary text unchanged
    assert printable(5) == "5"


# ---- a lab host whose account, full name, description and fix command carry control characters --------------

HOSTILE = """name: hostile
description: "Account names and full names that try to forge output lines."
hosts:
  - hostname: lab-evil
    users:
      - {name: Administrator, rid: 500, enabled: false, description: Built-in}
      - {name: "JD\\nlab-msa: rename_user ok", full_name: janedoe, rid: 1001, profile_path: 'C:\\\\Users\\\\JD',
         description: "d\\r\\x1b[31mred\\u2028x\\u202eevil"}
      - {name: "pat\\x1b[31m", full_name: "Pat\\u2028FAKE\\u202eLINE\\rX", rid: 1002}
    jc_users: [janedoe]
"""


@pytest.fixture
def hostile_inventory(tmp_path: Path) -> Iterator[Path]:
    scenario = tmp_path / "hostile.yaml"
    scenario.write_text(HOSTILE, encoding="utf-8")
    fleet = LabFleet.from_scenario(scenario).start()
    try:
        inventory = tmp_path / "inventory.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        yield inventory
    finally:
        fleet.stop()


def _assert_no_forged_line(text: str) -> None:
    assert not any(line.lstrip().startswith(FORGED) for line in text.splitlines()), text
    assert not any(c in text for c in RAW), repr(text)


def test_hostile_values_are_escaped_in_every_output(tmp_path: Path, hostile_inventory: Path) -> None:
    inventory = str(hostile_inventory)
    users = _jcfix(tmp_path, "users", "list", "-i", inventory)
    assert users.returncode == ExitCode.OK, users.stderr
    _assert_no_forged_line(users.stdout)
    assert "JD\\x0alab-msa: rename_user ok" in users.stdout and "pat\\x1b[31m" in users.stdout
    assert "Pat\\u2028FAKE\\u202eLINE\\x0dX" in users.stdout and "d\\x0d\\x1b[31mred" in users.stdout

    for output in ("table", "csv"):
        diagnosed = _jcfix(tmp_path, "diagnose", "-i", inventory, "-o", output)
        assert "FULLNAME_ONLY_MATCH" in diagnosed.stdout, diagnosed.stderr
        _assert_no_forged_line(diagnosed.stdout)
        assert "--user 'JD\\x0alab-msa: rename_user ok'" in diagnosed.stdout  # the fix command, escaped

    junit = tmp_path / "junit.xml"
    played = _jcfix(tmp_path, "play", "takeover-readiness", "-i", inventory, "--plain", "--junit", str(junit))
    assert "RECAP" in played.stdout and "FULLNAME_ONLY_MATCH" in played.stdout, played.stderr
    _assert_no_forged_line(played.stdout)
    assert "--user 'JD\\x0alab-msa: rename_user ok'" in played.stdout
    text = junit.read_text(encoding="utf-8")
    _assert_no_forged_line(text)
    failure = ET.fromstring(text).find(".//testcase/failure")
    assert failure is not None and "--user 'JD\\x0alab-msa: rename_user ok'" in (failure.text or "")


def test_a_table_value_that_is_broken_markup_is_shown_as_text() -> None:
    table = Table("Key", "Value")
    table.add_row("[bold]note[/]", "host said a[/]b\nlab-msa: rename_user ok")  # a run's free-form host output
    console = Console(width=80, file=io.StringIO(), color_system=None)
    console.print(Flow(table))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "note" in text and "[bold]" not in text  # jcfix's own markup still styles
    assert "host said a[/]b\\x0alab-msa: rename_user ok" in text
    _assert_no_forged_line(text)
