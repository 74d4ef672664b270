"""Checkers of jcfix's PowerShell scripts and raw templates (support for tests/test_static_*.py and
tests/test_windows_kit.py; not a test module).

Rendered scripts are checked on their tree-sitter-powershell parse tree (comments and strings cannot trip a
check, and a check cannot be dodged by spacing): banned commands, PowerShell 6+/7-only syntax, the script header,
approved verbs, the param() block. Raw templates, which are not PowerShell until rendered, get a text check with
jinja and PowerShell comments removed, and a check that no jinja output puts a value inline.
tests/test_static_checkers.py runs every checker on known-bad samples: none of them can pass vacuously.
"""

from __future__ import annotations

import re
from typing import Any

import pstree
from jinja2 import nodes

from toolkit.templates import ENVIRONMENT, MARKER_RE

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
    """An attribute's name, lower case (``cmdletbinding``), or ``[type]`` for a type constraint."""
    for child in attribute.children:
        if child.type == "attribute_name":
            return parsed.text(child).lower()
        if child.type == "type_literal":
            return "[" + parsed.text(child.children[1]).lower() + "]"
    return ""


def top_param_block(parsed: pstree.Parsed) -> Any:
    """The script-level ``param()`` block, or None if there is none (or more than one)."""
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
    """Whether the statement is exactly ``$ErrorActionPreference = 'Stop'`` (a literal, any case)."""
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
    """Functions not named Verb-Noun with a verb of Windows PowerShell 5.1's ``Get-Verb``."""
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
