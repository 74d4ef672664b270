"""A Windows PowerShell 5.1 lint for jcfix's rendered templates: tree-sitter-powershell trees, no PowerShell.

Each rule finds one class of pitfall that reads well on paper and fails on a real Windows host; the facts
behind them, with their sources, are in §8 of ../shared/research/windows-jumpcloud.md ("fact sheet §8").
Rules that cannot be exact are conservative: they flag what they cannot prove safe. A flagged line that is
safe gets an allowance on the line before it, exactly ``# ps51lint: allow RULE-ID: reason``; an allowance
that is malformed, names an unknown rule, gives no reason or suppresses nothing is itself a finding.

Invoke-Expression/iex, Write-Host and PowerShell 7-only syntax (``??``, ``?.``, ternary, ``&&``, ``||``,
``-Parallel``, ``clean {}``) are already checked by tests/test_static_checks.py (``banned_commands``,
``ps7_syntax``, ``raw_problems``) and are deliberately not repeated here.

Entry points: :func:`lint_source` (one script) and :func:`lint_templates` (every action rendered with every
combination of its switches, findings placed on the raw template line they came from). A script held in a
verbatim here-string (a SYSTEM task's script) is linted as a script of its own.

Known limits (each errs towards flagging, except where said): variables are tracked by name within one
function, so a value assigned at script level and used in a function is not followed (STRICT-NULL misses it);
a script function counts as returning nothing only if it has a bare ``return``; parameter-name prefixes are
not resolved (only full names and -EA/-WI), so a prefix is flagged as missing; the System32 -> SysWOW64 file
redirection is not checked (WOW64-PATH covers Program Files and HKLM:/SOFTWARE only).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pstree

Node = Any  # tree_sitter.Node

RULES: dict[str, str] = {
    "PS51-WHATIF-READ": "a read through a ShouldProcess cmdlet without -WhatIf:$false (returns nothing under -WhatIf)",
    "PS51-JSON-PIPE": "ConvertFrom-Json output piped on or wrapped in @() (5.1 writes an array as ONE object)",
    "PS51-WOW64-PATH": "a WOW64-redirected location without an explicit 64-bit view",
    "PS51-TASK-SETTINGS": "a scheduled task that refuses to start on battery or an -AtLogOn trigger that never expires",
    "PS51-NATIVE-EXIT": "a native command without an exit-code check or with stderr that can end the script",
    "PS51-PROGRAMDATA-DACL": "a folder created under ProgramData without a protected DACL in the same call",
    "PS51-STRICT-NULL": "member access on a result that can be $null, with no null guard (throws in strict mode)",
    "PS51-CDXML-ERRORACTION": "a CDXML module command without -ErrorAction (it ignores the script's preference)",
    "PS51-ALLOW": "a malformed, unknown, reason-less or unused '# ps51lint: allow' comment",
}


@dataclass(frozen=True, order=True)
class Finding:
    """One finding: the rule, the template (or file) and 1-based line it is on, and what is wrong."""

    rule: str
    template: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.rule} {self.template}:{self.line}: {self.message}"


# ---- the tree -----------------------------------------------------------------------------------------

# Nodes that only wrap one child (the grammar's precedence ladder): looked through when reading expressions.
WRAPPERS = {
    "pipeline", "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
    "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
    "array_literal_expression", "unary_expression", "parenthesized_expression", "argument_expression",
    "logical_argument_expression", "bitwise_argument_expression", "comparison_argument_expression",
    "additive_argument_expression", "multiplicative_argument_expression", "format_argument_expression",
    "range_argument_expression", "statement_list", "left_assignment_expression",
}  # fmt: skip
PARAM_ALIASES = {"-ea": "-erroraction", "-wi": "-whatif"}  # common-parameter aliases (about_CommonParameters)
SCOPE_PREFIX_RE = re.compile(r"^\$\{?(?:script:|local:|global:|private:)?", re.I)


def unwrap(node: Node) -> Node:
    """Look through single-child wrapper nodes (and parentheses) to the expression they hold."""
    while node.type in WRAPPERS:
        named = [c for c in node.named_children if c.type != "comment"]
        if len(named) != 1:
            break
        node = named[0]
    return node


class Script:
    """A parsed script with the indexes the rules share (built in one walk of the tree)."""

    def __init__(self, source: str) -> None:
        self.parsed = pstree.parse(source)
        self.nodes: dict[str, list[Node]] = defaultdict(list)
        for node in pstree.walk(self.parsed.root):
            self.nodes[node.type].append(node)
        self.functions = {
            self.text(next(c for c in f.children if c.type == "function_name")).lower(): f
            for f in self.nodes["function_statement"]
        }
        self.assignments = [  # (variable, left, right, assignment)
            (var_name(self.text(a.children[0])), a.children[0], a.children[-1], a)
            for a in self.nodes["assignment_expression"]
        ]

    def text(self, node: Node) -> str:
        return self.parsed.text(node)

    def flat(self, node: Node) -> str:
        """The node's text on one line, lower case, whitespace collapsed (for comparisons)."""
        return " ".join(self.text(node).split()).lower()

    @cached_property
    def embedded(self) -> list[tuple[Node, str, int]]:
        """The scripts held in verbatim here-strings (see :func:`embedded_scripts`)."""
        return list(embedded_scripts(self))

    def commands(self) -> Iterator[tuple[Node, str]]:
        for node in self.nodes["command"]:
            yield node, command_name(self, node)


def var_name(text: str) -> str:
    """``$Script:Foo`` / ``${foo}`` -> ``$foo`` (lower case, no scope prefix)."""
    return "$" + SCOPE_PREFIX_RE.sub("", text.strip()).rstrip("}").lower()


