"""Each scenario host's simulated Windows machine: built on first use, kept for the host's life.

A :class:`~toolkit.lab.host.LabHost` is the scenario's description; the
:class:`~toolkit.lab.windows.machine.WindowsMachine` built from it (``build_machine``) is what scripts run
on and what changes. It is built lazily, so a fleet of 1,000 hosts costs nothing until a host is used.
The machine's clock follows real time since the host was loaded: before each script :func:`catch_up`
advances it by the time that passed, so timed provisioning (``provisioning_delayed``) and delayed task runs
happen when they would, and the agent syncs as it keeps doing between two scripts.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from toolkit.lab.host import LabHost

if TYPE_CHECKING:
    from toolkit.lab.windows.machine import WindowsMachine

_BUILD_LOCK = threading.Lock()


def host_lock(host: LabHost) -> threading.RLock:
    """The lock that serialises everything run on ``host``'s machine (WinRM pipelines, Commands, events)."""
    lock: threading.RLock | None = host._lab_lock
    if lock is None:
        with _BUILD_LOCK:
            if host._lab_lock is None:
                host._lab_lock = threading.RLock()
            lock = host._lab_lock
    assert lock is not None
    return lock


def machine_of(host: LabHost) -> WindowsMachine:
    """The WinRM session's process on ``host``'s machine, built (and given the engine for its scheduled
    tasks) on first use."""
    machine = host._lab_machine
    if machine is not None:
        return machine  # type: ignore[no-any-return]
    with host_lock(host):
        if host._lab_machine is None:
            from toolkit.lab.powershell.hosting import attach
            from toolkit.lab.windows.build import build_machine

            built = build_machine(host)
            attach(built)
            host._lab_machine = built
            host._lab_clock_at = host.loaded_at
    return host._lab_machine  # type: ignore[no-any-return]


def built(host: LabHost) -> bool:
    """Whether ``host``'s machine exists yet (nothing has used the host when it does not)."""
    return host._lab_machine is not None


def catch_up(host: LabHost, now: float | None = None) -> list[str]:
    """Bring the machine's clock to real time and let the agent sync, as between two scripts on Windows.

    Returns the accounts the agent created. ``now`` is a ``time.monotonic()`` value (tests pass one).
    """
    machine = machine_of(host)
    with host_lock(host):
        current = time.monotonic() if now is None else now
        elapsed = current - (host._lab_clock_at or current)
        if elapsed > 0:
            machine.advance(elapsed)
            host._lab_clock_at = current
        return machine.agent_sync()
