"""Static checks over every shipped template, raw and rendered with every combination of its switches.

Rendered scripts are checked on their tree-sitter-powershell parse tree (comments and strings cannot trip
a check, and a check cannot be dodged by spacing); raw templates, which are not PowerShell until
rendered, get a text check with jinja and PowerShell comments removed, so a branch no combination
renders is still covered. Every checker is also run on known-bad samples: none of them can pass vacuously.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jinja2
import pstree
import pytest
from actioncases import all_renderings, option_id, required_fillers
from jinja2 import nodes

from toolkit.actions import Action, get_action, registry
from toolkit.errors import TemplateError, UsageError
from toolkit.templates import ENVIRONMENT, MARKER_RE, render_template, template_names, template_source

# Approved verbs of Windows PowerShell 5.1: the output of `Get-Verb` there (98 verbs), i.e. the fields of
# System.Management.Automation.Verbs{Common,Communications,Data,Diagnostic,Lifecycle,Security,Other};
# listed at https://learn.microsoft.com/powershell/scripting/developer/cmdlet/approved-verbs-for-windows-powershell-commands
# (PowerShell 6+ added Build and Deploy; they are left out because the scripts target 5.1).
APPROVED_VERBS: dict[str, tuple[str, ...]] = {
    "Common": (
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock",
        "Move", "New", "Open", "Optimize", "Pop", "Push", "Redo", "Remove", "Rename", "Reset", "Resize",
        "Search", "Select", "Set", "Show", "Skip", "Split", "Step", "Switch", "Undo", "Unlock", "Watch",
    ),
    "Communications": ("Connect", "Disconnect", "Read", "Receive", "Send", "Write"),
    "Data": (
        "Backup", "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo", "Dismount",
        "Edit", "Expand", "Export", "Group", "Import", "Initialize", "Limit", "Merge", "Mount", "Out",
        "Publish", "Restore", "Save", "Sync", "Unpublish", "Update",
    ),
    "Diagnostic": ("Debug", "Measure", "Ping", "Repair", "Resolve", "Test", "Trace"),
    "Lifecycle": (
        "Approve", "Assert", "Complete", "Confirm", "Deny", "Disable", "Enable", "Install", "Invoke",
        "Register", "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend", "Uninstall",
        "Unregister", "Wait",
    ),
    "Security": ("Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect"),
    "Other": ("Use",),
}  # fmt: skip
APPROVED = {verb.lower() for verbs in APPROVED_VERBS.values() for verb in verbs}

BANNED_COMMANDS = {"invoke-expression", "iex", "write-host"}

# Parameters that exist only in PowerShell 6+/7 (None: on any command).
PS7_PARAMETERS: dict[str | None, set[str]] = {
    None: {"-parallel"},
    "convertto-json": {"-enumsasstrings", "-asarray", "-escapehandling"},
    "convertfrom-json": {"-ashashtable", "-noenumerate", "-depth"},
}

# Subtrees where a '?' is not an operator: comments, strings, bareword arguments (wildcards), command names
# (the '?' alias of Where-Object) and variable names.
QUESTION_MARK_OK = {"comment", "string_literal", "generic_token", "command_name", "variable"}

KIND_TYPES = {"string": {"string"}, "string[]": {"string[]"}, "int": {"int"}, "bool": {"switch"}}
KIND_TYPES["secret"] = {"securestring", "string"}


# ---- the checkers -----------------------------------------------------------------------------------


def command_name(parsed: pstree.Parsed, node: Any) -> str:
    """A command node's name, lower case, without a module qualifier (``Module\\Name``)."""
    for child in node.children:
        if child.type == "command_name":
            return parsed.text(child).rsplit("\\", 1)[-1].lower()
        if child.type == "command_name_expr":
            literals = pstree.string_literals(child)
            if literals:
                return pstree.literal_value(parsed, literals[0]).rsplit("\\", 1)[-1].lower()
            return parsed.text(child).lower()
    return ""


