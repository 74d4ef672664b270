"""Runs one action over a command's hosts, or previews it with ``--dry-run``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from toolkit.actions import Action
from toolkit.cli.connection import Connection
from toolkit.models import HostReport, Step
from toolkit.services.run_action import Review, plan_action, run_planned
from toolkit.transport.base import HostTarget, resolve_endpoint
from toolkit.transport.registry import get_transport


def describe_target(target: HostTarget, connection: Connection) -> str:
    """The host's name, URL and auth, as ``--dry-run`` headers show them."""
    end = resolve_endpoint(target, connection.settings)
    return f"{target.name} ({end.url}, auth {end.auth})"


def print_dry_run(connection: Connection, steps_for: Mapping[str, list[Step]]) -> None:
    """Each host's exact scripts and parameters (secrets as ``******``); connects to nothing."""
    out = sys.stdout
    transport = get_transport(connection.via)
    for target in connection.targets:
        if target.name not in steps_for:  # decided before the run not to concern this host (jcfix undo)
            out.write(f"# ==== {target.name}: skipped, nothing to run there ====\n")
            continue
        for step in steps_for[target.name]:
            mode = "check (-WhatIf)" if step.whatif else "apply" if step.action.changes_state else "read-only"
            out.write(f"# ==== {describe_target(target, connection)}: {step.action.name} [{mode}] ====\n")
            out.write(transport.preview(step.rendered, step.whatif))
            out.write("\n")


def run_action(
    connection: Connection,
    action: Action,
    values: Mapping[str, Any] | None = None,
    *,
    whatif: bool = False,
    run_id: str | None = None,
    on_report: Callable[[HostReport], None] | None = None,
    review: Review | None = None,
    **options: Any,
) -> list[HostReport] | None:
    """Plan ``action`` (input checked before anything connects), then preview it (``--dry-run``: ``None``)
    or run it through :func:`toolkit.services.run_action.run_planned` (``review``: hosts it may skip)."""
    plan = replace(
        plan_action(connection.targets, action, values, whatif=whatif, run_id=run_id, **options), review=review
    )
    if connection.dry_run:
        print_dry_run(connection, plan.steps)
        return None
    return run_planned(connection, plan, on_report=on_report)
