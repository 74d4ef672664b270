"""Hosts from --host values and YAML inventories; bad input is caught before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import UsageError
from toolkit.inventory import load_inventory, parse_host_arg, resolve_targets


@pytest.mark.parametrize(
    ("arg", "name", "port"),
    [
        ("pc-0001", "pc-0001", None),
        ("pc-0001.corp.example:5985", "pc-0001.corp.example", 5985),
        ("127.0.0.2", "127.0.0.2", None),
        ("127.0.0.2:15985", "127.0.0.2", 15985),
        ("[::1]:5986", "::1", 5986),
        ("::1", "::1", None),
    ],
)
def test_host_arguments(arg: str, name: str, port: int | None) -> None:
    target = parse_host_arg(arg)
    assert (target.name, target.port) == (name, port)


@pytest.mark.parametrize(
    "arg", ["", "bad host", "-leading", "pc:0", "pc:99999", "pc:http", "a..b", "x" * 64, "[::1]junk", "pc;rm"]
)
def test_invalid_host_arguments(arg: str) -> None:
    with pytest.raises(UsageError):
        parse_host_arg(arg)


def test_inventory_hosts_and_variables(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(
        "hosts:\n"
        "  pc-1:\n    address: 127.0.0.2\n    port: 5985\n    scheme: http\n    auth: basic\n    jc_users: [Jonathan]\n"
        "  pc-2:\n"
    )
    first, second = load_inventory(path)
    assert (first.name, first.connect_address, first.port, first.scheme, first.auth) == (
        "pc-1",
        "127.0.0.2",
        5985,
        "http",
        "basic",
    )
    assert first.vars == {"jc_users": ["Jonathan"]}
    assert second.connect_address == "pc-2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hosts: [a, b]\n", "needs a 'hosts:' mapping"),
        ("hosts:\n  pc-1:\n    port: 0\n", r"inv.yml:3: hosts.pc-1.port: must be a port number 1..65535"),
        ("hosts:\n  pc-1: {}\n  pc-2:\n    scheme: ftp\n", r"inv.yml:4: hosts.pc-2.scheme: must be http or https"),
        ("hosts:\n  pc-1:\n    auth: digest\n", r"inv.yml:3: hosts.pc-1.auth: must be one of"),
        ("hosts:\n  bad host:\n", r"inv.yml:2: hosts.bad host: invalid host 'bad host'"),
        ("hosts:\n  pc-1: [\n", r"inv.yml:\d+: not valid YAML"),
    ],
)
def test_inventory_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_inventory(path)


def test_resolve_targets_needs_hosts_and_refuses_duplicates(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no hosts"):
        resolve_targets([], None)
    with pytest.raises(UsageError, match="listed twice"):
        resolve_targets(["pc-1", "pc-1"], None)
    with pytest.raises(UsageError, match="cannot read inventory"):
        resolve_targets([], tmp_path / "missing.yml")