def banned_commands(parsed: pstree.Parsed) -> list[str]:
    """Invoke-Expression/iex/Write-Host invoked by name, by qualified name or through ``&``/``.``."""
    found = []
    for node in pstree.walk(parsed.root):
        if node.type == "command" and command_name(parsed, node) in BANNED_COMMANDS:
            found.append(f"line {node.start_point[0] + 1}: {parsed.text(node)[:60]}")
    code = code_text(parsed)
    for pattern in (r"(?i)\[scriptblock\]\s*::\s*create\s*\(", r"(?i)\.InvokeScript\s*\("):
        found.extend(f"evaluates text as code: {m.group(0)}" for m in re.finditer(pattern, code))
    return found


def code_text(parsed: pstree.Parsed) -> str:
    """The source with comments and string literals blanked out (offsets kept)."""
    data = bytearray(parsed.data)
    for node in pstree.walk(parsed.root):
        if node.type in ("comment", "string_literal"):
            data[node.start_byte : node.end_byte] = b" " * (node.end_byte - node.start_byte)
    return data.decode("utf-8", errors="replace")


def ps7_syntax(parsed: pstree.Parsed) -> list[str]:
    """PowerShell 6+/7-only syntax: ``&&``/``||``, ``??``/``??=``/``?.``/``?[``/ternary, ``-Parallel``, ``clean {}``."""
    found = []

    def where(node: Any) -> str:
        return f"line {node.start_point[0] + 1}"

    def scan(node: Any) -> None:
        if node.type in QUESTION_MARK_OK:
            return
        if node.type == "pipeline_chain_tail":
            found.append(f"{where(node)}: pipeline chain operator {parsed.text(node).strip()!r}")
        if node.child_count == 0 and "?" in parsed.text(node):
            found.append(f"{where(node)}: null-conditional/coalescing or ternary operator near {parsed.text(node)!r}")
        if node.type == "command":
            name = command_name(parsed, node)
            for element in pstree.walk(node):
                if element.type == "command_parameter":
                    flag = parsed.text(element).split(":", 1)[0].lower()
                    if flag in PS7_PARAMETERS[None] or flag in PS7_PARAMETERS.get(name, set()):
                        found.append(f"{where(element)}: PowerShell 7 parameter {flag} of {name}")
        for child in node.children:
            scan(child)

    scan(parsed.root)
    # `clean { }` (7.3) is not in the grammar: it parses as a command or a name followed by a block.
    for node in pstree.walk(parsed.root):
        if node.type in ("command_name", "simple_name", "block_name") and parsed.text(node).strip().lower() == "clean":
            rest = parsed.data[node.end_byte :].lstrip()
            if rest.startswith(b"{"):
                found.append(f"{where(node)}: clean {{}} block")
    return found


def attribute_arguments(parsed: pstree.Parsed, attribute: Any) -> dict[str, str]:
    """``[Name(A, B=$x)]`` -> ``{'a': '$true', 'b': '$x'}`` (a bare argument means ``$true``)."""
    arguments = {}
    for node in pstree.walk(attribute):
        if node.type == "attribute_argument":
            name = parsed.text(node.children[0]).lower()
            value = parsed.text(node.children[-1]).strip().lower() if len(node.children) > 1 else "$true"
            arguments[name] = value
    return arguments


def attribute_name(parsed: pstree.Parsed, attribute: Any) -> str:
    for child in attribute.children:
        if child.type == "attribute_name":
            return parsed.text(child).lower()
        if child.type == "type_literal":
            return "[" + parsed.text(child.children[1]).lower() + "]"
    return ""


def top_param_block(parsed: pstree.Parsed) -> Any:
    blocks = [c for c in parsed.root.children if c.type == "param_block"]
    return blocks[0] if len(blocks) == 1 else None


