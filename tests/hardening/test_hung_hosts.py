"""A host that accepted the connection and then hung is tried once, not three times (issue 15 item 10).

A read timeout is not transient: each retry would cost another whole read timeout (a 100-host run went
from ~5 s to 95 s). A refused connection, where nothing reached the host, stays transient and is retried.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from signal_support import check_reports, ended, json_lines, lab, scenario, start

from toolkit.actions import get_action
from toolkit.livehost import LiveChannel
from toolkit.models import Step
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget, TransportError
from toolkit.transport.channel import RetryPolicy
from toolkit.transport.errors import classify

LIST_USERS = get_action("list_users")

READ_TIMEOUT = 2.0
DEADLINE = 30.0
HEALTHY = [f"ok-{i:02d}" for i in range(19)]
TIMEOUTS = ("--read-timeout", f"{READ_TIMEOUT:g}", "--operation-timeout", "1", "--deadline", f"{DEADLINE:g}")


def test_a_hung_host_is_tried_once_and_the_run_ends_within_one_read_timeout(tmp_path: Path) -> None:
    text = scenario("hung", HEALTHY, extra="  - hostname: hung\n    faults: {hang: true}\n")
    with lab(tmp_path, text) as (fleet, inventory):
        began = time.monotonic()
        process = start(
            tmp_path,
            *("play", "takeover-readiness", "-i", str(inventory), "-o", "json", "--forks", "20", "--retries", "2"),
            *("--junit", str(tmp_path / "j.xml"), "--html", str(tmp_path / "r.html"), *TIMEOUTS),
        )
        out, err = ended(process, tmp_path)
        took = time.monotonic() - began
        hung = fleet.listener("hung")
        attempts = hung.requests_served
    assert process.returncode == 4, err  # some host unreachable
    hosts = check_reports(tmp_path / "j.xml", tmp_path / "r.html", json_lines(out), len(HEALTHY) + 1)
    assert hosts["hung"]["status"] == "unreachable"
    assert all(hosts[name]["status"] == "ok" for name in HEALTHY)
    # One request reached the hung host: it was not retried (--retries 2 would have sent three).
    assert attempts == 1
    # A bound against hangs, not a measurement: well under the two retries' three read timeouts plus backoff.
    assert took < DEADLINE


class _Failing:
    """A session whose every run raises ``error``; counts the sessions opened (each is one attempt)."""

    def __init__(self, error: TransportError) -> None:
        self.error = error
        self.opened = 0

    def __call__(self, target: HostTarget, settings: ConnectionSettings) -> _Failing:
        self.opened += 1
        return self

    def run(self, rendered: Any, *, whatif: bool = False) -> Any:
        raise self.error

    def close(self) -> None:
        """Nothing to close."""


@pytest.mark.parametrize(
    ("cause", "attempts"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), 1),  # it hung: one read timeout, no more
        (requests.exceptions.ConnectionError(ConnectionRefusedError(111, "refused")), 3),  # nothing was sent
        (requests.exceptions.ConnectionError(ConnectionResetError(104, "reset")), 3),
    ],
)
def test_only_a_host_that_never_hung_is_retried(cause: Exception, attempts: int) -> None:
    error = classify(cause, host="pc-1")
    assert error.category == "unreachable"
    session = _Failing(error)
    settings = ConnectionSettings(user="u", deadline=60)
    retry = RetryPolicy(retries=2, backoff_s=0.01)
    with LiveChannel(HostTarget("pc-1"), settings, session, retry) as channel:
        result = channel.run(Step(LIST_USERS, LIST_USERS.render({})))
    assert result.status == "failed" and result.error is not None and result.error.category == "unreachable"
    assert session.opened == attempts and channel.retries == attempts - 1
    with LiveChannel(HostTarget("pc-1"), settings, _Failing(error), retry, retry_hung=True) as channel:
        channel.run(Step(LIST_USERS, LIST_USERS.render({})))
    assert channel.retries == 2  # asked to, it retries a hung host too
