"""``jcfix templates`` and ``jcfix render`` with ``--output json``; ``render`` without ``--param RunId``."""

from __future__ import annotations

from e2e_support import run_jcfix
from envelope_check import envelope_of

from toolkit.actions import registry
from toolkit.cli.templates_cmd import PLACEHOLDER_RUN_ID
from toolkit.exitcodes import ExitCode
from toolkit.templates import PREVIEW_SEPARATOR


def test_templates_json_lists_every_action_in_the_envelope() -> None:
    result = run_jcfix("templates", "--output", "json")
    assert result.returncode == 0, result.stderr
    document = envelope_of(result, "templates")
    assert document["hosts"] == [] and document["run_id"] is None
    listed = {t["action"]: t for t in document["templates"]}
    assert set(listed) == set(registry())
    rename = listed["rename_user"]
    assert rename["changes_host"] is True and rename["command"] == "rename"
    assert {p["name"] for p in rename["parameters"]} >= {"UserName", "NewName", "RunId"}


def test_render_without_run_id_shows_a_marked_placeholder() -> None:
    result = run_jcfix("render", "rename_user", "-p", "UserName=jonathan", "-p", "NewName=Jonathan")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    parameters = lines[lines.index(PREVIEW_SEPARATOR) :]
    at = parameters.index(f"    RunId = '{PLACEHOLDER_RUN_ID}'")
    assert "placeholder" in parameters[at - 1] and parameters[at - 1].lstrip().startswith("#")
    assert all(len(line) <= 80 for line in parameters)


def test_render_with_a_run_id_shows_it_unmarked() -> None:
    result = run_jcfix("render", "rename_user", "-p", "UserName=a", "-p", "NewName=b", "-p", "RunId=r-1")
    assert result.returncode == 0, result.stderr
    assert "    RunId = 'r-1'" in result.stdout
    assert "placeholder" not in result.stdout


def test_render_json_has_the_script_parameters_and_placeholders() -> None:
    result = run_jcfix("render", "rename_user", "-p", "UserName=a", "-p", "NewName=b", "--whatif", "-o", "json")
    assert result.returncode == 0, result.stderr
    document = envelope_of(result, "render")
    assert document["action"] == "rename_user"
    assert document["script"].startswith("# jcfix-template: rename_user v")
    assert document["parameters"] == {"UserName": "a", "NewName": "b", "RunId": PLACEHOLDER_RUN_ID, "WhatIf": True}
    assert document["placeholders"] == ["RunId"]
    given = run_jcfix("render", "list_users", "-o", "json")
    assert envelope_of(given, "render")["placeholders"] == []


def test_bad_output_is_refused_in_one_line() -> None:
    for args in (["templates", "-o", "xml"], ["render", "list_users", "-o", "xml"]):
        result = run_jcfix(*args)
        assert result.returncode == ExitCode.USAGE
        assert result.stderr.strip().splitlines() == ["jcfix: error: --output must be one of table, json"]