def header_problems(parsed: pstree.Parsed, name: str, version: int) -> list[str]:
    """The marker, ``[CmdletBinding(SupportsShouldProcess)] param()`` and the strict-mode header."""
    found = []
    first_line = parsed.source.split("\n", 1)[0].rstrip("\r")
    match = MARKER_RE.match(first_line)
    if match is None:
        found.append(f"first line is not a '# jcfix-template: NAME vN' marker: {first_line[:60]!r}")
    elif (match["name"], int(match["version"])) != (name, version):
        found.append(f"marker says {match['name']} v{match['version']}, the declaration {name} v{version}")

    block = top_param_block(parsed)
    if block is None:
        found.append("no script-level param() block")
    else:
        bindings = [
            a for a in pstree.walk(block) if a.type == "attribute" and attribute_name(parsed, a) == "cmdletbinding"
        ]
        if not bindings:
            found.append("the param() block has no [CmdletBinding(...)]")
        elif attribute_arguments(parsed, bindings[0]).get("supportsshouldprocess") != "$true":
            found.append("[CmdletBinding()] lacks SupportsShouldProcess")

    statements = [
        c
        for sl in parsed.root.children
        if sl.type == "statement_list"
        for c in sl.children
        if c.is_named and c.type != "comment"
    ]
    strict = statements[0] if statements else None
    if strict is None or " ".join(parsed.text(strict).split()).lower() != "set-strictmode -version latest":
        found.append("the first statement is not Set-StrictMode -Version Latest")
    eap = statements[1] if len(statements) > 1 else None
    if eap is None or not is_stop_preference(parsed, eap):
        found.append("the second statement is not $ErrorActionPreference = 'Stop'")
    return found


def is_stop_preference(parsed: pstree.Parsed, statement: Any) -> bool:
    assignments = [n for n in pstree.walk(statement) if n.type == "assignment_expression"]
    if not assignments:
        return False
    left, operator, right = assignments[0].children[:3]
    if parsed.text(left).strip().lower() != "$erroractionpreference" or parsed.text(operator).strip() != "=":
        return False
    literals = pstree.string_literals(right)
    return (
        len(literals) == 1
        and parsed.text(right).strip() == parsed.text(literals[0])
        and (pstree.literal_value(parsed, literals[0]).lower() == "stop")
    )


def unapproved_functions(parsed: pstree.Parsed) -> list[str]:
    found = []
    for node in pstree.walk(parsed.root):
        if node.type == "function_name":
            name = parsed.text(node)
            verb, dash, noun = name.partition("-")
            if not dash or not noun or verb.lower() not in APPROVED:
                found.append(f"function {name}: not Verb-Noun with an approved verb")
    return found


def script_parameters(parsed: pstree.Parsed) -> list[tuple[str, set[str], bool]]:
    """The script's ``param()`` block as ``(name, types, mandatory)`` in order."""
    block = top_param_block(parsed)
    if block is None:
        return []
    params = []
    for node in pstree.walk(block):
        if node.type != "script_parameter":
            continue
        name = parsed.text(next(c for c in node.children if c.type == "variable")).lstrip("$")
        types: set[str] = set()
        mandatory = False
        for attribute in pstree.walk(node):
            if attribute.type != "attribute":
                continue
            label = attribute_name(parsed, attribute)
            if label.startswith("["):
                types.add(label[1:-1])
            elif label == "parameter":
                mandatory = attribute_arguments(parsed, attribute).get("mandatory") == "$true"
        params.append((name, types, mandatory))
    return params


