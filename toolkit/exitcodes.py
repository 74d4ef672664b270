"""jcfix's exit codes, one place for the CLI, the README and the tests."""

from __future__ import annotations

from collections.abc import Collection
from enum import IntEnum

from toolkit.models import HostStatus


class ExitCode(IntEnum):
    OK = 0  # every host answered and nothing needs attention
    INTERNAL = 1  # a bug in jcfix (the message says where to report it)
    USAGE = 2  # bad input, found before anything connected
    FAILED = 3  # a script failed, the host refused the credentials, or the protocol broke on some host
    UNREACHABLE = 4  # some host could not be reached (refused, timed out, past the deadline)
    CHANGED = 5  # changes were made, would be made (check mode), or are pending on some host
    BLOCKERS = 6  # diagnose found takeover or provisioning blockers
    TIMEOUT = 7  # verify gave up waiting: the account did not appear (or was not taken over) in time


# A run stopped by a signal exits 128 + its number (toolkit.signals.exit_code): 130 after Ctrl-C, 143 after
# SIGTERM, 129 after SIGHUP; its recap, reports and history are complete all the same.


def for_statuses(statuses: Collection[str]) -> ExitCode:
    """The exit code for a run whose hosts ended with ``statuses`` (worst first).

    Failure classes win over a change: a host that changed and then failed is ``failed`` here (exit 3), and
    the reports and history say the change happened ("failed (changed)", ``changed_then_failed``).
    """
    # Worst first; each value is a HostStatus, so a misspelt one is a type error rather than a silent miss.
    ladder: tuple[tuple[tuple[HostStatus, ...], ExitCode], ...] = (
        (("unreachable",), ExitCode.UNREACHABLE),
        (("failed",), ExitCode.FAILED),
        (("changed", "pending"), ExitCode.CHANGED),
    )
    for values, code in ladder:
        if any(value in statuses for value in values):
            return code
    return ExitCode.OK
