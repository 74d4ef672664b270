"""Rule PS51-WOW64-PATH: Program Files and HKLM\\SOFTWARE named without an explicit 64-bit view, which a 32-bit
(WOW64) process sees redirected to the x86 folder and WOW6432Node."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .rule_native_exit import native_commands
from .tree import Node, Script, ancestors, inside, scope_of, snippet

# Fact sheet §8 (learn.microsoft.com/windows/win32/winprog64/registry-redirector, .../shared-registry-keys): in a
# 32-bit process these are the x86 folders and HKLM\SOFTWARE is WOW6432Node. No shared-key exception is made.
# HKLM\SOFTWARE without the provider's colon is flagged only as a native command's argument (reg.exe).
WOW64_VARIABLE_RE = re.compile(r"(?i)\$\{?env:(common)?programfiles(\(x86\))?\}?(?![\w(])")


WOW64_PROVIDER_RE = re.compile(r"(?i)(?<![\w])(hklm:|hkey_local_machine)[\\/]+software(?![\w])")


WOW64_FOLDER_RE = re.compile(r"(?i)getfolderpath\s*\(\s*['\"\[]?[\w.+\]:]*?(common)?programfiles")


WOW64_NATIVE_RE = re.compile(r"(?i)(?<![\w])hklm[\\/]+software(?![\w])")


def rule_wow64_path(script: Script) -> Iterator[tuple[Node, str]]:
    """Flag Program Files and HKLM\\SOFTWARE locations named without an explicit 64-bit view."""
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