JINJA_COMMENT_RE = re.compile(r"\{#.*?#\}", re.S)
PS_BLOCK_COMMENT_RE = re.compile(r"<#.*?#>", re.S)
PS_LINE_COMMENT_RE = re.compile(r"^\s*#.*$", re.M)
RAW_BANNED: dict[str, re.Pattern[str]] = {
    "Invoke-Expression/iex": re.compile(r"(?i)(?<![\w-])(invoke-expression|iex)(?![\w-])"),
    "Write-Host": re.compile(r"(?i)(?<![\w-])write-host(?![\w-])"),
    "&& or ||": re.compile(r"&&|\|\|"),
    "?? ?. ?[": re.compile(r"\?\?|\?\.|\?\["),
    "-Parallel": re.compile(r"(?i)-parallel\b"),
    "clean {}": re.compile(r"(?im)^\s*clean\s*\{"),
}


def raw_problems(source: str) -> list[str]:
    """Text checks on a raw template: jinja comments and whole-line PowerShell comments do not count."""
    text = JINJA_COMMENT_RE.sub("", source)
    text = PS_BLOCK_COMMENT_RE.sub("", text)
    text = PS_LINE_COMMENT_RE.sub("", text)
    return [f"{what}: {m.group(0)!r}" for what, pattern in RAW_BANNED.items() for m in pattern.finditer(text)]


def unquoted_jinja_outputs(source: str) -> list[str]:
    """``{{ ... }}`` that is neither a macro call nor piped through ``ps_literal``: values never go inline."""
    found = []
    for output in ENVIRONMENT.parse(source).find_all(nodes.Output):
        for expr in output.nodes:
            if isinstance(expr, nodes.TemplateData):
                continue
            if isinstance(expr, nodes.Call) or (isinstance(expr, nodes.Filter) and expr.name == "ps_literal"):
                continue
            found.append(f"line {expr.lineno}: {{{{ {type(expr).__name__} }}}} is not a macro call or | ps_literal")
    return found


# ---- the cases --------------------------------------------------------------------------------------


RENDERED = [
    pytest.param(action, options, id=f"{action.name}-{option_id(options)}") for action, options in all_renderings()
]
TEMPLATES = template_names()


def parsed_script(action: Action, options: dict[str, Any]) -> pstree.Parsed:
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


# ---- the checkers catch what they are for -----------------------------------------------------------

GOOD_BODY = "Set-StrictMode -Version Latest\n$ErrorActionPreference = 'Stop'\n"
GOOD_SCRIPT = (
    "# jcfix-template: sample v1\n[CmdletBinding(SupportsShouldProcess)]\nparam()\n" + GOOD_BODY + "Get-Date\n"
)


def check(checker: Callable[[pstree.Parsed], list[str]], source: str) -> list[str]:
    return checker(pstree.parse(source))


@pytest.mark.parametrize(
    "bad",
    [
        "Invoke-Expression 'Get-Date'",
        "iex $code",
        "IEX($code)",
        "$code | iex",
        "Write-Host 'hi'",
        "write-host hi",
        "Microsoft.PowerShell.Utility\\Write-Host hi",
        "& 'Invoke-Expression' $code",
        "& ('iex') $code",
        "[ScriptBlock]::Create($code).Invoke()",
        "$ExecutionContext.InvokeCommand.InvokeScript($code)",
    ],
)
def test_banned_checker_catches(bad: str) -> None:
    assert check(banned_commands, bad)


@pytest.mark.parametrize(
    "fine",
    [
        "Write-Output 'Write-Host'",
        "# Invoke-Expression is banned\nGet-Date",
        "Write-Verbose 'iex'",
        "Get-Item iexplore",
    ],
)
def test_banned_checker_ignores(fine: str) -> None:
    assert check(banned_commands, fine) == []


@pytest.mark.parametrize(
    "bad",
    [
        "$a = $b ?? 1",
        "$a ??= 1",
        "$a = ${b}?.Name",
        "$a = ${b}?[0]",
        "$a = $b ? 1 : 2",
        "Get-Date && Get-Date",
        "Get-Date || Get-Date",
        "1..3 | ForEach-Object -Parallel { $_ }",
        "1..3 | % -parallel { $_ }",
        "ConvertTo-Json -InputObject $x -EnumsAsStrings",
        "'{}' | ConvertFrom-Json -AsHashtable",
        "function Get-X { process { 1 } clean { 2 } }",
        "function Get-X { clean { 2 } }",
    ],
)
def test_ps7_checker_catches(bad: str) -> None:
    assert check(ps7_syntax, bad)


