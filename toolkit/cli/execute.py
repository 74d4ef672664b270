"""Runs one action over a command's hosts, or previews it with ``--dry-run``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from toolkit.actions import Action
from toolkit.cli.connection import Connection
from toolkit.exitcodes import ExitCode, for_statuses
from toolkit.runner import HostReport, Step, run_fleet
from toolkit.templates import preview_value
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
            if connection.via == "jumpcloud":
                out.write(_jumpcloud_command_text(step))
            else:
                out.write(rendered.preview())
            out.write("\n")


def _jumpcloud_command_text(step: Step) -> str:
    """The exact text of the JumpCloud command that would carry ``step`` (values inside as one literal)."""
    from toolkit.transport.base import TransportError
    from toolkit.transport.jumpcloud import wrap

    try:
        text = wrap(step.rendered, whatif=step.whatif)
    except TransportError as exc:  # a secret parameter: this step cannot go through Commands
        return f"# not sendable through JumpCloud Commands: {exc.message}\n"
    parameters = {**step.rendered.parameters, **({"WhatIf": True} if step.whatif else {})}
    readable = "\n".join(f"#   -{k} {preview_value(v)}" for k, v in parameters.items() if "\n" not in str(v))
    header = "# the JumpCloud command text (parameters travel base64-encoded inside it):\n"
    return header + (readable + "\n" if readable else "") + text


def run_action(
    connection: Connection,
    action: Action,
    values: Mapping[str, Any] | None = None,
    *,
    whatif: bool = False,
    run_id: str | None = None,
    **options: Any,
) -> list[HostReport] | None:
    """Render ``action`` once and run it on every host; ``None`` after a dry run.

    Input is checked (and the script rendered) before anything connects, so bad input costs nothing.
    Every run is recorded as it goes (run history, and ``--junit``/``--html`` when given): each host
    when it finishes, and the end also after Ctrl-C. ``run_id`` names the run in history (a fix passes
    its ``RunId``, the name of its backups on the hosts); by default a new one is made.
    """
    from toolkit.actions._fixbase import new_run_id
    from toolkit.report.recorders import report_recorders, run_meta, run_summary
    from toolkit.report.view import has_blockers

    rendered = action.render(values or {}, **options)
    steps = {t.name: [Step(action, rendered, whatif=whatif)] for t in connection.targets}
    if connection.dry_run:
        print_dry_run(connection, steps)
        return None
    settings = connection.with_password()
    plan = [(t, steps[t.name]) for t in connection.targets]
    order = {t.name: i for i, t in enumerate(connection.targets)}
    recorder = report_recorders(connection.reports, settings=settings, parameters=rendered.parameters)
    recorder.start(run_meta(run_id or new_run_id(), hosts=len(plan), check_mode=whatif))
    reports: list[HostReport] = []
    counts: dict[str, int] = {}
    interrupted = True
    blocked = False
    try:
        for report in run_fleet(plan, settings, forks=connection.forks):
            recorder.host_done(report)
            counts[report.status] = counts.get(report.status, 0) + 1
            blocked = blocked or (action.name == "collect_facts" and has_blockers(report))
            reports.append(report)
        interrupted = False
    finally:
        # Also after Ctrl-C: the hosts that finished stay recorded, and the reports are complete files.
        exit_code = for_statuses([r.status for r in reports])
        if blocked and exit_code == ExitCode.OK:
            exit_code = ExitCode.BLOCKERS  # what jcfix diagnose exits with
        recorder.finish(run_summary(counts, exit_code=130 if interrupted else exit_code, interrupted=interrupted))
    return sorted(reports, key=lambda r: order[r.target.name])
