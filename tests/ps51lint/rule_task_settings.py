"""Rule PS51-TASK-SETTINGS: a scheduled task registered with the default settings (which refuse to start on
battery), or an -AtLogOn trigger with no EndBoundary (which fires at every sign-in, forever)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .tree import Node, Script, ancestors, has_switch, params, var_name


def rule_task_settings(script: Script) -> Iterator[tuple[Node, str]]:
    """Flag tasks registered with battery-refusing defaults and -AtLogOn triggers that never expire."""
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