def line_of(node: Node) -> int:
    return node.start_point[0] + 1


def ancestors(node: Node) -> Iterator[Node]:
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def scope_of(node: Node) -> Node | None:
    """The function a node is in (None: the script's top level)."""
    return next((a for a in ancestors(node) if a.type == "function_statement"), None)


def inside(node: Node, container: Node) -> bool:
    return container.start_byte <= node.start_byte and node.end_byte <= container.end_byte


# Windows PowerShell 5.1's built-in aliases of the commands the rules look at (Get-Alias there).
ALIASES = {
    "icim": "invoke-cimmethod", "gcim": "get-ciminstance", "gwmi": "get-wmiobject", "iwmi": "invoke-wmimethod",
    "gi": "get-item", "gp": "get-itemproperty", "gpv": "get-itempropertyvalue", "gci": "get-childitem",
    "ls": "get-childitem", "dir": "get-childitem", "gc": "get-content", "cat": "get-content", "type": "get-content",
    "gsv": "get-service", "gps": "get-process", "ps": "get-process", "gcm": "get-command", "ni": "new-item",
    "ndr": "new-psdrive", "mount": "new-psdrive", "sv": "set-variable", "set": "set-variable",
    "nv": "new-variable", "rv": "remove-variable", "nal": "new-alias", "start": "start-process",
    "saps": "start-process", "ncim": "new-ciminstance", "where": "where-object", "?": "where-object",
    "select": "select-object", "foreach": "foreach-object", "%": "foreach-object", "sort": "sort-object",
}  # fmt: skip


def command_name(script: Script, node: Node) -> str:
    """A command node's name, lower case, alias resolved, without module qualifier or path (``& $exe``
    gives ``$exe``, ``& (expr)`` gives ``(expr)``)."""
    for child in node.children:
        if child.type == "command_name":
            name = script.text(child).rsplit("\\", 1)[-1].lower()
            return ALIASES.get(name, name)
        if child.type == "command_name_expr":
            text = script.text(child).strip()
            if text[:1] in "'\"" and text[-1:] == text[:1]:
                return text[1:-1].rsplit("\\", 1)[-1].lower()
            return text.lower()
    return ""


@dataclass(frozen=True)
class Param:
    """A named argument: ``colon`` is the value of ``-Name:value``, ``following`` the next argument's text."""

    colon: str | None
    following: str | None


def params(script: Script, cmd: Node) -> dict[str, Param]:
    """A command's named parameters (lower case, aliases resolved), including keys of a splatted hashtable."""
    found: dict[str, Param] = {}
    elements = next((c for c in cmd.children if c.type == "command_elements"), None)
    kids = (
        [c for c in elements.children if c.type != "command_argument_sep" or ":" in script.text(c)] if elements else []
    )
    for i, kid in enumerate(kids):
        if kid.type == "command_parameter":
            name = script.text(kid).rstrip(":").lower()
            colon = i + 1 < len(kids) and kids[i + 1].type == "command_argument_sep"
            value = kids[i + 2] if colon and i + 2 < len(kids) else (kids[i + 1] if i + 1 < len(kids) else None)
            following = None if value is None or value.type == "command_parameter" else script.flat(value)
            found[PARAM_ALIASES.get(name, name)] = Param(following if colon else None, following)
        elif unwrap(kid).type == "variable" and script.text(kid).startswith("@"):
            for key, value in splat_keys(script, "$" + script.text(kid)[1:]).items():
                found[PARAM_ALIASES.get("-" + key, "-" + key)] = Param(value, value)
    return found


def splat_keys(script: Script, variable: str) -> dict[str, str]:
    """Keys (lower case) and value texts of the hashtable literal(s) assigned to ``variable`` in the script."""
    keys: dict[str, str] = {}
    for name, _, rhs, _ in script.assignments:
        if name == var_name(variable):
            for entry in (n for n in pstree.walk(rhs) if n.type == "hash_entry"):
                keys[script.text(entry.children[0]).strip("'\" ").lower()] = script.flat(entry.named_children[-1])
    return keys


def has_switch(found: dict[str, Param], name: str) -> bool:
    """A switch given and not turned off with ``:$false``."""
    return name in found and found[name].colon not in ("$false", "0")


def statement_of(node: Node) -> Node:
    """The statement of a block (script, function, script block, if/loop body) that holds ``node``."""
    blocks = ("program", "script_block_body", "statement_block")
    while node.parent is not None and not (node.parent.type == "statement_list" and node.parent.parent.type in blocks):
        node = node.parent
    return node


def cmdletbinding_ssp(script: Script, param_block: Node | None) -> bool:
    """Whether a param() block carries ``[CmdletBinding(SupportsShouldProcess)]`` (or ``=$true``)."""
    if param_block is None:
        return False
    for attribute in (c for lst in param_block.children if lst.type == "attribute_list" for c in lst.children):
        if script.flat(attribute).startswith("[cmdletbinding"):
            for argument in (n for n in pstree.walk(attribute) if n.type == "attribute_argument"):
                parts = script.flat(argument).replace(" ", "").split("=")
                if parts[0] == "supportsshouldprocess" and parts[-1] in ("supportsshouldprocess", "$true"):
                    return True
    return False


def snippet(script: Script, node: Node) -> str:
    text = " ".join(script.text(node).split())
    return text if len(text) <= 70 else text[:67] + "..."


def split_logical(script: Script, node: Node, operator: str) -> list[Node]:
    """The operands of ``a OP b OP c`` (looking through parentheses); any other node is one operand."""
    node = unwrap(node)
    if node.type != "logical_expression":
        return [node]
    operands, ops = node.children[0::2], {script.flat(c) for c in node.children[1::2]}
    if ops != {operator}:
        return [node]
    return [part for operand in operands for part in split_logical(script, operand, operator)]


