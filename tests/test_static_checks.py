"""Static checks over every shipped template, raw and rendered with every combination of its switches.

The generic conventions: every rendered script parses, uses no banned command and no PowerShell 7-only syntax,
has the marker/CmdletBinding/strict-mode header, approved verbs and the param() block its action declares; every
raw template passes the text checks, shows no value inline and belongs to one action (or is a shared piece).
The checkers are in tests/pscheckers.py and are themselves tested on known-bad samples in
tests/test_static_checkers.py; the Windows PowerShell 5.1 checks of issue 10 are in tests/test_static_windows.py.
"""

from __future__ import annotations

from typing import Any

import jinja2
import pstree
import pytest
from actioncases import all_renderings, option_id, required_fillers
from pscheckers import (
    APPROVED,
    banned_commands,
    header_problems,
    ps7_syntax,
    raw_problems,
    script_parameters,
    unapproved_functions,
    unquoted_jinja_outputs,
)

from toolkit.actions import Action, registry
from toolkit.errors import TemplateError, UsageError
from toolkit.templates import ENVIRONMENT, MARKER_RE, render_template, template_names, template_source

KIND_TYPES = {"string": {"string"}, "string[]": {"string[]"}, "int": {"int"}, "bool": {"switch"}}
KIND_TYPES["secret"] = {"securestring", "string"}


RENDERED = [
    pytest.param(action, options, id=f"{action.name}-{option_id(options)}") for action, options in all_renderings()
]


TEMPLATES = template_names()


def parsed_script(action: Action, options: dict[str, Any]) -> pstree.Parsed:
    """The action's script rendered for the given switches (required parameters filled in), parsed."""
    return pstree.parse(action.render(required_fillers(action), **options).script)


def test_the_checks_have_something_to_check() -> None:
    assert RENDERED and TEMPLATES
    assert len(APPROVED) == 98  # Windows PowerShell 5.1's Get-Verb count


@pytest.mark.parametrize(("action", "options"), RENDERED)
def test_rendered_script_parses(action: Action, options: dict[str, Any]) -> None:
    assert pstree.problems(parsed_script(action, options)) == []


@pytest.mark.parametrize(("action", "options"), RENDERED)
def test_rendered_script_has_no_banned_command(action: Action, options: dict[str, Any]) -> None:
    assert banned_commands(parsed_script(action, options)) == []


@pytest.mark.parametrize(("action", "options"), RENDERED)
def test_rendered_script_is_windows_powershell_51(action: Action, options: dict[str, Any]) -> None:
    assert ps7_syntax(parsed_script(action, options)) == []


@pytest.mark.parametrize(("action", "options"), RENDERED)
def test_rendered_script_header(action: Action, options: dict[str, Any]) -> None:
    assert header_problems(parsed_script(action, options), action.name, action.version) == []


@pytest.mark.parametrize(("action", "options"), RENDERED)
def test_function_names_use_approved_verbs(action: Action, options: dict[str, Any]) -> None:
    assert unapproved_functions(parsed_script(action, options)) == []


@pytest.mark.parametrize(("action", "options"), RENDERED)
def test_param_block_matches_the_declaration(action: Action, options: dict[str, Any]) -> None:
    declared = [(p.name, p.kind, p.required) for p in action.params]
    in_script = script_parameters(parsed_script(action, options))
    assert [name for name, _, _ in in_script] == [name for name, _, _ in declared]
    for (name, kind, required), (_, types, mandatory) in zip(declared, in_script, strict=True):
        assert types & KIND_TYPES[kind], f"{name}: declared {kind}, script says {sorted(types)}"
        assert mandatory == required, f"{name}: required={required} but Mandatory={mandatory}"


@pytest.mark.parametrize("name", TEMPLATES)
def test_raw_template_text(name: str) -> None:
    assert raw_problems(template_source(name)) == []


@pytest.mark.parametrize("name", TEMPLATES)
def test_raw_template_shows_no_value_inline(name: str) -> None:
    assert unquoted_jinja_outputs(template_source(name)) == []


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_is_shared_or_belongs_to_one_action(name: str) -> None:
    owners = [a.name for a in registry().values() if a.template == name]
    if name.startswith("_"):
        assert owners == [], f"shared piece {name} is the template of {owners}"
        assert MARKER_RE.match(template_source(name).split("\n", 1)[0]) is None
    else:
        assert len(owners) == 1, f"{name} belongs to {owners or 'no action'}"
        action = registry()[owners[0]]
        marker = MARKER_RE.match(template_source(name).split("\n", 1)[0].rstrip("\r"))
        assert marker is not None, f"{name}: the raw template's first line is not its marker"
        assert (marker["name"], int(marker["version"])) == (action.name, action.version)


@pytest.mark.parametrize("action", list(registry().values()), ids=list(registry()))
def test_declared_template_exists(action: Action) -> None:
    assert action.template in TEMPLATES


@pytest.mark.parametrize("action", [a for a in registry().values() if a.options], ids=lambda a: a.name)
def test_missing_variable_names_template_and_variable(action: Action) -> None:
    for option in action.options:
        given = {k: v for k, v in action.options.items() if k != option}
        with pytest.raises(TemplateError) as info:
            render_template(action.template, given)
        assert action.template in str(info.value)
        assert option in str(info.value)


def test_unknown_template_and_option_are_errors() -> None:
    with pytest.raises(TemplateError, match=r"no_such\.ps1\.j2"):
        render_template("no_such.ps1.j2", {})
    action = next(iter(registry().values()))
    with pytest.raises(UsageError, match="no_such_option"):
        action.render({}, no_such_option=True)


def test_jinja_is_strict() -> None:
    assert ENVIRONMENT.undefined is jinja2.StrictUndefined
