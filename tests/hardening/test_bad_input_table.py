"""Issue 15, "a fault and abuse suite that stays": every command x every kind of bad value, file and option ends
in exit 2 with one ``jcfix:`` line on stderr, no traceback, and nothing sent.

The commands come from the CLI's own click tree (``build_command()``): a new command or option joins the table
by itself (its kinds follow its annotation). "Nothing sent": every command that could connect is pointed at a
loopback listener that records connections (hosts, the JumpCloud API, a lab's control channel), and ``lab up``
must leave no lab behind. Cases that fail today because of an issue-15 item another helper is fixing are
strict xfails naming the item: when the fix lands they flip, and the lead removes the mark.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hardening_support import (
    ConnectionRecorder,
    Outcome,
    bad_input_problems,
    base_environment,
    leaf_commands,
    run_here,
    run_process,
)

CONTROL = "al\x1bice\nlab-msa: rename_user ok"
LONG = "x" * 400
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)
BOMB += "hosts: {pc: {address: 127.0.0.1, bomb: *i}}\n"

# (kind, value) per annotation; FILE kinds are built per test in tmp_path.
TEXT_KINDS = [("empty", ""), ("control", CONTROL), ("long", LONG)]
INT_KINDS = [("wrong-type", "abc"), ("negative", "-5")]
FLOAT_KINDS = [("wrong-type", "abc"), ("nan", "nan"), ("inf", "inf"), ("negative", "-5")]
FILE_KINDS = ["missing", "directory", "binary", "empty-name"]
ENUM_OPTIONS = {"output", "auth", "method", "format", "addressing", "serial", "via"}
YAML_NAMES = {"playbook_name", "scenario"}
DURATION_OPTIONS = {"wait", "interval"}
YAML_OPTIONS = {"inventory", "config"}

# Cases that fail today, each with the issue item that will fix it (strict: a fix flips it, and the mark goes).
KNOWN_FAILURES: dict[str, str] = {}


def _kinds(command_path: tuple[str, ...], param: Any) -> Iterator[tuple[str, Any]]:
    annotation = param.type_descriptor.annotation
    name = param.name
    if annotation is bool:
        return
    if "Path" in str(annotation):
        # Report files need not exist (and are overwritten); --html may name a folder (the report goes in it).
        kinds = {
            "junit": ["directory", "empty-name"],
            "html": ["empty-name"],
            "out": ["directory", "empty-name"],
            "history": ["directory", "binary", "empty-name"],
        }.get(name, FILE_KINDS)
        yield from ((kind, ("file", kind)) for kind in kinds)
        if name in YAML_OPTIONS:
            yield "yaml-bomb", ("file", "yaml-bomb")
            yield "unknown-key", ("file", "unknown-key")
        return
    if annotation is int or "int" in str(annotation):
        yield from INT_KINDS[:1] if name == "seed" else INT_KINDS  # any integer seeds the generator
        return
    if annotation is float or "float" in str(annotation):
        yield from FLOAT_KINDS
        return
    if name in YAML_NAMES:  # a playbook or scenario named by its file
        yield from ((kind, ("file", kind)) for kind in ("directory", "binary", "yaml-bomb"))
    if name == "base_address":
        yield "non-loopback", "10.0.0.1"
    if name in DURATION_OPTIONS:
        yield from [("wrong-type", "abc"), ("negative", "-5s"), ("nan", "nan")]
    if name in ENUM_OPTIONS:
        yield "bad-enum", "bogus"
    if name == "jc_user":  # JumpCloud usernames may be 1024 long (the V1 spec's maxLength): longer is refused
        yield from [*TEXT_KINDS[:2], ("long", "x" * 1025)]
        return
    yield from TEXT_KINDS


def _owners() -> dict[str, list[tuple[str, ...]]]:
    """The commands that take each option name, in tree order."""
    owners: dict[str, list[tuple[str, ...]]] = {}
    for path, command in leaf_commands():
        for param in command.params:
            owners.setdefault(param.name, []).append(path)
    return owners


def _tested_here(path: tuple[str, ...], name: str, kind: str, owners: dict[str, list[tuple[str, ...]]]) -> bool:
    """Whether this command gets this (option, kind): an option shared by 3+ commands (one definition, e.g. the
    connection options) has each kind tested on one of them, rotating, so every command gets some of it;
    ``--output`` with a bad format is tested everywhere (each command checks it itself)."""
    sharing = owners[name]
    if len(sharing) < 3 or (name, kind) == ("output", "bad-enum"):
        return True
    return sharing[zlib.crc32(f"{name}:{kind}".encode()) % len(sharing)] == path


def _cases() -> Iterator[Any]:
    owners = _owners()
    for path, command in leaf_commands():
        for param in command.params:
            for kind, value in _kinds(path, param):
                if not _tested_here(path, param.name, kind, owners):
                    continue
                case_id = f"{' '.join(path)}:{param.name}:{kind}"
                yield pytest.param(path, param.name, kind, value, id=case_id, marks=_marks(case_id))


def _marks(case_id: str) -> list[Any]:
    reason = KNOWN_FAILURES.get(case_id)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


# ---- one valid command line per command, pointed at the recorder -------------------------------------------

VALID_ARGUMENTS = {"name": "collect_facts", "action_name": "list_users", "playbook_name": "takeover-readiness"}
VALID_OPTIONS = {
    "user": "alice",
    "to": "bob",
    "jc_user": "alice",
    "system_id": "5f0c1ee5a7b9c3d2e1f0a9b8",
    "run_id": "20260101-000000-aaaa",
    "host": "pc-1",
}
SECRET_NAMES = {"name": "winrm-password"}


def _valid_line(path: tuple[str, ...], command: Any, port: int) -> dict[str, list[str]]:
    """``{param name: its valid args}`` for every parameter a valid run of ``path`` gives."""
    names = {p.name: p for p in command.params}
    line: dict[str, list[str]] = {}
    for param in command.params:
        if param.param_type_name == "argument":
            value = SECRET_NAMES["name"] if path[0] == "secrets" else VALID_ARGUMENTS.get(param.name, "x")
            if path == ("runs", "show"):
                value = VALID_OPTIONS["run_id"]
            line[param.name] = [value]
        elif param.required:
            line[param.name] = [param.opts[0], VALID_OPTIONS.get(param.name, "x")]
    if "inventory" in names:
        line["host"] = ["-H", "127.0.0.1"]
        line["port"] = ["--port", str(port)]
        line["http"] = ["--http"]
        line["deadline"] = ["--deadline", "5"]
        line["connect_timeout"] = ["--connect-timeout", "2"]
        line["read_timeout"] = ["--read-timeout", "2"]
        line["operation_timeout"] = ["--operation-timeout", "1"]
    if path[0] == "lab" and "host" in line:
        line["host"] = ["--host", "pc-1"]
    if path == ("lab", "up"):
        line["port"] = ["--port", "0"]
        line["addressing"] = ["--addressing", "ports"]
        line["jumpcloud"] = ["--no-jumpcloud"]
    if path == ("verify", "provisioned"):
        line["wait"] = ["--wait", "2s"]
        line["interval"] = ["--interval", "1s"]
    if "jc_api" in names:
        line["jc_api"] = ["--jc-api"]
    return line


def _bad_args(name: str, param: Any, kind: str, value: Any, tmp_path: Path) -> list[str]:
    if isinstance(value, tuple):
        value = _bad_file(name, kind, tmp_path)
    return [value] if param.param_type_name == "argument" else [param.opts[0], value]


def _bad_file(name: str, kind: str, tmp_path: Path) -> str:
    target = tmp_path / f"bad-{name}.yaml"
    if kind == "missing":
        return str(target)
    if kind == "directory":
        target.mkdir()
    elif kind == "binary":
        target.write_bytes(b"\x00\xff\xfe\x00PK\x03\x04" + bytes(range(256)))
    elif kind == "yaml-bomb":
        target.write_text(BOMB, encoding="utf-8")
    elif kind == "unknown-key":
        key = "adress" if name == "inventory" else "read_timout"
        text = {"hosts": {"pc": {"address": "127.0.0.1", key: "x"}}} if name == "inventory" else {key: 3}
        target.write_text(yaml.safe_dump(text), encoding="utf-8")
    else:
        return ""
    return str(target)


def _fake_lab(tmp_path: Path, port: int) -> None:
    """A lab state whose one host's control channel is the recorder (for ``lab sign-in`` and friends)."""
    lab = tmp_path / "lab"
    lab.mkdir(exist_ok=True)
    inventory = lab / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"hosts": {"pc-1": {"address": "127.0.0.1", "port": port}}}), "utf-8")
    state = {"pid": 1, "inventory": str(inventory), "scheme": "http", "auth": "basic", "hosts": 1}
    (lab / "lab.json").write_text(json.dumps(state), encoding="utf-8")