def tests_variable(script: Script, node: Node, name: str, *, for_null: bool) -> bool:
    """``$x`` / ``$null -ne $x`` (for_null False) or ``-not $x`` / ``!$x`` / ``$null -eq $x`` (for_null True)."""
    node = unwrap(node)
    if node.type == "variable":
        return not for_null and var_name(script.text(node)) == name
    if node.type == "expression_with_unary_operator" and script.flat(node.children[0]) in ("-not", "!"):
        return for_null and tests_variable(script, node.children[-1], name, for_null=False)
    if node.type == "comparison_expression" and len(node.children) == 3:
        sides = {var_name(script.text(node.children[0])), var_name(script.text(node.children[2]))}
        operator = script.flat(node.children[1])
        return sides == {"$null", name} and operator == ("-eq" if for_null else "-ne")
    return False


def proves(script: Script, condition: Node, name: str, *, null: bool) -> bool:
    """True if the condition being true proves ``name`` null (null=True) or not null (null=False)."""
    parts = split_logical(script, condition, "-or" if null else "-and")
    return any(tests_variable(script, part, name, for_null=null) for part in parts)


def condition_of(node: Node) -> Node | None:
    """The condition of an if_statement or elseif_clause."""
    kids = node.children
    opening = next((i for i, c in enumerate(kids) if c.type == "("), None)
    return kids[opening + 1] if opening is not None else None


# ---- the rules: each yields (node, message) ------------------------------------------------------------

# Fact sheet §8: a ShouldProcess cmdlet skips its work under the script's -WhatIf, reads included
# (Invoke-CimMethod: src/Microsoft.Management.Infrastructure.CimCmdlets/InvokeCimMethodCommand.cs). -WhatIf sets
# $WhatIfPreference, which every function the script calls inherits (about_Preference_Variables, about_Scopes),
# so a SupportsShouldProcess script puts all its code in scope. SupportsShouldProcess = true in the engine
# source for the others: Invoke-WmiMethod (commands/management/InvokeWMIMethodCommand.cs), New-PSDrive
# (management/Navigation.cs), New-/Set-/Remove-Variable (utility/Var.cs), New-Alias (utility/NewAliasCommand.cs),
# Start-Process (management/Process.cs), New-CimInstance (CimCmdlets; -ClientOnly only builds an object).
SHOULDPROCESS_READS = {
    "invoke-cimmethod", "invoke-wmimethod", "new-psdrive", "new-variable", "set-variable", "remove-variable",
    "new-alias", "start-process", "new-ciminstance",
}  # fmt: skip
# WMI methods that change the machine (Win32_UserAccount Rename/SetPassword, Win32_Process Create/Terminate,
# StdRegProv Set*/Create*/Delete*, Win32_Service Change*/Start*/Stop*): -WhatIf rightly skips them.
CIM_WRITE_METHOD_RE = re.compile(r"^(rename|setpassword|create\w*|terminate|delete\w*|set\w+|change\w*|start\w*"
                                 r"|stop\w*|pause\w*|resume\w*|install|uninstall)$")  # fmt: skip


def rule_whatif_read(script: Script) -> Iterator[tuple[Node, str]]:
    root_block = next((c for c in script.parsed.root.children if c.type == "param_block"), None)
    whole = cmdletbinding_ssp(script, root_block)
    ssp = [f for f in script.nodes["function_statement"] if cmdletbinding_ssp(script, function_params(f))]
    throwing = throwing_functions(script)
    for cmd, name in script.commands():
        if name not in SHOULDPROCESS_READS or not (whole or any(inside(cmd, f) for f in ssp)):
            continue
        if after_shouldprocess(script, cmd, throwing):  # never runs under -WhatIf
            continue
        found = params(script, cmd)
        if name == "new-ciminstance" and "-clientonly" not in found:
            continue
        method = (found.get("-methodname") or found.get("-name") or Param(None, None)).following
        if name.startswith("invoke-") and method and CIM_WRITE_METHOD_RE.match(method.strip("'\"")):
            continue
        if found.get("-whatif", Param(None, None)).colon != "$false":
            yield cmd, f"'{snippet(script, cmd)}' returns nothing under -WhatIf: pass -WhatIf:$false to a read"


def after_shouldprocess(script: Script, node: Node, throwing: set[str]) -> bool:
    """Whether ``node`` runs only when ShouldProcess said yes: inside ``if (... -and $PSCmdlet.ShouldProcess())``
    or after ``if (-not $PSCmdlet.ShouldProcess(...)) { return }`` in its function."""

    def asks(part: Node) -> bool:
        return ".shouldprocess(" in script.flat(part)

    child = node
    for ancestor in ancestors(node):
        if ancestor.type == "function_statement":
            return False
        owner = ancestor.parent
        if ancestor.type == "statement_block" and owner is not None and owner.type in ("if_statement", "elseif_clause"):
            parts = split_logical(script, condition_of(owner), "-and")
            if any(asks(p) and unwrap(p).type != "expression_with_unary_operator" for p in parts):
                return True
        if ancestor.type == "statement_list":
            for statement in (s for s in ancestor.named_children if s.end_byte <= child.start_byte):
                parts = (
                    split_logical(script, condition_of(statement), "-or") if statement.type == "if_statement" else []
                )
                refused = any(asks(p) and unwrap(p).type == "expression_with_unary_operator" for p in parts)
                if refused and block_exits(script, statement, throwing):
                    return True
        child = ancestor
    return False


