"""Ctrl-C, SIGTERM and SIGHUP during a run: one mechanism for every command that runs hosts.

SIGTERM is what CI time-outs, ``timeout``, systemd and ``docker stop`` send; SIGHUP comes when the
terminal goes away. Each is treated like Ctrl-C (:func:`stop_on_signals`): the first starts no new
host and gives running hosts :data:`GRACE_S` to end their current step (a supervisor's kill
follows SIGTERM, and a person's second Ctrl-C should not be needed), the hosts not started are recorded ``skipped``
("stopped by SIGTERM"), the reports and the run history are completed, and the process exits
128 + the signal's number (Ctrl-C 130, SIGTERM 143, SIGHUP 129). A second signal stops waiting at
once: each running host is recorded with what is known of it, the reports are still completed, and
:func:`end_now` ends the process without joining the workers still inside a host's deadline.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, NoReturn

from toolkit.errors import JcfixError

if TYPE_CHECKING:
    from toolkit.runner import FleetControl

# Seconds running hosts get to end their step after the first signal; docker and systemd kill after 10 to 90 s.
GRACE_S = 5.0
# Seconds end_now waits for workers that clean up when cancelled (JumpCloud commands being deleted).
CLEANUP_WAIT_S = 2.0

_NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
if hasattr(signal, "SIGHUP"):  # not on Windows
    _NAMES[signal.SIGHUP] = "SIGHUP"
_abandon_hooks: list[Callable[[], None]] = []


class StoppedBySignal(JcfixError):
    """A run stopped by SIGTERM or SIGHUP, its hosts and reports recorded; exits 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal_name(signum)}: the hosts not started are recorded as skipped")
        self.exit_code = exit_code(signum)


def signal_name(signum: int) -> str:
    """``SIGTERM``, ``SIGHUP``, or ``Ctrl-C`` for SIGINT."""
    return _NAMES.get(signum) or signal.Signals(signum).name


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal's number (130 after Ctrl-C, 143 after SIGTERM)."""
    return 128 + signum


def stop_reason(signum: int) -> str | None:
    """Why hosts were not started, as their reports say it (None after Ctrl-C: the runner's own words)."""
    return None if signum == signal.SIGINT else f"stopped by {signal_name(signum)}"


def add_abandon_hook(hook: Callable[[], None]) -> None:
    """Call ``hook`` when a run stops waiting for its running hosts (a transport cancels its own waits)."""
    if hook not in _abandon_hooks:
        _abandon_hooks.append(hook)


def _abandoned() -> None:
    for hook in list(_abandon_hooks):
        hook()


def _say(notify: Callable[[str], None], line: str) -> None:
    with suppress(OSError, ValueError):  # after SIGHUP the terminal may be gone: the run still ends cleanly
        notify(line)


@contextmanager
def stop_on_signals(control: FleetControl, notify: Callable[[str], None]) -> Iterator[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP stop the run through ``control`` (see the module doc).

    ``notify`` prints one line for the user. Outside the main thread (tests) nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        name = signal_name(signum)
        if control.request_stop(signum, stop_reason(signum), GRACE_S):
            _abandoned()
            _say(notify, f"jcfix: {name} again: not waiting for running hosts")
            return
        # The first words are what scripts and tests have matched since Ctrl-C was the only signal.
        what = "interrupted" if signum == signal.SIGINT else f"stopped by {name}"
        again = " (Ctrl-C: stop now)" if signum == signal.SIGINT else ""  # 80 columns
        _say(notify, f"jcfix: {what}: no new hosts start; {GRACE_S:g}s for running ones{again}")

    previous = {signum: signal.signal(signum, handle) for signum in _NAMES}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def end_now(code: int) -> NoReturn:
    """End the process with ``code`` after the run stopped waiting for running hosts (records already written).

    Workers still inside a host's deadline are not joined (the interpreter would wait for them); those
    that clean up when cancelled get :data:`CLEANUP_WAIT_S` to do it.
    """
    _abandoned()
    if _abandon_hooks:
        until = time.monotonic() + CLEANUP_WAIT_S
        for thread in threading.enumerate():
            if thread.name.startswith("jcfix-host"):
                thread.join(max(0.0, until - time.monotonic()))
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