def _stop_started_lab(tmp_path: Path) -> bool:
    """Stop a lab that ``lab up`` started under ``tmp_path`` (it should not have); whether there was one."""
    state = tmp_path / "lab" / "lab.json"
    if not state.exists():
        return False
    pid = int(json.loads(state.read_text(encoding="utf-8"))["pid"])
    if pid <= 1:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


COMMANDS = dict(leaf_commands())


@pytest.mark.parametrize(("path", "name", "kind", "value"), list(_cases()))
def test_bad_input_is_refused_before_anything_connects(
    path: tuple[str, ...], name: str, kind: str, value: Any, tmp_path: Path
) -> None:
    command = COMMANDS[path]
    param = next(p for p in command.params if p.name == name)
    recorder = ConnectionRecorder()
    try:
        env = base_environment(tmp_path)
        env.update(JCFIX_JC_URL=f"http://127.0.0.1:{recorder.port}", JCFIX_JC_API_KEY="hardening-key")
        env["JCFIX_HISTORY"] = str(tmp_path / "history.sqlite3")
        _fake_lab(tmp_path, recorder.port)
        line = _valid_line(path, command, recorder.port)
        line[name] = _bad_args(name, param, kind, value, tmp_path)
        args = [*path, *[arg for args in line.values() for arg in args]]
        outcome = _run(path, kind, args, env)
    finally:
        recorder.close()
    started = path == ("lab", "up") and _stop_started_lab(tmp_path)
    problems = bad_input_problems(outcome)
    problems += [f"{recorder.count} connection(s) made"] if recorder.count else []
    problems += ["a lab was started"] if started else []
    assert problems == [], f"{args!r}: {problems}\nstderr: {outcome.stderr[-600:]}"