def function_params(function: Node) -> Node | None:
    body = next((c for c in function.children if c.type == "script_block"), None)
    return next((c for c in body.children if c.type == "param_block"), None) if body else None


def rule_json_pipe(script: Script) -> Iterator[tuple[Node, str]]:
    # Fact sheet §8 (PowerShell/PowerShell#3424, fixed in 6+): 5.1 writes a JSON array as ONE pipeline object,
    # so a following command, @() around the pipeline or a function's caller sees one item. Assign first, or
    # wrap the command in parentheses, which enumerates (#3424). Invoke-RestMethod parses JSON the same way
    # (reported in #15272).
    for cmd, name in script.commands():
        if name not in ("convertfrom-json", "invoke-restmethod"):
            continue
        chain = (
            [c for c in cmd.parent.children if c.type == "command"] if cmd.parent.type == "pipeline_chain" else [cmd]
        )
        outer = next(a for a in ancestors(cmd) if a.type not in ("pipeline_chain", "pipeline", "statement_list"))
        if chain[-1] != cmd:
            yield cmd, f"{name} output sent down the pipeline: in 5.1 a JSON array arrives as one object"
        elif outer.type == "array_expression":
            yield outer, f"@(... | {name}) holds a JSON array as one element in 5.1: assign first"
        elif outer.type in ("program", "script_block_body", "statement_block", "flow_control_statement"):
            # Written to the function's (or script block's) output: the caller's pipeline sees one object.
            yield cmd, f"{name} output written to the caller's pipeline: in 5.1 a JSON array goes as one object"


# Fact sheet §8 (learn.microsoft.com/windows/win32/winprog64/registry-redirector, .../shared-registry-keys): in a
# 32-bit process these are the x86 folders and HKLM\SOFTWARE is WOW6432Node. No shared-key exception is made.
# HKLM\SOFTWARE without the provider's colon is flagged only as a native command's argument (reg.exe).
WOW64_VARIABLE_RE = re.compile(r"(?i)\$\{?env:(common)?programfiles(\(x86\))?\}?(?![\w(])")
WOW64_PROVIDER_RE = re.compile(r"(?i)(?<![\w])(hklm:|hkey_local_machine)[\\/]+software(?![\w])")
WOW64_FOLDER_RE = re.compile(r"(?i)getfolderpath\s*\(\s*['\"\[]?[\w.+\]:]*?(common)?programfiles")
WOW64_NATIVE_RE = re.compile(r"(?i)(?<![\w])hklm[\\/]+software(?![\w])")


def rule_wow64_path(script: Script) -> Iterator[tuple[Node, str]]:
    view = "use $env:ProgramW6432 or [Microsoft.Win32.RegistryKey]::OpenBaseKey('LocalMachine', 'Registry64')"
    strings, natives = script.nodes["string_literal"], native_commands(script)
    # A function that consults ProgramW6432 may fall back to ProgramFiles (32-bit Windows has no ProgramW6432).
    w6432 = {scope_of(v) for v in script.nodes["variable"] if script.flat(v).strip("${}") == "env:programw6432"}
    embedded = {node for node, _, _ in script.embedded}  # linted as scripts of their own
    for node in [n for n in strings if n not in embedded] + script.nodes["generic_token"]:
        text = script.text(node)
        hit = WOW64_PROVIDER_RE.search(text) or (any(inside(node, n) for n in natives) and WOW64_NATIVE_RE.search(text))
        variable = WOW64_VARIABLE_RE.search(text) if node.type == "string_literal" else None
        if hit or (variable and scope_of(node) not in w6432):
            yield node, f"'{(hit or variable).group(0)}' is redirected in a 32-bit process: {view}"
    for node in script.nodes["variable"]:
        if not WOW64_VARIABLE_RE.fullmatch(script.text(node)) or scope_of(node) in w6432:
            continue
        if not any(a.type == "string_literal" for a in ancestors(node)):  # strings were checked above
            yield node, f"{script.text(node)} is Program Files (x86) in a 32-bit process: {view}"
    for call in script.nodes["invokation_expression"]:
        if WOW64_FOLDER_RE.search(script.text(call)):
            yield call, f"'{snippet(script, call)}' is Program Files (x86) in a 32-bit process: {view}"


def rule_task_settings(script: Script) -> Iterator[tuple[Node, str]]:
    # Fact sheet §8: DisallowStartIfOnBatteries and StopIfGoingOnBatteries default to true (learn.microsoft.com/
    # windows/win32/taskschd/taskschedulerschema-disallowstartifonbatteries-settingstype-element); an -AtLogOn
    # trigger fires at every logon unless the task expires or deletes itself (New-ScheduledTaskTrigger docs).
    for cmd, name in script.commands():
        found = params(script, cmd)
        if name in ("register-scheduledtask", "new-scheduledtask") and not {"-settings", "-inputobject"} & found.keys():
            text = script.text(script.parsed.root).lower()
            xml_ok = all(f"<{e}>false</{e}>" in text for e in ("disallowstartifonbatteries", "stopifgoingonbatteries"))
            if "-xml" not in found or not xml_ok:
                yield cmd, f"{name} without -Settings: the default task does not start on battery"
        elif name in ("schtasks", "schtasks.exe") and re.search(r"(?i)\s[/-]create\b", script.text(cmd)):
            if not re.search(r"(?i)\s[/-]xml\b", script.text(cmd)):
                yield cmd, "schtasks /create without /xml: the default task does not start on battery"
        elif name == "new-scheduledtasksettingsset":
            missing = [
                s for s in ("-allowstartifonbatteries", "-dontstopifgoingonbatteries") if not has_switch(found, s)
            ]
            if missing:
                yield cmd, f"New-ScheduledTaskSettingsSet without {' and '.join(missing)}"
        elif name == "new-scheduledtasktrigger" and has_switch(found, "-atlogon"):
            assigned = next((a for a in ancestors(cmd) if a.type == "assignment_expression"), None)
            target = var_name(script.text(assigned.children[0])) if assigned else None
            ends = {var_name(script.text(left)) for _, left, _, _ in script.assignments}
            if target is None or f"{target}.endboundary" not in ends:
                yield cmd, "an -AtLogOn trigger with no EndBoundary set on it runs at every sign-in, forever"


