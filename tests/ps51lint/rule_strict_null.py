"""Rule PS51-STRICT-NULL: member access on a value that can be $null (a command that can return nothing, a
silenced error, a dictionary lookup, a script function with a bare ``return``) with no null check before it,
which throws under Set-StrictMode."""

from __future__ import annotations

from collections.abc import Iterator

from .flow import block_exits, block_statements, condition_of, proves, statement_of, throwing_functions
from .tree import Node, Param, Script, ancestors, command_name, inside, params, scope_of, snippet, unwrap, var_name

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


def rule_strict_null(script: Script) -> Iterator[tuple[Node, str]]:
    """Flag member access on a value that can be $null and is not checked first."""
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
