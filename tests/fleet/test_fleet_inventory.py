"""Inventories: groups and variable precedence, CSV, --limit, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import UsageError
from toolkit.inventory import apply_limit, load_inventory, resolve_targets

GROUPED = """\
vars: {auth: ntlm, site: default}
groups:
  berlin:
    vars: {scheme: https, port: 5986, site: berlin, jc_users: [jonathan]}
    hosts: [pc-b1, pc-b2]
  laptops:
    vars: {site: mobile}
    hosts:
      pc-b2: {jc_users: [maria]}
      pc-l1:
hosts:
  pc-b1: {address: 127.0.0.2}
  pc-solo: {port: 5985, scheme: http}
"""


def test_groups_merge_variables_top_then_groups_in_order_then_host(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(GROUPED)
    hosts = {t.name: t for t in load_inventory(path)}
    assert list(hosts) == ["pc-b1", "pc-solo", "pc-b2", "pc-l1"]
    b1, b2 = hosts["pc-b1"], hosts["pc-b2"]
    assert (b1.connect_address, b1.scheme, b1.port, b1.auth) == ("127.0.0.2", "https", 5986, "ntlm")
    assert b1.vars == {"site": "berlin", "jc_users": ["jonathan"], "group_names": ["berlin"]}
    # Later groups win over earlier ones, the host's own entry (in a group) wins over both.
    assert b2.vars == {"site": "mobile", "jc_users": ["maria"], "group_names": ["berlin", "laptops"]}
    assert hosts["pc-solo"].vars == {"site": "default"} and hosts["pc-solo"].auth == "ntlm"


def test_lab_inventory_format_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "hosts:\n  lab-case:\n    address: 127.0.0.1\n    port: 40001\n    scheme: http\n    auth: basic\n"
        "    jc_users:\n    - Jonathan\nca_cert: /tmp/ca.pem\n"
    )
    (target,) = load_inventory(path)
    assert (target.port, target.ca_cert, target.vars) == (40001, "/tmp/ca.pem", {"jc_users": ["Jonathan"]})


def test_csv_inventory_lists_split_on_semicolon_or_bar(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(
        "host,jc_users,address,port,scheme,groups,site\n"
        "pc-1,jonathan;maria,127.0.0.2,5985,http,berlin|laptops,HQ\n"
        "\n"
        "pc-2,pat,,,,,\n"
    )
    first, second = load_inventory(path)
    assert (first.name, first.connect_address, first.port, first.scheme) == ("pc-1", "127.0.0.2", 5985, "http")
    assert first.vars == {"jc_users": ["jonathan", "maria"], "group_names": ["berlin", "laptops"], "site": "HQ"}
    assert second.vars == {"jc_users": ["pat"]} and second.port is None


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("pc-b*", ["pc-b1", "pc-b2"]),
        ("laptops", ["pc-b2", "pc-l1"]),
        ("berlin,!pc-b2", ["pc-b1"]),
        ("!laptops", ["pc-b1", "pc-solo"]),
        ("PC-SOLO, pc-l1", ["pc-solo", "pc-l1"]),
    ],
)
def test_limit_matches_host_and_group_names_and_excludes(tmp_path: Path, limit: str, expected: list[str]) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(GROUPED)
    assert [t.name for t in resolve_targets([], path, limit)] == expected


def test_limit_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(GROUPED)
    with pytest.raises(UsageError, match="matches none of the 4 host"):
        apply_limit(load_inventory(path), "nope-*")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "groups:\n  g:\n    vars:\n      port: 99999\n    hosts: [a]\n",
            r"inv.yml:4: groups.g.vars.port: must be a port",
        ),
        ("groups:\n  g:\n    hosts: [a]\n    children: [x]\n", r"inv.yml:4: groups.g.children: unknown key"),
        ("groups:\n  g:\n    hosts: [a, 3]\n", r"inv.yml:3: groups.g.hosts\[1\]: must be a host name"),
        ("hosts:\n  a: {}\nvars:\n  address: 1.2.3.4\n", r"inv.yml:4: vars.address: an address belongs to one host"),
        ("hostz:\n  a: {}\n", r"inv.yml:1: hostz: unknown key"),
        ("hosts:\n  a: {}\n  a: {}\n", r"inv.yml:3: hosts.a: given twice"),
        ("hosts:\n  a:\n    jc_users: {x: 1}\n", r"inv.yml:3: hosts.a.jc_users: must be a username or a list"),
    ],
)
def test_yaml_inventory_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_inventory(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,jc_users\npc-1,a\n", r"inv.csv:1: the header has no 'host' column"),
        ("host,port\npc-1,5985\npc-2,http\n", r"inv.csv:3: port: must be a port number"),
        ("host,scheme\npc-1,ftp\n", r"inv.csv:2: scheme: must be http or https"),
        ("host,jc_users\npc-1,a,extra\n", r"inv.csv:2: 3 cells, the header has 2 columns"),
        ("host,jc_users\nbad host,a\n", r"inv.csv:2: host: invalid host 'bad host'"),
    ],
)
def test_csv_inventory_errors_name_file_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_inventory(path)