@pytest.mark.parametrize(
    "fine",
    [
        "Get-Process | ? { $_.Id -gt 4 }",
        "Get-ChildItem a?b",
        "$a = 'a ?? b && c || d'",
        "# $a ?? b, a && b\nGet-Date",
        "<# clean { } #>\nGet-Date",
        "Get-Process | Group-Object -AsHashTable -Property Id",
        "$x = 'clean'",
        "function Get-X { process { 1 } end { 2 } }",
        "ConvertTo-Json -InputObject $x -Depth 12 -Compress",
    ],
)
def test_ps7_checker_ignores(fine: str) -> None:
    assert pstree.problems(pstree.parse(fine)) == []
    assert check(ps7_syntax, fine) == []


def test_header_checker_accepts_a_good_script() -> None:
    assert header_problems(pstree.parse(GOOD_SCRIPT), "sample", 1) == []


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (GOOD_SCRIPT.replace("# jcfix-template: sample v1\n", ""), "marker"),
        (GOOD_SCRIPT.replace("sample v1", "sample v2"), "declaration"),
        (GOOD_SCRIPT.replace("sample v1", "other v1"), "declaration"),
        (GOOD_SCRIPT.replace("[CmdletBinding(SupportsShouldProcess)]\n", ""), "CmdletBinding"),
        (GOOD_SCRIPT.replace("(SupportsShouldProcess)", "()"), "SupportsShouldProcess"),
        (GOOD_SCRIPT.replace("(SupportsShouldProcess)", "(SupportsShouldProcess=$false)"), "SupportsShouldProcess"),
        (GOOD_SCRIPT.replace("[CmdletBinding(SupportsShouldProcess)]\nparam()\n", ""), "param"),
        (GOOD_SCRIPT.replace("Set-StrictMode -Version Latest\n", ""), "Set-StrictMode"),
        (GOOD_SCRIPT.replace("-Version Latest", "-Version 2.0"), "Set-StrictMode"),
        (GOOD_SCRIPT.replace("= 'Stop'", "= 'Continue'"), "ErrorActionPreference"),
        (GOOD_SCRIPT.replace("$ErrorActionPreference = 'Stop'\n", ""), "ErrorActionPreference"),
        (GOOD_SCRIPT.replace(GOOD_BODY, "Get-Date\n" + GOOD_BODY), "Set-StrictMode"),
    ],
)
def test_header_checker_catches(bad: str, expected: str) -> None:
    found = header_problems(pstree.parse(bad), "sample", 1)
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize("bad", ["function Do-Thing { }", "function helper { }", "function Get- { }"])
def test_verb_checker_catches(bad: str) -> None:
    assert check(unapproved_functions, bad + "\nGet-Date")


def test_verb_checker_accepts() -> None:
    assert check(unapproved_functions, "function ConvertTo-JcfixJson { }\nfunction Get-Thing { }\nGet-Date") == []


def test_param_reader() -> None:
    source = (
        "[CmdletBinding(SupportsShouldProcess)]\nparam(\n    [Parameter(Mandatory)] [string] $User,\n"
        "    [string[]] $Name = @(),\n    [Parameter(Mandatory=$false)][int] $Count,\n    [switch] $Force\n)\n"
        + GOOD_BODY
    )
    assert script_parameters(pstree.parse(source)) == [
        ("User", {"string"}, True),
        ("Name", {"string[]"}, False),
        ("Count", {"int"}, False),
        ("Force", {"switch"}, False),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "{{ common.prelude() }}\nInvoke-Expression $x",
        "$x = 1 && 2",
        "$a = $b ?? 1",
        "{% if x %}\nWrite-Host 'x'\n{% endif %}",
        "1..3 | ForEach-Object -Parallel { $_ }",
        "clean {\n}",
    ],
)
def test_raw_checker_catches(bad: str) -> None:
    assert raw_problems(bad)


