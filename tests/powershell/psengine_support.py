"""Helpers for the lab PowerShell engine tests: a fresh runspace on a fake machine per call.

A module of its own (not conftest): test files import it by a name no other test folder uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from psengine_fakes import FakeMachine

from toolkit.lab.powershell import Runspace, ScriptRun

Run = Callable[..., ScriptRun]


def run_script(script: str, parameters: Sequence[tuple[str | None, Any]] = (), *,
               machine: FakeMachine | None = None, local: bool = True) -> ScriptRun:
    """Run ``script`` in a new runspace (its own scope unless ``local=False``)."""
    return Runspace(machine or FakeMachine()).run_script(script, parameters, use_local_scope=local)
