"""Every ``--help`` in one voice: no Python-type metavars, no " ." endings, 80 columns, sentences.

The walk covers every command and subcommand click knows, so a command added later is checked too.
"""

from __future__ import annotations

import re

import pytest

from toolkit.cli.app import build_command, main
from toolkit.cli.helptext import option_metavar, sentence, walk

COMMAND_PATHS = [path for path, _ in walk(build_command())]
# typer's rich help printed these: <bool>, <str>, <list[str]>, <float range>, <int range>, <path>.
PYTHON_METAVAR = re.compile(r"<(bool|str|int|float|path|list\[[^\]]*\]|[a-z]+ range|[a-z_]+)>")
DETERMINERS = {"A", "An", "The", "One", "Each", "Every", "All", "Some"}


def render_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    captured = capsys.readouterr()
    assert exited.value.code == 0, captured.err
    assert captured.err == ""
    return captured.out


def test_the_walk_reaches_nested_commands() -> None:
    assert ("fix", "rename") in COMMAND_PATHS
    assert ("secrets", "set") in COMMAND_PATHS
    assert len(COMMAND_PATHS) > 20


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "jcfix")
def test_help_has_no_type_metavars_no_stray_periods_and_fits_80_columns(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    text = render_help(path, capsys)
    assert text.startswith(f"Usage: jcfix {' '.join(path)}".rstrip())
    assert not PYTHON_METAVAR.search(text), PYTHON_METAVAR.search(text)
    assert "{" not in text.splitlines()[0]  # typer's {name} usage form
    for line in text.splitlines():
        assert len(line) <= 80, line
        assert not line.rstrip().endswith(" ."), line
        assert "╭" not in line and "│" not in line  # no rich boxes


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "jcfix")
def test_one_voice_imperative_first_line_and_a_period_after_every_option(path: tuple[str, ...]) -> None:
    command = dict(walk(build_command()))[path]
    first = (command.help or "").split("\n\n")[0]
    assert first[:1].isupper() and first.endswith("."), first
    assert first.split()[0] not in DETERMINERS, f"not imperative: {first!r}"
    for param in command.params:
        help_text = getattr(param, "help", None)
        if help_text:
            assert help_text[0].isupper() and help_text.endswith("."), (param.name, help_text)


def test_env_and_default_notes_survive_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    # rich markup used to swallow "[env: JCFIX_JC_ORG_ID]", leaving "(multi-tenant admins) ."
    text = render_help(("diagnose",), capsys)
    flat = " ".join(text.split())
    assert "[env: JCFIX_JC_ORG_ID]" in flat
    assert "-i, --inventory FILE" in text
    assert "--forks N" in text
    assert "Connection:" in text and "Reports:" in text


def test_sentence_introduces_value_lists_and_capitalises_the_rest() -> None:
    assert sentence("table or json.", "output") == "Output format: table or json."
    assert sentence("guided (default) or unlink", "method") == "Choose guided (default) or unlink."
    assert sentence("the local account's username") == "The local account's username."
    assert sentence("Name the run (default: generated).") == "Name the run (default: generated)."


def test_metavars_name_what_to_type() -> None:
    command = dict(walk(build_command()))[("runs", "list")]
    by_name = {p.name: p for p in command.params}
    assert option_metavar(by_name["limit"]) == "N"  # an int here, not --limit PATTERNS
    diagnose = {p.name: p for p in dict(walk(build_command()))[("diagnose",)].params}
    assert diagnose["connect_timeout"].metavar == "SECONDS"
    assert diagnose["jc_user"].metavar == "USERNAME"


def test_wide_terminals_get_wider_help_up_to_120_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    lines = render_help(("diagnose",), capsys).splitlines()
    assert max(len(line) for line in lines) <= 120
    assert any(len(line) > 80 for line in lines)  # not click's fixed 80
