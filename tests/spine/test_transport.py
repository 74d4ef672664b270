"""The WinRM transport against misbehaving loopback listeners: every failure is classified, none hangs.

These use the real pypsrp client. The listeners are plain sockets on 127.0.0.1, so the tests need no
lab; the lab's own fault tests cover the WSMan-level failures.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from toolkit.actions import get_action
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget, TransportError
from toolkit.transport.winrm import WinRMSession

SETTINGS = ConnectionSettings(
    scheme="http", auth="basic", user="labadmin", password=Secret("pw"), read_timeout=30, operation_timeout=20
)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A listener that accepts connections and never answers (a hung WinRM service)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def dropping_listener() -> Iterator[int]:
    """A listener that reads the request and closes the connection without a response."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def _run(port: int, settings: ConnectionSettings = SETTINGS) -> TransportError:
    rendered = get_action("list_users").render({})
    target = HostTarget("pc-test", address="127.0.0.1", port=port)
    with WinRMSession(target, settings) as session, pytest.raises(TransportError) as info:
        session.run(rendered)
    return info.value


def test_refused_connection_is_unreachable() -> None:
    error = _run(_closed_port())
    assert error.category == "unreachable"
    assert "refused" in error.message
    assert error.message.startswith("pc-test:")


def test_hung_host_is_unreachable_at_the_deadline(silent_listener: int) -> None:
    # pypsrp alone would wait read_timeout (30 s) and retry: the deadline must cut that short.
    settings = ConnectionSettings(**{**SETTINGS.__dict__, "deadline": 2.0})
    started = time.monotonic()
    error = _run(silent_listener, settings)
    elapsed = time.monotonic() - started
    assert error.category == "unreachable"
    assert "deadline" in error.message or "read timeout" in error.message
    assert elapsed < 15, f"a hung host held the session {elapsed:.1f}s with a 2s deadline"


def test_dropped_connection_is_unreachable(dropping_listener: int) -> None:
    error = _run(dropping_listener)
    assert error.category == "unreachable"
    assert "dropped" in error.message


def test_the_password_never_reaches_the_error(silent_listener: int) -> None:
    settings = ConnectionSettings(**{**SETTINGS.__dict__, "password": Secret("Sup3r-Secret"), "deadline": 1.0})
    error = _run(silent_listener, settings)
    assert "Sup3r-Secret" not in str(error)
    assert "Sup3r-Secret" not in repr(error)


def test_classification_of_name_resolution_failure() -> None:
    # Built by hand: resolving a real name would send a DNS query off this machine.
    import requests

    from toolkit.transport.errors import classify

    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as cause:
            raise requests.exceptions.ConnectionError("failed") from cause
    except requests.exceptions.ConnectionError as exc:
        error = classify(exc, host="pc-x")
    assert (error.category, error.message) == ("unreachable", "pc-x: name does not resolve: Name or service not known")


def test_basic_over_http_is_refused_off_loopback() -> None:
    from toolkit.errors import UsageError

    rendered = get_action("list_users").render({})
    target = HostTarget("pc-remote", address="192.0.2.10")  # TEST-NET: refused before any connection
    with WinRMSession(target, SETTINGS) as session, pytest.raises(TransportError) as info:
        session.run(rendered)
    assert "in clear" in info.value.message
    with pytest.raises(UsageError):
        from toolkit.settings import check_cleartext

        check_cleartext("pc-remote.corp.example", "http", "basic")


def test_each_script_runs_in_its_own_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 10, defect 11: without use_local_scope pypsrp's add_script runs a CmdletBinding script dot-sourced
    # into the pooled runspace (Command.CreateCommandProcessor: useLocalScope ?? false), so its functions,
    # variables and strict mode would persist into the next step on the same host. The real pypsrp
    # PowerShell object records the command it would send; only the network is replaced.
    import pypsrp.powershell

    from toolkit.transport import winrm

    sent: list[Any] = []

    def invoke(self: pypsrp.powershell.PowerShell, *args: Any, **kwargs: Any) -> list[Any]:
        sent.extend(self.commands)
        return ['{"schema": 1}']

    pool = SimpleNamespace(protocol_version="2.3")
    monkeypatch.setattr(pypsrp.powershell.PowerShell, "__init__", _bare_powershell_init)
    monkeypatch.setattr(pypsrp.powershell.PowerShell, "invoke", invoke)
    session = WinRMSession(HostTarget("pc-test", address="127.0.0.1", port=_closed_port()), SETTINGS)
    monkeypatch.setattr(session, "_connect", lambda: pool)
    assert winrm.PowerShell is pypsrp.powershell.PowerShell
    session.run(get_action("list_users").render({}))
    scripts = [c for c in sent if c.is_script]
    assert len(scripts) == 1
    assert scripts[0].use_local_scope is True


def _bare_powershell_init(self: Any, runspace_pool: Any) -> None:
    """PowerShell.__init__ without a connection: just the state add_script/add_parameters build on."""
    import pypsrp.powershell

    self.runspace_pool = runspace_pool
    self.commands = []
    self.had_errors = False
    self.streams = pypsrp.powershell.PSDataStreams()
    self._history = []
    self.id = None
