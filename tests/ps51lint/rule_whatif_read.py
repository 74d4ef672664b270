"""Rule PS51-WHATIF-READ: a read through a ShouldProcess cmdlet without ``-WhatIf:$false``, which returns nothing
when the script runs under -WhatIf."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .flow import block_exits, condition_of, split_logical, throwing_functions
from .tree import Node, Param, Script, ancestors, cmdletbinding_ssp, function_params, inside, params, snippet, unwrap

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
    """Flag reads through ShouldProcess cmdlets, in ShouldProcess code, that lack ``-WhatIf:$false``."""
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
