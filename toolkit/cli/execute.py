"""Runs one action over a command's hosts, or previews it with ``--dry-run``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from toolkit.actions import Action
from toolkit.cli.connection import Connection
from toolkit.runner import HostReport, Step, run_fleet
from toolkit.transport.base import HostTarget


def describe_target(target: HostTarget, connection: Connection) -> str:
    settings = connection.settings
    scheme = target.scheme or settings.scheme
    port = target.port or settings.port or (5986 if scheme == "https" else 5985)
    return f"{target.name} ({scheme}://{target.connect_address}:{port}, auth {target.auth or settings.auth})"


def print_dry_run(connection: Connection, steps_for: Mapping[str, list[Step]]) -> None:
    """Each host's exact scripts and parameters (secrets as ``******``); connects to nothing."""
    out = sys.stdout
    for target in connection.targets:
        for step in steps_for[target.name]:
            mode = "check (-WhatIf)" if step.whatif else "apply"
            out.write(f"# ==== {describe_target(target, connection)}: {step.action.name} [{mode}] ====\n")
            rendered = step.rendered
            if step.whatif:
                # Shown exactly as the transport sends it: -WhatIf travels as one more parameter.
                rendered = replace(rendered, parameters={**rendered.parameters, "WhatIf": True})
            out.write(rendered.preview())
            out.write("\n")


def run_action(
    connection: Connection,
    action: Action,
    values: Mapping[str, Any] | None = None,
    *,
    whatif: bool = False,
    **options: Any,
) -> list[HostReport] | None:
    """Render ``action`` once and run it on every host; ``None`` after a dry run.

    Input is checked (and the script rendered) before anything connects, so bad input costs nothing.
    """
    rendered = action.render(values or {}, **options)
    steps = {t.name: [Step(action, rendered, whatif=whatif)] for t in connection.targets}
    if connection.dry_run:
        print_dry_run(connection, steps)
        return None
    settings = connection.with_password()
    plan = [(t, steps[t.name]) for t in connection.targets]
    order = {t.name: i for i, t in enumerate(connection.targets)}
    reports = list(run_fleet(plan, settings, forks=connection.forks))
    return sorted(reports, key=lambda r: order[r.target.name])
