"""Rule PS51-NATIVE-EXIT: a native command whose exit code is not checked, or whose stderr can end the script
(under ``$ErrorActionPreference = 'Stop'`` in 5.1); also which commands are native (:func:`native_commands`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .flow import statement_of
from .tree import Node, Script, ancestors, inside, snippet, unwrap, var_name

# Native commands by name (`sc` is left out: in PowerShell it is Set-Content's alias).
KNOWN_NATIVE = {
    "takeown", "icacls", "certutil", "reg", "schtasks", "net", "net1", "whoami", "cmd", "powershell", "pwsh",
    "dsregcmd", "wmic", "netsh", "quser", "query", "logoff", "msiexec", "secedit", "auditpol", "gpupdate",
    "bcdedit", "cipher", "robocopy", "attrib", "fsutil", "manage-bde", "wevtutil", "cscript", "tasklist",
    "taskkill", "shutdown", "klist", "nltest", "dism", "rundll32", "regsvr32",
}  # fmt: skip


def native_commands(script: Script) -> list[Node]:
    """The commands that run a native program: by known name or extension, or through ``&`` (conservative)."""
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
    """Flag native commands with no ``$LASTEXITCODE`` check, or whose stderr can end a 'Stop' script."""
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
