"""Issue 15 items 2, 4, 5 (files) and 9: every YAML jcfix reads is bounded (alias bombs, nesting, size), binary
files are bad input naming the file, literal playbook parameters are checked once at load, and host-level
inventory keys are checked like the others.

Each refusal is a :class:`UsageError` (exit 2, one line); the CLI cases check that end to end.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hardening_support import ConnectionRecorder, bad_input_problems, base_environment, run_here

from toolkit.errors import UsageError
from toolkit.inventory import load_inventory
from toolkit.lab.scenarios import load_scenario
from toolkit.playbook import load_playbook
from toolkit.settings import load_config_file
from toolkit.yamllines import MAX_ALIAS_NODES, MAX_YAML_BYTES, parse_yaml

# Billion laughs, wide: 9 levels of 9 aliases each (9**9 values) in ~300 bytes.
WIDE = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)
# Deep: 64 levels of 2 aliases each (2**64 values).
DEEP = "l0: &l0 [x, x]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]\n" for i in range(1, 65))
# An alias inside its own anchor: a cycle, endless when walked.
CYCLE = "a: &a [1, *a]\n"
# Nesting without aliases, past the depth bound.
NESTED = "a: " + "[" * 150 + "]" * 150 + "\n"
PEAK_BYTES = 64 * 1024 * 1024  # generous: the bombs above would take gigabytes if expanded

# Each kind of YAML jcfix reads, with a place to put a payload where the format allows a free value.
LOADERS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "inventory": ("hosts:\n  pc-1: {vars: {bomb: *i}}\n", load_inventory),
    "playbook": ("name: p\nvars: {bomb: *i}\nsteps: [{action: diagnose}]\n", lambda p: load_playbook(str(p))),
    "config": ("connection: {port: 5985}\nextra: *i\n", load_config_file),
    "scenario": ("name: s\nbomb: *i\nhosts: []\n", load_scenario),
}


def _peak(action: Callable[[], Any]) -> tuple[BaseException | None, int]:
    """What ``action`` raised, and the peak of memory allocated while it ran."""
    tracemalloc.start()
    try:
        action()
        raised: BaseException | None = None
    except Exception as exc:  # the test inspects it
        raised = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


@pytest.mark.parametrize("shape", [WIDE, DEEP], ids=["wide", "deep"])
@pytest.mark.parametrize("kind", list(LOADERS))
def test_alias_bombs_are_refused_in_every_yaml_with_little_memory(tmp_path: Path, kind: str, shape: str) -> None:
    template, loader = LOADERS[kind]
    # The deep shape's last anchor is l64; the wide one's is i.
    text = shape + template.replace("*i", "*i" if shape is WIDE else "*l64")
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    raised, peak = _peak(lambda: loader(path))
    assert isinstance(raised, UsageError), raised
    assert str(path) in str(raised) and "aliases expand to more than" in str(raised)
    assert "\n" not in str(raised)
    assert peak < PEAK_BYTES, f"{peak:,} bytes"


@pytest.mark.parametrize(("text", "message"), [(CYCLE, "nested more than"), (NESTED, "nested more than")])
def test_cycles_and_deep_nesting_are_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_yaml(text, "f.yaml")


def test_ordinary_aliases_still_work() -> None:
    text = "base: &base {auth: ntlm, port: 5985}\nhosts:\n" + "".join(f"  h{i}: *base\n" for i in range(100))
    document, _ = parse_yaml(text, "inv.yml")
    assert document["hosts"]["h99"] == {"auth": "ntlm", "port": 5985}
    # Just past the budget is refused: the bound is a count, not a guess.
    over = "a: &a [" + ", ".join(["x"] * 100) + "]\nb: [" + ", ".join(["*a"] * (MAX_ALIAS_NODES // 100 + 2)) + "]\n"
    with pytest.raises(UsageError, match="aliases expand"):
        parse_yaml(over, "big.yml")


def test_oversized_files_are_refused_before_parsing(tmp_path: Path) -> None:
    playbook = tmp_path / "huge.yml"
    playbook.write_text("# padding\n" * (MAX_YAML_BYTES // 10 + 1), encoding="utf-8")
    with pytest.raises(UsageError, match=r"huge\.yml: refused: playbook larger than 1 MB"):
        load_playbook(str(playbook))
    inventory = tmp_path / "huge-inventory.yml"
    inventory.write_text("hosts:\n  pc-1: {}\n" + "# padding\n" * (MAX_YAML_BYTES // 10 + 1), encoding="utf-8")
    assert [t.name for t in load_inventory(inventory)] == ["pc-1"]  # inventories may be larger (10 MB)
    inventory.write_text("# padding\n" * (10 * 1024 * 1024 // 10 + 1), encoding="utf-8")
    with pytest.raises(UsageError, match="inventory larger than 10 MB"):
        load_inventory(inventory)


BINARY = b"\x00\xff\xfe\x00PK\x03\x04" + bytes(range(256))
UTF8_WITH_NUL = b"name: p\x00\nsteps: []\n"


@pytest.mark.parametrize("data", [BINARY, UTF8_WITH_NUL, b"name: \xff\xfe\n"], ids=["binary", "nul", "latin"])
@pytest.mark.parametrize(
    "loader",
    [load_inventory, lambda p: load_playbook(str(p)), load_config_file, load_scenario],
    ids=["inventory", "playbook", "config", "scenario"],
)
def test_binary_files_are_bad_input_naming_the_file(tmp_path: Path, loader: Callable[[Path], Any], data: bytes) -> None:
    path = tmp_path / "file.yaml"
    path.write_bytes(data)
    with pytest.raises(UsageError, match=r"file\.yaml: not a text .*\((binary data|not UTF-8)\)"):
        loader(path)


def _cli(tmp_path: Path, args: list[str]) -> tuple[Any, int]:
    recorder = ConnectionRecorder()
    try:
        env = base_environment(tmp_path)
        (tmp_path / "no-config.yaml").write_text("", encoding="utf-8")  # the environment's config: empty
        outcome = run_here([*args, "-H", "127.0.0.1", "--http", "--port", str(recorder.port)], env)
    finally:
        recorder.close()
    return outcome, recorder.count


@pytest.mark.parametrize("option", ["playbook", "--config", "--inventory"])
def test_binary_files_on_the_command_line_are_exit_2_naming_the_file(tmp_path: Path, option: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_bytes(BINARY)
    args = ["play", str(path)] if option == "playbook" else ["play", "takeover-readiness", option, str(path)]
    outcome, connections = _cli(tmp_path, args)
    assert bad_input_problems(outcome) == [] and str(path) in outcome.stderr, outcome
    assert connections == 0


PLAYBOOK = "name: p\nsteps:\n  - action: rename_user\n    params:\n      UserName: bob\n      NewName: {value}\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5", "parameter NewName takes text, not int"),
        ("'a/b'", "parameter NewName .*/"),
        ("'" + "x" * 21 + "'", "parameter NewName .*20"),
        ('"bad\\tname"', "parameter NewName"),
    ],
)
def test_literal_parameters_are_checked_once_at_load(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "pb.yml"
    path.write_text(PLAYBOOK.format(value=value), encoding="utf-8")
    with pytest.raises(UsageError, match=rf"pb\.yml:6: steps\[0\]\.params\.NewName: rename_user: {message}"):
        load_playbook(str(path))


def test_literal_parameters_of_the_diagnose_step_are_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "pb.yml"
    path.write_text("name: p\nsteps:\n  - action: diagnose\n    params: {log_lines: 99999}\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"pb\.yml:4: steps\[0\]\.params\.log_lines: diagnose: parameter log_lines"):
        load_playbook(str(path))


def test_placeholders_are_checked_when_rendered_not_at_load(tmp_path: Path) -> None:
    path = tmp_path / "pb.yml"
    path.write_text(PLAYBOOK.format(value='"{{ vars.new_name }}"'), encoding="utf-8")
    assert load_playbook(str(path)).steps[0].params["UserName"] == "bob"


def test_a_bad_literal_parameter_stops_play_before_any_host(tmp_path: Path) -> None:
    path = tmp_path / "pb.yml"
    path.write_text(PLAYBOOK.format(value="5"), encoding="utf-8")
    outcome, connections = _cli(tmp_path, ["play", str(path)])
    assert bad_input_problems(outcome) == [], outcome
    assert f"{path}:6: steps[0].params.NewName" in outcome.stderr
    assert connections == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "hosts:\n  pc-1:\n    adress: 10.0.0.1\n",
            r"inv\.yml:3: hosts\.pc-1\.adress: unknown key \(did you mean address\?\)",
        ),
        (
            "hosts:\n  pc-1:\n    jc_user: [a]\n",
            r"inv\.yml:3: hosts\.pc-1\.jc_user: unknown key \(did you mean jc_users\?\)",
        ),
        (
            "hosts:\n  pc-1:\n    password: hunter2\n",
            r"inv\.yml:3: hosts\.pc-1\.password: a secret belongs in JCFIX_PAS",
        ),
        (
            "hosts:\n  pc-1:\n    site: HQ\n",
            r"hosts\.pc-1\.site: unknown key \(a host's own variables go under vars:\)",
        ),
        (
            "groups:\n  g:\n    hosts:\n      pc-1: {adress: x}\n",
            r"inv\.yml:4: groups\.g\.hosts\.pc-1\.adress: unknown",
        ),
        (
            "groups:\n  g:\n    vars: {winrm_password: x}\n    hosts: [a]\n",
            r"groups\.g\.vars\.winrm_password: a secret",
        ),
        ("vars: {jc_user: [a]}\nhosts: {a: }\n", r"inv\.yml:1: vars\.jc_user: unknown key \(did you mean jc_users\?\)"),
        ("password: x\nhosts: {a: }\n", r"inv\.yml:1: password: a secret belongs"),
        ("hosts:\n  pc-1:\n    vars: {api_key: x}\n", r"hosts\.pc-1\.vars\.api_key: a secret"),
    ],
)
def test_inventory_keys_are_checked_at_every_level(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message) as info:
        load_inventory(path)
    assert "hunter2" not in str(info.value)


def test_every_documented_inventory_key_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(
        "ca_cert: /etc/jcfix/ca.pem\nvars: {auth: ntlm, site: default}\n"
        "groups:\n  berlin:\n    vars: {scheme: https, port: 5986, jc_users: [jonathan]}\n    hosts: [pc-0001]\n"
        "hosts:\n  pc-0001:\n    address: 10.1.2.3\n    port: 5986\n    scheme: https\n    auth: basic\n"
        "    ca_cert: /etc/jcfix/other.pem\n    jc_users: [Jonathan]\n    vars: {site: HQ, jc_users: [ignored]}\n",
        encoding="utf-8",
    )
    (target,) = load_inventory(path)
    assert (target.connect_address, target.port, target.scheme, target.auth) == ("10.1.2.3", 5986, "https", "basic")
    assert target.ca_cert == "/etc/jcfix/other.pem"
    assert target.vars == {"site": "HQ", "jc_users": ["Jonathan"], "group_names": ["berlin"]}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("host,adress", r"inv\.csv:1: column 'adress': unknown column \(did you mean address\?\)"),
        ("host,jc_user", r"column 'jc_user': unknown column \(did you mean jc_users\?\)"),
        ("host,password", r"column 'password': a secret belongs in JCFIX_PASSWORD"),
    ],
)
def test_csv_columns_are_checked(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(f"{header}\npc-1,x\n", encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_inventory(path)


def test_csv_documented_and_free_columns_still_load(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(
        "host,jc_users,address,port,scheme,auth,ca_cert,groups,site\npc-1,a;b,127.0.0.2,5985,http,basic,c.pem,g,HQ\n",
        encoding="utf-8",
    )
    (target,) = load_inventory(path)
    assert target.vars == {"jc_users": ["a", "b"], "group_names": ["g"], "site": "HQ"}
    assert (target.auth, target.ca_cert) == ("basic", "c.pem")


def test_names_too_long_for_the_os_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no playbook 'xxx"):
        load_playbook("x" * 400)
    with pytest.raises(UsageError, match="unknown scenario 'xxx"):
        load_scenario("x" * 400)


@pytest.mark.parametrize("kind", ["playbook", "inventory", "config"])
def test_an_alias_bomb_on_the_command_line_is_exit_2_with_one_line(tmp_path: Path, kind: str) -> None:
    template, _ = LOADERS[kind]
    path = tmp_path / f"{kind}.yml"
    path.write_text(WIDE + template, encoding="utf-8")
    args = {"playbook": [str(path)], "inventory": ["takeover-readiness", "-i", str(path)]}.get(
        kind, ["takeover-readiness", "--config", str(path)]
    )
    outcome, connections = _cli(tmp_path, ["play", *args])
    assert bad_input_problems(outcome) == [] and "aliases expand to more than" in outcome.stderr, outcome
    assert connections == 0