def test_raw_checker_ignores_comments() -> None:
    assert raw_problems("{# no ??, &&, Write-Host #}\n# no iex here\n<#\n Write-Host\n#>\nGet-Date\n") == []


@pytest.mark.parametrize("bad", ["-Name '{{ name }}'", "{{ name | upper }}", '"{{ name }}"'])
def test_jinja_output_checker_catches(bad: str) -> None:
    assert unquoted_jinja_outputs(bad)


def test_jinja_output_checker_accepts() -> None:
    assert unquoted_jinja_outputs("{{ common.prelude() }}\n{{ caller() }}\n-Action {{ action | ps_literal }}") == []


# ---- issue 10: what real Windows PowerShell 5.1 needs of every script (fact sheet §8) ------------------

FIX_ACTIONS = [a for a in registry().values() if a.changes_state]
SCHEDULED_TASK_COMMANDS = {
    "get-scheduledtask", "get-scheduledtaskinfo", "register-scheduledtask", "unregister-scheduledtask",
    "start-scheduledtask", "new-scheduledtaskaction", "new-scheduledtasktrigger", "new-scheduledtaskprincipal",
    "new-scheduledtasksettingsset",
}  # fmt: skip


def rendered(action: Action) -> pstree.Parsed:
    return pstree.parse(action.render(required_fillers(action)).script)


def commands(parsed: pstree.Parsed) -> list[tuple[str, str]]:
    """Every command as ``(lower-case name, its text with whitespace collapsed)``."""
    return [
        (command_name(parsed, node), " ".join(parsed.text(node).split()))
        for node in pstree.walk(parsed.root)
        if node.type == "command"
    ]


def without_comments(parsed: pstree.Parsed) -> str:
    data = bytearray(parsed.data)
    for node in pstree.walk(parsed.root):
        if node.type == "comment":
            data[node.start_byte : node.end_byte] = b" " * (node.end_byte - node.start_byte)
    return data.decode("utf-8", errors="replace")


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_cim_method_reads_ignore_whatif(action: Action) -> None:
    # Defect 1: Invoke-CimMethod supports ShouldProcess; under -WhatIf GetOwner/GetOwnerSid return nothing.
    reads = [t for n, t in commands(rendered(action)) if n == "invoke-cimmethod" and "GetOwner" in t]
    assert all("-WhatIf:$false" in t for t in reads), reads


def test_signed_in_is_decided_by_sid_in_interactive_sessions() -> None:
    # Defects 1 and 9: owners by SID (GetOwnerSid) of every process in sessions > 0, not explorer.exe by name.
    source = without_comments(rendered(get_action("rename_user")))
    assert "-MethodName GetOwnerSid -WhatIf:$false" in source
    assert "'SessionId > 0'" in source
    assert "explorer.exe" not in source
    assert "$_.sid -eq $sidText" in source


@pytest.mark.parametrize("action", FIX_ACTIONS, ids=lambda a: a.name)
def test_jcfix_folders_are_created_protected_in_one_call(action: Action) -> None:
    # Defect 2: no New-Item/mkdir folder under ProgramData; CreateDirectory always with a descriptor.
    parsed = rendered(action)
    source = without_comments(parsed)
    assert not [t for n, t in commands(parsed) if n in ("new-item", "mkdir", "md") and "Directory" in t]
    assert "[System.IO.Directory]::CreateDirectory($level, (New-JcfixSecurityDescriptor" in source
    assert source.count("::CreateDirectory(") == 1
    assert "Assert-JcfixStateFolder" in source  # every run checks the existing levels
    assert "'S-1-5-32-544', 'S-1-5-18'" in source and "AreAccessRulesProtected" in source


