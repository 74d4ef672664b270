"""Rule PS51-PROGRAMDATA-DACL: a folder created under ProgramData without its protected DACL in the same call
(a user can create the folder first and own it); follows ProgramData through variables and parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pstree

from .tree import Node, Param, Script, function_params, params, snippet, unwrap, var_name

# Fact sheet §8: any user can pre-create a folder under C:\ProgramData and own it; a folder an elevated script
# trusts is created with its protected DACL in one call, [IO.Directory]::CreateDirectory(path, security).
PROGRAMDATA_RE = re.compile(r"(?i)\$\{?env:programdata\}?|[a-z]:\\+programdata|%programdata%|commonapplicationdata")


def programdata_variables(script: Script) -> set[str]:
    """Variables (by name, across the script: conservative) whose value can be derived from ProgramData."""
    # Edges "source -> variables it flows into": an assignment's right side flows into its variable, a call's
    # arguments into the called script function's parameters. Sources are variable names, or "" for the text
    # naming ProgramData itself.
    flows: list[tuple[set[str], set[str]]] = []

    def sources(node: Node) -> set[str]:
        found = {var_name(script.text(v)) for v in pstree.walk(node) if v.type == "variable"}
        return found | ({""} if PROGRAMDATA_RE.search(script.text(node)) else set())

    for name, left, right, _ in script.assignments:
        if unwrap(left).type == "variable":
            flows.append((sources(right), {name}))
    for parameter in script.nodes["script_parameter"]:  # a parameter's default value flows into it
        default = next((c for c in parameter.children if c.type == "script_parameter_default"), None)
        variable = next((c for c in parameter.children if c.type == "variable"), None)
        if default is not None and variable is not None:
            flows.append((sources(default), {var_name(script.text(variable))}))
    for cmd, name in script.commands():
        function = script.functions.get(name)
        elements = next((c for c in cmd.children if c.type == "command_elements"), None)
        declared = function_params(function) if function is not None else None
        if elements is not None and declared is not None:
            flows.append(
                (sources(elements), {var_name(script.text(v)) for v in pstree.walk(declared) if v.type == "variable"})
            )
    tainted = {""}
    while True:
        grown = tainted.union(*(targets for origin, targets in flows if origin & tainted))
        if grown == tainted:
            return tainted - {""}
        tainted = grown


def rule_programdata_dacl(script: Script) -> Iterator[tuple[Node, str]]:
    """Flag folders created under ProgramData without a security argument in the creating call."""
    tainted = programdata_variables(script)

    def under_programdata(node: Node) -> bool:
        variables = (var_name(script.text(v)) for v in pstree.walk(node) if v.type == "variable")
        return bool(PROGRAMDATA_RE.search(script.text(node))) or any(v in tainted for v in variables)

    fix = "create it with [IO.Directory]::CreateDirectory(path, DirectorySecurity) and verify owner and DACL"
    for cmd, name in script.commands():
        found = params(script, cmd)
        kind = (found.get("-itemtype") or found.get("-type") or Param(None, None)).following or ""
        is_dir = name == "new-item" and kind.strip("'\"").startswith(("dir", "container"))
        if (is_dir or name in ("md", "mkdir")) and under_programdata(cmd):
            yield cmd, f"'{snippet(script, cmd)}' can find a folder a user created first: {fix}"
    for call in script.nodes["invokation_expression"]:
        member = next((c for c in call.children if c.type == "member_name"), None)
        arguments = [n for n in pstree.walk(call) if n.type == "argument_expression" and n.parent.parent.parent == call]
        method = script.flat(member) if member else ""
        # CreateDirectory(path) and CreateSubdirectory(path) take the security second, Create() first.
        unsecured = len(arguments) < (1 if method == "create" else 2)
        if method in ("createdirectory", "createsubdirectory", "create") and unsecured and under_programdata(call):
            yield call, f"'{snippet(script, call)}' has no security argument: {fix}"
