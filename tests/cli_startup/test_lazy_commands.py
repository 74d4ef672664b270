"""Start-up stays light: `jcfix --help` and `jcfix templates` import no command they do not run.

Never timed: the checks are on what was imported (``sys.modules`` in a fresh interpreter), and on the
lazy command table agreeing with the commands it stands for. The timing is benchmarks/startup_bench.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from toolkit.cli.app import COMMANDS, build_command, main
from toolkit.cli.helptext import walk
from toolkit.cli.lazy import LazyCommand, LazyCommands, LazyGroup

# Libraries and packages that only a command that connects, renders, validates or runs a lab needs.
HEAVY = ("httpx", "jinja2", "rich", "requests", "pypsrp", "spnego", "toolkit.lab", "toolkit.runner")
# `jcfix templates` prints its table with rich; the action declarations still define their pydantic result
# models in the modules the listing imports, so those two stay allowed there.
TEMPLATES_NEEDS = ("rich",)

PROBE = """
import json, sys
from toolkit.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = json.loads(sys.stdin.read())
loaded = sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")})
print("\\n@@" + json.dumps(loaded))
"""


def imported_after(*args: str, watch: tuple[str, ...] = HEAVY) -> list[str]:
    """The ``watch`` modules (and submodules) a fresh interpreter holds after running ``jcfix ARGS`` in-process."""
    env = {**os.environ, "JCFIX_CONFIG": os.devnull, "COLUMNS": "80"}
    env.pop("JCFIX_ACTIONS_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(watch), capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    marker = result.stdout.rindex("\n@@")
    assert "Usage: jcfix" in result.stdout or "--help" not in args
    loaded: list[str] = json.loads(result.stdout[marker + 3 :])
    return loaded


def test_help_imports_no_command_and_no_heavy_library() -> None:
    assert imported_after("--help") == []


def test_templates_imports_only_what_listing_needs() -> None:
    loaded = imported_after("templates", watch=(*HEAVY, "typer._adapters"))
    assert [m for m in loaded if m.split(".")[0] not in TEMPLATES_NEEDS] == []
    # typer's pydantic coercion is not what brings pydantic in (see toolkit/cli/coercion.py).
    assert "typer._adapters" not in loaded


def test_help_lists_every_command_with_its_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    listing = capsys.readouterr().out.partition("\nCommands:\n")[2]
    listed = [line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line[2] != " "]
    assert listed == [spec.name for spec in COMMANDS]
    # The table's line for each command is the line the command itself gives (its docstring, polished).
    built = build_command().commands
    for spec in COMMANDS:
        assert built[spec.name].get_short_help_str(200) == spec.help, spec.name


@pytest.mark.parametrize("path", [p for p, _ in walk(build_command())], ids=lambda p: " ".join(p) or "jcfix")
def test_every_commands_own_help_works(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    captured = capsys.readouterr()
    assert exited.value.code == 0, captured.err
    assert captured.out.startswith(f"Usage: jcfix {' '.join(path)}".rstrip())


def test_a_command_is_built_once_and_only_when_asked() -> None:
    built: list[str] = []

    def load(spec: LazyCommand) -> Any:
        built.append(spec.name)
        return object()

    commands = LazyCommands(COMMANDS, load)  # type: ignore[arg-type]
    assert list(commands) == [spec.name for spec in COMMANDS] and "lab" in commands and len(commands) == 13
    assert built == []
    first = commands["lab"]
    assert commands.get("lab") is first and commands.get("nope") is None
    assert built == ["lab"]


def test_root_is_lazy_and_did_you_mean_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    root = build_command()
    assert isinstance(root, LazyGroup)
    with pytest.raises(SystemExit) as exited:
        main(["templats"])
    assert exited.value.code == 2
    assert "did you mean 'templates'" in capsys.readouterr().err.lower()


def test_completing_a_command_name_imports_no_command() -> None:
    env = {**os.environ, "COMP_WORDS": "jcfix la", "COMP_CWORD": "1", "_JCFIX_COMPLETE": "complete_bash"}
    code = (
        "import runpy, sys\ntry:\n    runpy.run_module('toolkit', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    )
    code += "print('@@', 'toolkit.cli.lab' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.stderr == ""
    words = result.stdout.split()
    assert words == ["lab", "@@", "False"]


def test_lab_help_does_not_load_the_lab_scenarios() -> None:
    # The scenarios (pydantic models of simulated hosts) load when a lab starts or lists them, not for --help.
    assert imported_after("lab", "up", "--help", watch=("toolkit.lab.scenarios")) == []
