"""Every command the simulated Windows machine provides, gathered from the command modules."""

from __future__ import annotations

from toolkit.lab.powershell.contract import CommandSpec


def all_commands() -> list[CommandSpec]:
    """The machine's commands (a fresh list; the machine filters LocalAccounts out of a 32-bit process)."""
    from toolkit.lab.windows import (
        cmdlets_accounts,
        cmdlets_change,
        cmdlets_cim,
        cmdlets_content,
        cmdlets_items,
        cmdlets_location,
        cmdlets_services,
        cmdlets_taskreg,
        cmdlets_tasks,
    )

    return [
        *cmdlets_items.COMMANDS,
        *cmdlets_location.COMMANDS,
        *cmdlets_change.COMMANDS,
        *cmdlets_content.COMMANDS,
        *cmdlets_accounts.COMMANDS,
        *cmdlets_services.COMMANDS,
        *cmdlets_cim.COMMANDS,
        *cmdlets_taskreg.COMMANDS,
        *cmdlets_tasks.BUILDERS,
    ]