# Native commands by name (`sc` is left out: in PowerShell it is Set-Content's alias).
KNOWN_NATIVE = {
    "takeown", "icacls", "certutil", "reg", "schtasks", "net", "net1", "whoami", "cmd", "powershell", "pwsh",
    "dsregcmd", "wmic", "netsh", "quser", "query", "logoff", "msiexec", "secedit", "auditpol", "gpupdate",
    "bcdedit", "cipher", "robocopy", "attrib", "fsutil", "manage-bde", "wevtutil", "cscript", "tasklist",
    "taskkill", "shutdown", "klist", "nltest", "dism", "rundll32", "regsvr32",
}  # fmt: skip


def native_commands(script: Script) -> list[Node]:
    blocks = {n for n, _, r, _ in script.assignments if unwrap(r).type == "script_block_expression"}
    found = []
    for cmd, name in script.commands():
        by_operator = any(c.type == "command_invokation_operator" for c in cmd.children)
        by_name = name.endswith((".exe", ".com", ".bat", ".cmd")) or name in KNOWN_NATIVE
        # `& $x` or `& (expr)` runs whatever it names: native unless it is a script block, a variable assigned
        # one, a .ps1 script or a Verb-Noun command name (conservative).
        not_native = name.startswith("{") or var_name(name) in blocks or name.endswith(".ps1")
        by_operator = by_operator and not not_native and not re.fullmatch(r"[a-z]+-[a-z0-9]+", name)
        if by_name or by_operator:
            found.append(cmd)
    return found


def rule_native_exit(script: Script) -> Iterator[tuple[Node, str]]:
    # Fact sheet §8: a native command's stderr lines become error records in a remote session; check
    # $LASTEXITCODE. Merging with 2>&1 is not enough in 5.1: redirected stderr records are still subject to
    # $ErrorActionPreference, so under 'Stop' the first line ends the script (PowerShell/PowerShell#3996, #4002;
    # only PowerShell 7.2 stopped that, PR #13361). The call needs a non-'Stop' preference in its own scope.
    natives = native_commands(script)
    exit_reads = [v.start_byte for v in script.nodes["variable"] if var_name(script.text(v)) == "$lastexitcode"]
    eap = [(a, script.flat(r).strip("'\"")) for n, _, r, a in script.assignments if n == "$erroractionpreference"]
    stop_script = any(value == "stop" for _, value in eap)
    for cmd in natives:
        problems = []
        statement = statement_of(cmd)
        region_end = statement.end_byte
        for sibling in statement.parent.named_children[statement.parent.named_children.index(statement) + 1 :]:
            if any(inside(n, sibling) for n in natives):
                break
            region_end = sibling.end_byte
        if not any(cmd.end_byte <= pos < region_end for pos in exit_reads):
            problems.append("no $LASTEXITCODE check after it in the same block")
        if stop_script:
            elements = next((c for c in cmd.children if c.type == "command_elements"), cmd)
            if not any(re.fullmatch(r"[2*]>&1", script.flat(n)) for n in elements.children if n.type == "redirection"):
                problems.append("stderr not merged with 2>&1")
            local = [(a, v) for a, v in eap if a.end_byte <= cmd.start_byte and inside(cmd, preference_scope(a))]
            if not local or max(local, key=lambda item: item[0].start_byte)[1] == "stop":
                problems.append("$ErrorActionPreference is 'Stop' here, so in 5.1 any stderr line ends the script")
        if problems:
            yield cmd, f"native '{snippet(script, cmd)}': " + "; ".join(problems)


def preference_scope(assignment: Node) -> Node:
    """Where a preference assignment holds: its function or script block, else the whole script."""
    outermost = assignment
    for node in ancestors(assignment):
        if node.type in ("function_statement", "script_block_expression"):
            return node
        outermost = node
    return outermost


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


# Fact sheet §8: under Set-StrictMode -Version 2+, $null.Prop throws (PSGetMemberBinder). What can give $null:
# the commands below (they can return nothing), filters that can match nothing, any -ErrorAction
# SilentlyContinue, a script function with a bare `return`, and a lookup `$h[$k]` assigned to a variable.
NULLABLE_COMMANDS = {
    "get-ciminstance", "get-wmiobject", "invoke-cimmethod", "invoke-wmimethod", "get-itemproperty",
    "get-itempropertyvalue", "get-item", "get-childitem", "get-service", "get-scheduledtask",
    "get-scheduledtaskinfo", "get-process", "get-command", "get-content", "convertfrom-json", "get-localgroupmember",
    "where-object", "where", "?", "select-object", "select", "foreach-object", "foreach", "%", "sort-object",
}  # fmt: skip
FILTERED_NULLABLE = {"get-localuser", "get-localgroup"}  # nullable only with a filter (all users otherwise)
SILENT = {"silentlycontinue", "ignore", "0", "4"}
# Exact lookups (no wildcards) that, with -ErrorAction Stop, throw instead of returning nothing when the item
# is missing (Get-Item/-ItemProperty -LiteralPath: ItemNotFoundException; Get-LocalUser -SID: UserNotFound).
# -Name/-TaskName lookups accept wildcards, and a wildcard that matches nothing returns nothing: not listed.
EXACT_LOOKUPS = {
    "get-item": "-literalpath", "get-itemproperty": "-literalpath", "get-localuser": "-sid",
    "get-localgroup": "-sid", "get-scheduledtaskinfo": "-inputobject",
}  # fmt: skip