@pytest.mark.parametrize("name", ["convert_msa", "remove_pin"])
def test_system_tasks_never_run_a_script_file(name: str) -> None:
    # Defect 2: the SYSTEM task's code travels in the action (-EncodedCommand), never a file a user could swap.
    source = without_comments(rendered(get_action(name)))
    assert "-EncodedCommand" in source
    actions = [t for n, t in commands(rendered(get_action(name))) if n == "new-scheduledtaskaction"]
    assert actions and not [t for t in actions if "-File" in t or ".ps1" in t]
    assert ".ps1'" not in source


def test_undo_checks_every_record_before_restoring_anything() -> None:
    # Defect 2: owner/DACL of each record file, the run id, and allow-listed targets, before any change.
    source = without_comments(rendered(get_action("undo_run")))
    assert "Get-JcfixTrustProblem -Path $file.FullName" in source
    assert "-cne $RunId" in source
    assert "$AllowedPolicyNames = @('AllowDomainPINLogon', 'BlockDomainPicturePassword')" in source
    reading = source.index("$records = @(Read-JcfixBackupRecord")
    assert reading < source.index("Undo-JcfixEntry -Record $record")


def test_collect_facts_parses_no_agent_file_on_the_host() -> None:
    # Defect 3: ConvertFrom-Json of managedUsers.json reads two users as one name in 5.1: files go back raw.
    source = without_comments(rendered(get_action("collect_facts")))
    assert "ConvertFrom-Json" not in source
    assert "Get-Content" not in source
    assert "[Convert]::ToBase64String($buffer, 0, $read)" in source


def test_pin_task_runs_once_and_expires() -> None:
    # Defect 4: -AtLogOn fires at every sign-in; the task expires, is deleted, and a SYSTEM task removes it.
    source = without_comments(rendered(get_action("remove_pin")))
    assert "$trigger.EndBoundary = " in source
    assert "-DeleteExpiredTaskAfter" in source
    assert "Translate([System.Security.Principal.NTAccount])" in source
    assert "-AtLogOn -User $account" in source
    assert "-Action @($deleteTask, $deleteSelf)" in source
    assert "'pin_provider'" in source and "'ngc_pin'" in source


def test_failure_keeps_changed_and_data() -> None:
    # Defect 5: Set-JcfixFailure leaves 'changed' and 'data' as the body set them.
    source = without_comments(rendered(get_action("rename_user")))
    failure = source[source.index("function Set-JcfixFailure") : source.index("function Get-JcfixValue")]
    assert "'changed'" not in failure and "'data'" not in failure


@pytest.mark.parametrize("action", FIX_ACTIONS, ids=lambda a: a.name)
def test_verification_messages_cannot_throw_on_null(action: Action) -> None:
    # Defect 5: '$after.name' inside a verification message throws under strict mode when $after is $null.
    for name, text in commands(rendered(action)):
        if name == "stop-jcfixverification":
            assert not re.search(r"\$after\.", text), text


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_scheduled_tasks_start_on_battery(action: Action) -> None:
    # Defect 6: Task Scheduler's defaults refuse to start on battery; every settings set says otherwise.
    settings = [t for n, t in commands(rendered(action)) if n == "new-scheduledtasksettingsset"]
    for text in settings:
        assert "-AllowStartIfOnBatteries" in text and "-DontStopIfGoingOnBatteries" in text
        assert "-ExecutionTimeLimit" in text
    for name, text in commands(rendered(action)):
        if name == "register-scheduledtask":
            assert "-Settings $settings" in text, text


@pytest.mark.parametrize("action", FIX_ACTIONS, ids=lambda a: a.name)
def test_task_results_are_read_as_uint32(action: Action) -> None:
    # LastTaskResult is a UInt32 HRESULT: [int] throws on 0x8007007E and the like (found by the lab engine).
    assert not re.search(r"\[int\][^\n]*LastTaskResult", without_comments(rendered(action)))