RUN_ID_COMMANDS = [p for p, c in leaf_commands() if any(x.name == "run_id" and not x.required for x in c.params)]


@pytest.mark.parametrize("path", RUN_ID_COMMANDS, ids=" ".join)
def test_a_reused_run_id_is_refused_before_anything_connects(path: tuple[str, ...], tmp_path: Path) -> None:
    """Undo and backups are keyed by run id (issue 15 item 8): a second run with the same ``--run-id`` is bad
    input, whatever the first run's outcome."""
    recorder = ConnectionRecorder()
    try:
        env = base_environment(tmp_path)
        env.update(JCFIX_JC_URL=f"http://127.0.0.1:{recorder.port}", JCFIX_JC_API_KEY="hardening-key")
        line = _valid_line(path, COMMANDS[path], recorder.port)
        line["run_id"] = ["--run-id", "reused-1"]
        args = [*path, *[arg for args in line.values() for arg in args]]
        first = run_here(args, env)
        assert recorder.count >= 1, first.stderr  # the first run did connect (and so is in the history)
        before = recorder.count
        second = run_here(args, env)
    finally:
        recorder.close()
    assert bad_input_problems(second) == [], second.stderr
    assert "reused-1" in second.stderr
    assert recorder.count == before


# Commands that reach nothing with a valid line: their table rows prove exit 2 and one line only.
LOCAL = {
    ("templates",),
    ("render",),
    ("demo",),
    ("lab", "up"),
    ("lab", "down"),
    ("lab", "scenarios"),
    ("runs", "list"),
    ("runs", "show"),
    ("secrets", "set"),
    ("secrets", "delete"),
    ("secrets", "status"),
    ("fix", "jc-undo"),
}


@pytest.mark.parametrize("path", [p for p, _ in leaf_commands() if p not in LOCAL], ids=" ".join)
def test_the_valid_line_reaches_the_recorder(path: tuple[str, ...], tmp_path: Path) -> None:
    """The control: each table row's command line, without its bad value, connects to the recorder, so a row
    whose recorder saw nothing proves the bad value stopped it."""
    recorder = ConnectionRecorder()
    try:
        env = base_environment(tmp_path)
        env.update(JCFIX_JC_URL=f"http://127.0.0.1:{recorder.port}", JCFIX_JC_API_KEY="hardening-key")
        _fake_lab(tmp_path, recorder.port)
        line = _valid_line(path, COMMANDS[path], recorder.port)
        outcome = run_here([*path, *[arg for args in line.values() for arg in args]], env)
    finally:
        recorder.close()
    assert recorder.count >= 1, outcome.stderr
    assert outcome.code in (2, 4, 7), outcome.stderr  # the recorder hangs up: unreachable


def _run(path: tuple[str, ...], kind: str, args: list[str], env: dict[str, str]) -> Outcome:
    if kind == "yaml-bomb" or path in (("lab", "up"), ("demo",)):
        # A bomb that is not refused takes gigabytes; lab up and demo start processes: a bounded subprocess.
        return run_process(args, env, timeout=8, bounded=kind == "yaml-bomb")
    return run_here(args, env)
