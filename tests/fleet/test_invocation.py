"""Suggested commands carry the invocation (issue 13 item 3): hosts, inventory, options, shell quoting."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from toolkit.cli.connection import _build_connection
from toolkit.cli.invocation import Invocation, invocation_from_values, pasteable, quote_words
from toolkit.errors import UsageError


def _values(**given: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "host": None, "inventory": None, "limit": None, "login_user": None, "port": None, "http": None,
        "auth": None, "ca_cert": None, "no_cert_validation": False, "cert_pem": None, "cert_key_pem": None,
        "connect_timeout": None, "read_timeout": None, "operation_timeout": None, "deadline": None,
        "config": None, "junit": None, "html": None, "history": None, "via": "winrm", "forks": 256,
        "dry_run": False,
    }  # fmt: skip
    return {**base, **given}


def test_inventory_hosts_are_named_through_the_inventory(tmp_path: Path) -> None:
    inventory = tmp_path / "my lab" / "inv.yaml"
    inventory.parent.mkdir()
    inventory.write_text("hosts:\n  lab-msa: {address: 127.0.0.1, port: 5985, scheme: http}\n", encoding="utf-8")
    values = _values(inventory=inventory, login_user="lab admin", connect_timeout=9.0, history=tmp_path / "h.db")
    connection = _build_connection(values)
    fix = connection.invocation.command("jcfix fix convert-msa --host lab-msa --user maria", "posix")
    words = shlex.split(fix)
    assert words[:3] == ["jcfix", "fix", "convert-msa"]
    assert "--host" not in words
    assert words[words.index("-i") + 1] == str(inventory)
    assert words[words.index("--limit") + 1] == "@=lab-msa"
    assert words[words.index("--login") + 1] == "lab admin"
    assert words[words.index("--connect-timeout") + 1] == "9.0"
    assert words[words.index("--history") + 1] == str(tmp_path / "h.db")
    assert words[words.index("--user") + 1] == "maria"  # the rule's own words stay


def test_ad_hoc_host_keeps_its_port_and_transport() -> None:
    invocation = invocation_from_values(_values(host=["[::1]:5986", "pc-1"], via="jumpcloud"), "winrm")
    words = shlex.split(invocation.command("jcfix fix remove-pin --host ::1 --user pat", "posix"))
    assert words[words.index("--host") + 1] == "[::1]:5986"
    assert words[words.index("--via") + 1] == "jumpcloud"
    assert "-i" not in words and "--limit" not in words


def test_defaults_and_environment_are_not_repeated() -> None:
    invocation = invocation_from_values(_values(host=["pc-1"]), "winrm")
    assert invocation.command("jcfix fix remove-pin --host pc-1 --user pat", "posix") == (
        "jcfix fix remove-pin --host pc-1 --user pat"
    )


def test_only_options_the_command_takes_are_added() -> None:
    invocation = invocation_from_values(_values(inventory="inv.yaml", port=5985, http=True), "winrm")
    invocation = invocation.plus("--jc-org-id", "org-1")
    api_fix = shlex.split(invocation.command("jcfix fix jc-local-account --jc-user ann --to ann", "posix"))
    assert "--port" not in api_fix and "--http" not in api_fix and "-i" not in api_fix
    assert api_fix[api_fix.index("--jc-org-id") + 1] == "org-1"
    host_fix = shlex.split(invocation.command("jcfix fix remove-pin --host pc-1 --user pat", "posix"))
    assert {"--port", "--http", "-i"} <= set(host_fix) and "--jc-org-id" not in host_fix


@pytest.mark.parametrize(
    ("word", "posix", "powershell"),
    [
        ("john smith", "'john smith'", "'john smith'"),
        ("o'brien", "'o'\"'\"'brien'", "'o''brien'"),
        ("C:\\jc fix\\inv.yaml", "'C:\\jc fix\\inv.yaml'", "'C:\\jc fix\\inv.yaml'"),
        ("a,b", "a,b", "'a,b'"),
        ("$env:x", "'$env:x'", "'$env:x'"),
        ("", "''", "''"),
        ("lab-msa", "lab-msa", "lab-msa"),
    ],
)
def test_quoting_for_each_shell(word: str, posix: str, powershell: str) -> None:
    assert quote_words(["jcfix", word], "posix") == f"jcfix {posix}"
    assert quote_words(["jcfix", word], "powershell") == f"jcfix {powershell}"
    assert shlex.split(quote_words(["jcfix", word], "posix")) == ["jcfix", word]


def test_pasteable_rewrites_every_fix_and_nothing_else() -> None:
    documents = [
        {"host": "pc-1", "findings": [{"code": "A", "fix": "jcfix fix remove-pin --host pc-1 --user pat"},
                                      {"code": "B", "fix": None}]},
    ]  # fmt: skip
    out = pasteable(documents, Invocation(inventory="i.yaml"), "posix")
    assert out[0]["findings"][0]["fix"] == "jcfix fix remove-pin -i i.yaml --limit @=pc-1 --user pat"
    assert out[0]["findings"][1] == {"code": "B", "fix": None}
    assert documents[0]["findings"][0]["fix"] == "jcfix fix remove-pin --host pc-1 --user pat"  # not mutated


def test_a_fix_for_a_host_selects_that_host_not_a_group_of_its_name(tmp_path: Path) -> None:
    from toolkit.inventory import resolve_targets
    from toolkit.services.targeting import run_resolver

    # Host "sales" and a group "sales" of two other hosts: "--limit sales" would pick all three.
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "groups:\n  sales: {hosts: [pc-1, pc-2]}\nhosts:\n  sales: {}\n  pc-1: {}\n  pc-2: {}\n  pc-3: {}\n",
        encoding="utf-8",
    )
    fix = Invocation(inventory=str(inventory)).command("jcfix fix remove-pin --host sales --user pat", "posix")
    words = shlex.split(fix)
    limit = words[words.index("--limit") + 1]
    selected = resolve_targets([], inventory, limit, run_resolver(tmp_path / "h.db"))
    assert [t.name for t in selected] == ["sales"]
    # The exact form takes no wildcards, and says what it wants when empty.
    with pytest.raises(UsageError, match="matches none"):
        resolve_targets([], inventory, "@=pc-*", run_resolver(tmp_path / "h.db"))
    with pytest.raises(UsageError, match="write @=NAME"):
        resolve_targets([], inventory, "@=", run_resolver(tmp_path / "h.db"))