def nullable(script: Script, node: Node, quiet_functions: set[str]) -> str | None:
    """What makes an expression's value possibly $null (a command name), or None if it cannot be."""
    node = unwrap(node)
    if node.type == "element_access":  # a dictionary lookup of a missing key gives $null, even in strict mode
        return f"the lookup {snippet(script, node)}"
    commands = [node] if node.type == "command" else [c for c in node.children if c.type == "command"]
    if node.type not in ("command", "pipeline_chain") or not commands:
        return None
    for cmd in commands:
        action = params(script, cmd).get("-erroraction")
        if action and (action.following or "").strip("'\"") in SILENT:
            return f"{command_name(script, cmd)} -ErrorAction {action.following}"
    name = command_name(script, commands[-1])
    found = params(script, commands[-1])
    action = (found.get("-erroraction") or Param(None, None)).following or ""
    if EXACT_LOOKUPS.get(name) in found and action.strip("'\"") in ("stop", "1"):
        return None
    elements = next((c for c in commands[-1].children if c.type == "command_elements"), None)
    filtered = name in FILTERED_NULLABLE and elements is not None and script.flat(elements) != ""
    return name if name in NULLABLE_COMMANDS or filtered or name in quiet_functions else None


def quiet_functions(script: Script) -> set[str]:
    """Script functions with a bare ``return`` (or ``return $null``): they can return nothing."""
    quiet = set()
    for flow in script.nodes["flow_control_statement"]:
        words = script.flat(flow).split()
        function = scope_of(flow)
        if function is not None and words[0] == "return" and words[1:] in ([], ["$null"]):
            quiet.add(next(k for k, f in script.functions.items() if f == function))
    return quiet


def throwing_functions(script: Script) -> set[str]:
    """Script functions whose last statement throws: calling one ends the block."""
    names = set()
    for name, function in script.functions.items():
        lists = [
            n for n in pstree.walk(function) if n.type == "statement_list" and n.parent.type == "script_block_body"
        ]
        last = lists[0].named_children[-1] if lists and lists[0].named_children else None
        text = script.flat(last) if last is not None else ""
        if text.startswith("throw") or ".throwterminatingerror(" in text:
            names.add(name)
    return names


def rule_strict_null(script: Script) -> Iterator[tuple[Node, str]]:
    quiet, throwing = quiet_functions(script), throwing_functions(script)
    sites = script.nodes["member_access"] + script.nodes["element_access"] + script.nodes["invokation_expression"]
    for site in sorted(sites, key=lambda n: n.start_byte):
        if script.text(site.children[1]) == "::":
            continue
        target = unwrap(site.children[0])
        if target.type == "element_access":  # `$h[$k].P` inline: too often a collection that cannot miss
            continue
        if target.type != "variable":
            reason = nullable(script, target, quiet)
            if reason:
                yield site, f"'{snippet(script, site)}': ({reason}) can be $null and strict mode throws on its members"
            continue
        name, scope = var_name(script.text(target)), scope_of(site)
        earlier = [a for n, _, _, a in script.assignments if n == name and a.end_byte <= site.start_byte]
        earlier = [a for a in earlier if scope_of(a) == scope]
        # Every earlier assignment that can give $null is checked after it, or overwritten on every path to
        # the site (by an assignment in a block that holds the site) with a value that cannot be $null.
        for assignment in earlier:
            reason = nullable(script, assignment.children[-1], quiet)
            safe = not reason or guarded(script, site, name, assignment.end_byte, throwing)
            if not safe and not overwritten(script, assignment, site, earlier, quiet):
                yield site, f"'{snippet(script, site)}': {name} comes from {reason}, can be $null, and is not checked"
                break


def overwritten(script: Script, assignment: Node, site: Node, earlier: list[Node], quiet: set[str]) -> bool:
    """Whether a later assignment that cannot give $null runs on every path from ``assignment`` to ``site``."""
    return any(
        later.start_byte >= assignment.end_byte
        and nullable(script, later.children[-1], quiet) is None
        and inside(site, statement_of(later).parent)
        for later in earlier
    )


def guarded(script: Script, site: Node, name: str, after: int, throwing: set[str]) -> bool:
    """Whether a null check of ``name`` placed after ``after`` (the assignment) dominates ``site``."""
    child = site
    for node in ancestors(site):
        if node.type == "function_statement":
            return False
        owner = node.parent
        if node.type == "statement_block" and owner is not None:
            # In the block of `if ($x)`, or in the else of `if (-not $x)`, set after the assignment.
            tested, null = (owner, False) if owner.type != "else_clause" else (owner.parent, True)
            condition = condition_of(tested) if tested.type in ("if_statement", "elseif_clause") else None
            if condition is not None and condition.start_byte >= after and proves(script, condition, name, null=null):
                return True
        if node.type == "logical_expression":
            operands, ops = node.children[0::2], {script.flat(c) for c in node.children[1::2]}
            earlier = [o for o in operands if o.end_byte <= child.start_byte and o.start_byte >= after]
            if ops == {"-and"} and any(proves(script, o, name, null=False) for o in earlier):
                return True
            if ops == {"-or"} and any(proves(script, o, name, null=True) for o in earlier):
                return True
        if node.type == "statement_list":
            earlier = [s for s in node.named_children if after <= s.start_byte and s.end_byte <= child.start_byte]
            if any(s.type == "if_statement" and exits_if_null(script, s, name, throwing) for s in earlier):
                return True
        child = node
    return False


