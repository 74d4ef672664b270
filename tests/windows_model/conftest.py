"""A fake CommandCall so the Windows model's commands are tested without the PowerShell engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from toolkit.lab.host import LabHost
from toolkit.lab.powershell.contract import CommandError, ErrorSpec
from toolkit.lab.scenarios import load_hosts
from toolkit.lab.windows.build import build_machine
from toolkit.lab.windows.machine import WindowsMachine


@dataclass
class FakeCall:
    """What the engine hands a command: bound parameters, pipeline input, WhatIf, and the error stream."""

    machine: WindowsMachine
    bound: dict[str, Any]
    input: list[Any] | None = None
    whatif: bool = False
    error_action: str = "Continue"
    errors: list[ErrorSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    whatif_lines: list[str] = field(default_factory=list)

    def should_process(self, target: str, action: str) -> bool:
        if self.whatif:
            self.whatif_lines.append(f'What if: Performing the operation "{action}" on target "{target}".')
            return False
        return True

    def write_error(self, spec: ErrorSpec) -> None:
        self.errors.append(spec)

    def write_warning(self, message: str) -> None:
        self.warnings.append(message)


@dataclass
class Ran:
    output: list[Any]
    call: FakeCall

    @property
    def errors(self) -> list[ErrorSpec]:
        return self.call.errors


Runner = Callable[..., Ran]


def run_command(
    machine: WindowsMachine,
    name: str,
    bound: dict[str, Any] | None = None,
    *,
    input: list[Any] | None = None,
    whatif: bool = False,
) -> Ran:
    """Invoke one of the machine's commands as the engine would (the whole pipeline input at once)."""
    spec = machine.commands()[name.lower()]
    call = FakeCall(machine, dict(bound or {}), input, whatif)
    produced = spec.invoke(call)
    return Ran(list(produced or []), call)


def raises_command_error(machine: WindowsMachine, name: str, bound: dict[str, Any]) -> ErrorSpec:
    with pytest.raises(CommandError) as caught:
        run_command(machine, name, bound)
    return caught.value.spec


def host_of(scenario: str, index: int = 0) -> LabHost:
    return load_hosts(scenario)[index]


def machine_of(scenario: str, index: int = 0) -> WindowsMachine:
    return build_machine(host_of(scenario, index))
