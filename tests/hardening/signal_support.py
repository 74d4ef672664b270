"""Helpers for the signal and hung-host tests: a lab fleet from scenario text, and jcfix in a subprocess.

The lab runs in this process (the tests look at its hosts); jcfix runs as a real process so that it can
be sent signals and its exit code, stdout and files can be read as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from subprocess_env import environ_without_jcfix

from toolkit.history.read import History, HostRow, RunRow
from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet, write_inventory

USERS = """\
  users:
    - {name: Administrator, rid: 500, enabled: false, description: Built-in account}
    - {name: alice, full_name: Alice Example, rid: 1001, profile_path: 'C:\\\\Users\\\\alice'}
  jc_users: [alice]
"""
CASE_USERS = """\
  users:
    - {name: Administrator, rid: 500, enabled: false, description: Built-in account}
    - {name: jonathan, full_name: Jonathan Reyes, rid: 1001, profile_path: 'C:\\\\Users\\\\jonathan'}
  jc_users: [Jonathan]
"""


def scenario(name: str, hosts: list[str], *, users: str = USERS, faults: str = "", extra: str = "") -> str:
    """Scenario YAML: ``hosts`` share ``users`` and the ``faults`` flow mapping; ``extra`` is more host lines."""
    defaults = users + (f"  faults: {faults}\n" if faults else "")
    listed = "".join(f"  - hostname: {host}\n" for host in hosts)
    return f"name: {name}\ndescription: a test fleet\ndefaults:\n{defaults}hosts:\n{listed}{extra}"


@contextmanager
def lab(tmp_path: Path, text: str, **kwargs: Any) -> Iterator[tuple[LabFleet, Path]]:
    """A running lab fleet of scenario ``text`` and its inventory file; stopped after the block."""
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    fleet = LabFleet.from_scenario(path, **kwargs).start()
    try:
        inventory = tmp_path / "inventory.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        yield fleet, inventory
    finally:
        fleet.stop()


def environment(tmp_path: Path, workers: int = 1) -> dict[str, str]:
    """A jcfix environment: lab credentials, no user config, the history in ``tmp_path``, ``workers`` processes."""
    env = environ_without_jcfix(keep=())
    env.update(
        JCFIX_CONFIG="/dev/null",
        JCFIX_USER=LAB_USERNAME,
        JCFIX_PASSWORD=LAB_PASSWORD,
        JCFIX_HISTORY=str(tmp_path / "history.db"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONUNBUFFERED="1",
        JCFIX_WORKERS=str(workers),
        COLUMNS="80",
        NO_COLOR="1",
    )
    return env


def start(tmp_path: Path, *args: str, workers: int = 1) -> subprocess.Popen[str]:
    """``jcfix ARGS`` in a subprocess, its stdout and stderr to files (:func:`ended` reads them).

    ``workers``: JCFIX_WORKERS (2: the hosts run in two forked worker processes, however few they are).
    """
    env = environment(tmp_path, workers)
    with open(tmp_path / "stdout", "w") as out, open(tmp_path / "stderr", "w") as err:
        return subprocess.Popen([sys.executable, "-m", "toolkit", *args], env=env, stdout=out, stderr=err, text=True)


def ended(process: subprocess.Popen[str], tmp_path: Path, timeout: float = 60) -> tuple[str, str]:
    """Wait for ``process`` (bounded against hangs); its stdout and stderr."""
    try:
        process.wait(timeout=timeout)
    finally:
        process.kill()
    return (tmp_path / "stdout").read_text(encoding="utf-8"), (tmp_path / "stderr").read_text(encoding="utf-8")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll ``condition`` until it holds; a hang (not a slow machine) fails with ``what``."""
    limit = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < limit, f"{what}: never happened"
        time.sleep(0.05)


def wait_for_a_host(process: subprocess.Popen[str], tmp_path: Path) -> None:
    """Wait until ``--output json`` has a ``host`` line (a host has finished)."""

    def finished() -> bool:
        assert process.poll() is None, "jcfix ended before any host finished"
        return '"type":"host"' in (tmp_path / "stdout").read_text(encoding="utf-8")

    wait_for(finished, "a host finishing")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of a JSON Lines stream, parsed (a cut line fails here)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check_reports(junit: Path, html: Path, stream: list[dict[str, Any]], hosts: int) -> dict[str, dict[str, Any]]:
    """JUnit parses, the HTML page is whole, the stream ends with its summary and names each host once.

    Returns the stream's ``host`` lines by host name.
    """
    ET.parse(junit)  # raises on a cut file
    assert html.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert stream[0]["type"] == "run" and stream[-1]["type"] == "summary"
    host_lines = [line for line in stream if line["type"] == "host"]
    by_name = {line["host"]: line for line in host_lines}
    assert len(host_lines) == len(by_name) == hosts
    assert sum(stream[-1]["counts"].values()) == hosts
    return by_name


def history_run(tmp_path: Path, run_id: str | None = None) -> tuple[RunRow, list[HostRow]]:
    """The run ``run_id`` (default: the only run) and its hosts, from the run history of ``tmp_path``."""
    with History(tmp_path / "history.db") as history:
        (run,) = history.attempts(run_id) if run_id is not None else history.runs()
        return run, list(history.hosts(run.seq))


def running(process: subprocess.Popen[str], condition: Callable[[], bool]) -> Callable[[], bool]:
    """``condition``, for :func:`wait_for`, failing at once if ``process`` has ended."""

    def check() -> bool:
        assert process.poll() is None, "jcfix ended before it was signalled"
        return condition()

    return check