def exits_if_null(script: Script, statement: Node, name: str, throwing: set[str]) -> bool:
    """``if (-not $x) { return | throw | exit | break | continue | <throwing function> | $x = ... }``."""
    if not proves(script, condition_of(statement), name, null=True):
        return False
    return block_exits(script, statement, throwing) or any(
        core.type == "assignment_expression" and var_name(script.text(core.children[0])) == name
        for core in block_statements(statement)
    )


def block_statements(statement: Node) -> list[Node]:
    """The statements (unwrapped) directly in the first block of an if_statement."""
    block = next(c for c in statement.children if c.type == "statement_block")
    body = next((c for c in block.children if c.type == "statement_list"), None)
    return [unwrap(inner) for inner in body.named_children] if body else []


def block_exits(script: Script, statement: Node, throwing: set[str]) -> bool:
    """Whether the first block of an if_statement leaves: return, throw, exit, break, continue, or a call of a
    script function whose last statement throws."""
    return any(
        core.type == "flow_control_statement" or (core.type == "command" and command_name(script, core) in throwing)
        for core in block_statements(statement)
    )


# Fact sheet §8: ScheduledTasks (and the other CDXML modules: NetSecurity, NetTCPIP, NetAdapter, NetConnection,
# SmbShare, Storage, Defender, DnsClient, PnpDevice) are module functions: they do not see a caller's
# script-scope $ErrorActionPreference (PowerShell/PowerShell#4568, #24389 for Get-NetIPAddress), so each call
# passes -ErrorAction explicitly.
CDXML_RE = re.compile(
    r"^[a-z]+-(clustered)?scheduledtask(action|principal|settingsset|trigger|info)?$"
    r"|^[a-z]+-net(firewall|ipsec|adapter|connectionprofile|ipaddress|ipinterface|ipconfiguration|route"
    r"|tcpconnection|udpendpoint|neighbor)\w*$|^[a-z]+-smb(share|session|openfile|connection|mapping)\w*$"
    r"|^[a-z]+-(disk|volume|partition|physicaldisk|storagepool|virtualdisk)$|^[a-z]+-mp(preference|computerstatus"
    r"|threat\w*|scan|signature)$|^[a-z]+-dnsclient\w*$|^[a-z]+-pnpdevice\w*$"
)


def rule_cdxml_erroraction(script: Script) -> Iterator[tuple[Node, str]]:
    for cmd, name in script.commands():
        if CDXML_RE.match(name) and "-erroraction" not in params(script, cmd):
            yield (
                cmd,
                f"'{snippet(script, cmd)}' (CDXML) ignores the script's $ErrorActionPreference: pass -ErrorAction",
            )


CHECKS = {
    "PS51-WHATIF-READ": rule_whatif_read, "PS51-JSON-PIPE": rule_json_pipe, "PS51-WOW64-PATH": rule_wow64_path,
    "PS51-TASK-SETTINGS": rule_task_settings, "PS51-NATIVE-EXIT": rule_native_exit,
    "PS51-PROGRAMDATA-DACL": rule_programdata_dacl, "PS51-STRICT-NULL": rule_strict_null,
    "PS51-CDXML-ERRORACTION": rule_cdxml_erroraction,
}  # fmt: skip


# ---- allowances and the drivers ------------------------------------------------------------------------

ALLOW_RE = re.compile(r"^# ps51lint: allow (?P<rule>[A-Za-z0-9-]+):(?P<reason>.*)$")


@dataclass(frozen=True)
class Allowance:
    """A valid allowance: ``rule`` findings on ``target`` (the next line that is not an allowance) are allowed."""

    rule: str
    line: int
    target: int


def read_allowances(script: Script) -> tuple[list[Allowance], list[tuple[str, int, str]]]:
    """The valid allowances, and findings for malformed, unknown or reason-less ones."""
    comments = [c for c in script.nodes["comment"] if re.match(r"#\s*ps51lint", script.text(c), re.I)]
    lines = {line_of(c) for c in comments}
    valid, bad = [], []
    for comment in comments:
        match = ALLOW_RE.match(script.text(comment).rstrip())
        target = line_of(comment) + 1
        while target in lines:
            target += 1
        if match is None:
            bad.append(("PS51-ALLOW", line_of(comment), "malformed: write '# ps51lint: allow RULE-ID: reason'"))
        elif match["rule"] not in CHECKS:
            bad.append(("PS51-ALLOW", line_of(comment), f"unknown rule {match['rule']}"))
        elif not match["reason"].strip():
            bad.append(("PS51-ALLOW", line_of(comment), f"allowance of {match['rule']} gives no reason"))
        else:
            valid.append(Allowance(match["rule"], line_of(comment), target))
    return valid, bad


def check(source: str) -> tuple[list[tuple[str, int, str]], list[Allowance], set[Allowance]]:
    """Findings ``(rule, line, message)`` after allowances, the valid allowances, and those that were used.

    A verbatim here-string that holds a script (one that a SYSTEM task or a child process runs) is linted too,
    as its own script, its lines counted in the outer script's lines."""
    script = Script(source)
    allowances, found = read_allowances(script)
    used: set[Allowance] = set()
    for rule, function in CHECKS.items():
        for node, message in function(script):
            line = line_of(node)
            matching = [a for a in allowances if a.rule == rule and a.target == line]
            used.update(matching)
            if not matching:
                found.append((rule, line, message))
    for node, inner, hidden in script.embedded:
        # Inner line n is outer line (string's first line + n - hidden); the hidden prefix lines are another
        # here-string's, linted where that one is written.
        offset = line_of(node) - hidden
        inner_found, inner_allowances, inner_used = check(inner)
        found += [(r, n + offset, f"(in a here-string script) {m}") for r, n, m in inner_found if n > hidden]
        shift = {a: Allowance(a.rule, a.line + offset, a.target + offset) for a in inner_allowances if a.line > hidden}
        allowances += shift.values()
        used |= {shift[a] for a in inner_used if a in shift}
    return found, allowances, used


