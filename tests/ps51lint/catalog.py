"""The lint's rules: their ids and one-line descriptions (``RULES``), the rule functions by id (``CHECKS``),
and the :class:`Finding` a driver reports."""

from __future__ import annotations

from dataclasses import dataclass

from .rule_cdxml_erroraction import rule_cdxml_erroraction
from .rule_json_pipe import rule_json_pipe
from .rule_native_exit import rule_native_exit
from .rule_programdata_dacl import rule_programdata_dacl
from .rule_strict_null import rule_strict_null
from .rule_task_settings import rule_task_settings
from .rule_whatif_read import rule_whatif_read
from .rule_wow64_path import rule_wow64_path

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


CHECKS = {
    "PS51-WHATIF-READ": rule_whatif_read, "PS51-JSON-PIPE": rule_json_pipe, "PS51-WOW64-PATH": rule_wow64_path,
    "PS51-TASK-SETTINGS": rule_task_settings, "PS51-NATIVE-EXIT": rule_native_exit,
    "PS51-PROGRAMDATA-DACL": rule_programdata_dacl, "PS51-STRICT-NULL": rule_strict_null,
    "PS51-CDXML-ERRORACTION": rule_cdxml_erroraction,
}  # fmt: skip