def test_msa_unlink_waits_on_the_task_and_checks_the_password_first() -> None:
    # Defect 6: wait on task state, result written atomically, password policy before the irreversible step.
    source = without_comments(rendered(get_action("convert_msa")))
    assert "Get-ScheduledTaskInfo -InputObject $task" in source
    assert "[System.IO.File]::Move($temporary, (Join-Path $work 'result.json'))" in source
    assert "'/export', '/cfg'" in source
    policy_check = source.index("$problems = @(Test-JcfixPasswordPolicy")
    assert policy_check < source.index("$outcome = Invoke-JcfixSystemTask")


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_64bit_locations_are_explicit(action: Action) -> None:
    # Defect 7: in a WOW64 process HKLM:\SOFTWARE is WOW6432Node and $env:ProgramFiles is (x86).
    source = without_comments(rendered(action))
    assert "HKLM:\\SOFTWARE" not in source and "HKLM:\\\\SOFTWARE" not in source
    assert source.count("$env:ProgramFiles") <= 1  # only Get-JcfixProgramFiles' fallback
    if "$env:ProgramFiles" in source:
        assert "$env:ProgramW6432" in source


def test_all_users_wipe_is_system_checked_and_stops_ngc_services() -> None:
    # Defect 8: no takeown (localised /d y), every native exit code checked, NGC services stopped and started.
    source = without_comments(rendered(get_action("remove_pin")))
    assert "takeown" not in source.lower()
    assert "@('NgcCtnrSvc', 'NgcSvc')" in source and "Start-Service -Name $name" in source
    assert "if ($LASTEXITCODE -ne 0) { throw" in source
    assert "Get-JcfixSignedInUserSid" in source


@pytest.mark.parametrize("name", ["remove_pin", "remove_picture_password"])
def test_block_reenroll_says_what_it_does_not_block(name: str) -> None:
    # Defect 10: the policies are worded for domain users; the plan, notes and --help say so.
    action = get_action(name)
    assert "unconfirmed" in action.param("BlockReenroll").help
    source = rendered(action).source
    assert "worded for domain users" in source and "UNCONFIRMED" in source


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_module_commands_pass_error_action(action: Action) -> None:
    # Defect 11: ScheduledTasks is a CDXML module; it does not see the script's $ErrorActionPreference.
    for name, text in commands(rendered(action)):
        if name in SCHEDULED_TASK_COMMANDS or name in ("get-ciminstance", "get-localuser", "invoke-cimmethod"):
            assert "-ErrorAction" in text, text


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_every_script_checks_elevation(action: Action) -> None:
    # Defect 12: a filtered token fails clearly, naming LocalAccountTokenFilterPolicy (collect_facts reports it;
    # list_users needs no administrator).
    source = without_comments(rendered(action))
    assert "LocalAccountTokenFilterPolicy" in source
    wrapper = source[source.index("$JcfixResult = New-JcfixResult") :]
    if action.name == "collect_facts":
        assert "elevated                = Test-JcfixElevated" in source
    elif action.name == "list_users":
        assert "Assert-JcfixElevated" not in wrapper  # reads only what a standard token can read
    else:
        assert "Assert-JcfixElevated" in wrapper.split("Invoke-JcfixAction")[0]


def test_registry_backups_are_whole_trees() -> None:
    # Defect 13: subkeys and value kinds are saved, and restored in full.
    fix_source = without_comments(rendered(get_action("remove_picture_password")))
    assert "Get-JcfixRegistryTree -Key $sub" in fix_source and "GetValueKind" in fix_source
    assert "DeleteSubKeyTree" in fix_source
    undo_source = without_comments(rendered(get_action("undo_run")))
    assert "Restore-JcfixRegistryTree -Parent $key -Tree $sub" in undo_source