def embedded_scripts(script: Script) -> Iterator[tuple[Node, str, int]]:
    """Verbatim here-strings (``@'...'@``) that parse as a script with a function, assignment or param():
    ``(node, script text, lines of prefix)``. A here-string appended to others (``(Get-Prelude) + @'...'@``,
    each operand a here-string or a call of a script function that ends with one) is linted with them before
    it, as the script that runs."""
    for node in script.nodes["string_literal"]:
        inner = here_string_body(script, node)
        if inner is None:
            continue
        prefix = appended_to(script, node)
        parsed = pstree.parse(prefix + inner)
        kinds = {n.type for n in pstree.walk(parsed.root)}
        if not pstree.problems(parsed) and kinds & {"function_statement", "assignment_expression", "param_block"}:
            yield node, prefix + inner, prefix.count("\n")


def here_string_body(script: Script, node: Node) -> str | None:
    """The text between the lines of ``@'`` and ``'@``, or None if ``node`` is no verbatim here-string."""
    text = script.text(node)
    if node.type != "string_literal" or not text.startswith("@'") or "\n" not in text:
        return None
    return text[text.index("\n") + 1 : text.rstrip().rfind("\n")]


def appended_to(script: Script, node: Node) -> str:
    """The here-string texts ``node`` is appended to with ``+`` (each ending in a newline), or ""."""
    top = node
    while top.parent is not None and (top.parent.type == "additive_expression" or unwrap(top.parent) == node):
        top = top.parent

    def operands(n: Node) -> list[Node]:
        n = unwrap(n)
        if n.type != "additive_expression" or {script.text(c) for c in n.children[1::2]} != {"+"}:
            return [n]
        return [o for c in n.children[0::2] for o in operands(c)]

    before = operands(top)
    before = before[: before.index(node)] if node in before else []
    parts = []
    for operand in before:
        function = script.functions.get(command_name(script, operand)) if operand.type == "command" else None
        body = [n for n in pstree.walk(function) if n.type == "statement_list"][:1] if function else []
        if body and body[0].named_children:
            operand = unwrap(body[0].named_children[-1])
        text = here_string_body(script, operand)
        if text is None:
            return ""
        parts.append(text + "\n")
    return "".join(parts)


def lint_source(source: str, name: str = "<source>") -> list[Finding]:
    """Lint one script; ``name`` labels its findings."""
    found, allowances, used = check(source)
    unused = [("PS51-ALLOW", a.line, f"allowance of {a.rule} suppresses nothing") for a in allowances if a not in used]
    return sorted({Finding(rule, name, line, message) for rule, line, message in found + unused})


def line_origins(rendered: list[str], sources: list[tuple[str, list[str]]]) -> dict[int, tuple[str, int]]:
    """Rendered line (1-based) -> (template, line) for lines copied verbatim from a raw template: aligned in
    order with the action's own template first, then the shared ones, so a line that appears in two
    templates is placed where the rendering put it."""
    origins: dict[int, tuple[str, int]] = {}
    for name, lines in sources:
        todo = [i for i in range(len(rendered)) if i + 1 not in origins]
        matcher = difflib.SequenceMatcher(None, [rendered[i] for i in todo], lines, autojunk=False)
        for a, b, size in matcher.get_matching_blocks():
            origins.update({todo[a + k] + 1: (name, b + k + 1) for k in range(size) if lines[b + k]})
    return origins


def lint_templates() -> list[Finding]:
    """Lint every action rendered with every combination of its switches; findings point at the raw template
    line the rendered line came from (or at the rendered line, marked so, when it came from no raw line)."""
    from actioncases import all_renderings

    from toolkit.templates import template_names, template_source

    shared = [(name, stripped_lines(template_source(name))) for name in template_names() if name.startswith("_")]
    findings: set[Finding] = set()
    unused: dict[tuple[str, int], Finding] = {}
    used: set[tuple[str, int]] = set()
    for action, options in all_renderings():
        found, allowances = lint_rendering(action.template, {**action.options, **options}, shared)
        findings.update(found)
        for where, allowance, was_used in allowances:
            if was_used:
                used.add(where)
            else:
                unused[where] = Finding("PS51-ALLOW", *where, f"allowance of {allowance.rule} suppresses nothing")
    return sorted(findings | {f for where, f in unused.items() if where not in used})


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def lint_rendering(
    template: str, options: dict[str, Any], shared: list[tuple[str, list[str]]]
) -> tuple[set[Finding], list[tuple[tuple[str, int], Allowance, bool]]]:
    """One rendering's findings placed in the raw templates, and its allowances (placed, and whether used)."""
    from toolkit.templates import render_template, template_source

    # Rendered without the declaration's marker check: the lint reads templates mid-edit too.
    source = render_template(template, options)
    origins = line_origins(stripped_lines(source), [(template, stripped_lines(template_source(template))), *shared])

    def place(line: int) -> tuple[str, int]:
        return origins.get(line, (f"{template} (rendered)", line))

    found, allowances, allowed = check(source)
    placed = {Finding(rule, *place(line), message) for rule, line, message in found}
    return placed, [(place(a.line), a, a in allowed) for a in allowances]
