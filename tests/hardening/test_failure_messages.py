"""Issue 15 item 7: every transport failure class is one line in jcfix's words that keeps the host's own text.

The failures are real: pypsrp talks to a loopback server that misbehaves in one way (badserver.py), except for
name resolution and connect timeouts, which cannot be caused on loopback and are built from the real types.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from badserver import bad_server, refused_port
from subprocess_env import environ_without_jcfix
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from toolkit.lab import wsman as lab_wsman
from toolkit.lab.constants import LAB_PASSWORD, LAB_USERNAME
from toolkit.lab.fleet import LabFleet, write_inventory
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget, TransportError
from toolkit.transport.errors import classify
from toolkit.transport.winrm import WinRMSession

SETTINGS = ConnectionSettings(
    scheme="http", auth="basic", user="u", password=Secret("Pa55-Sentinel"), connect_timeout=2, read_timeout=2,
    operation_timeout=1, deadline=6,
)  # fmt: skip
# What must never be in a message: library class names, tracebacks, reprs of objects.
LIBRARY_WORDS = re.compile(
    r"(?<![:\w])[A-Z]\w*(Error|Exception)\b|Traceback|IncompleteRead|Disconnected|Pool\(| at 0x|File \""
)
FAULT_TEXT = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."


def _open(port: int, settings: ConnectionSettings = SETTINGS) -> TransportError:
    session = WinRMSession(HostTarget("pc-1", address="127.0.0.1", port=port), settings)
    with session, pytest.raises(TransportError) as info:
        session.open()
    return info.value


def _one_clean_line(error: TransportError) -> str:
    assert "\n" not in error.message and len(error.message) < 400, error.message
    assert not LIBRARY_WORDS.search(error.message), error.message
    assert "Pa55-Sentinel" not in str(error)
    assert error.message.startswith("pc-1: ")
    return error.message


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("reset", "pc-1: the host reset the connection: Connection reset by peer"),
        ("close", "pc-1: connection dropped before any response (the host closed it): Remote end closed connection"),
        ("drop", "pc-1: connection dropped mid-response (the host closed it): 6 bytes read, 3994 more expected"),
        ("drop_chunked", "pc-1: connection dropped mid-response (the host closed it): 0 bytes read"),
        ("hang", "pc-1: the host stopped answering (read timeout): Read timed out"),
    ],
)
def test_a_broken_connection_is_unreachable_in_words(mode: str, expected: str) -> None:
    with bad_server(mode) as port:
        error = _open(port)
    assert error.category == "unreachable"
    assert _one_clean_line(error).startswith(expected)


def test_a_refused_connection() -> None:
    error = _open(refused_port())
    assert (error.category, _one_clean_line(error)) == (
        "unreachable", "pc-1: connection refused (is WinRM listening on that port?)"
    )  # fmt: skip


def test_the_deadline_is_named_with_its_seconds() -> None:
    settings = ConnectionSettings(**{**SETTINGS.__dict__, "deadline": 1.0})
    with bad_server("hang") as port:
        error = _open(port, settings)
    assert error.category == "unreachable"
    # Either the deadline stopped the next request, or it clamped the last read: both say how long was waited.
    assert re.fullmatch(
        r"pc-1: (no answer within the per-host deadline \(1s\)"
        r"|the host stopped answering \(read timeout\): Read timed out\. \(read timeout=(0\.\d+|1)\))",
        _one_clean_line(error),
    ), error.message


@pytest.mark.parametrize(
    ("code", "subcode", "words"),
    [
        (lab_wsman.CODE_OPERATION_TIMEOUT, "w:TimedOut", " (the operation timed out on the host)"),
        (2150858770, "w:InternalError", " (the WinRM service refused the shell"),
        (2150859046, "w:InvalidResourceURI", " (the PowerShell endpoint (configuration) does not exist"),
        (5, "w:AccessDenied", " (access denied: the user is not allowed"),
        (2150858999, "w:SomethingNew", ""),
    ],
)
def test_a_wsman_fault_keeps_code_subcode_and_the_hosts_message(code: int, subcode: str, words: str) -> None:
    host_text = f"{FAULT_TEXT} \u202egnp.exe"  # a right-to-left override (XML carries no C0 controls)
    envelope = lab_wsman.fault_envelope(lab_wsman.WSManFault(code, subcode, host_text), "uuid:1", "pc-1")
    with bad_server("status", status=500, body=envelope) as port:
        error = _open(port)
    message = _one_clean_line(error)
    assert error.category == "protocol"
    assert message.startswith(f"pc-1: WSMan fault {code} {subcode}{words}"), message
    assert FAULT_TEXT.rstrip(".") in message  # the host's own words, every time
    assert "\u202e" not in message and "\\u202egnp.exe" in message  # escaped, never raw


@pytest.mark.parametrize(("status", "category"), [(500, "protocol"), (503, "unreachable")])
def test_an_error_page_keeps_its_status_and_text(status: int, category: str) -> None:
    with bad_server("status", status=status, body=b"<html><body><h1>Service\nBusy</h1></body></html>") as port:
        error = _open(port)
    assert error.category == category
    assert f"pc-1: HTTP {status} from the WinRM listener" in _one_clean_line(error)
    assert error.message.endswith(": Service Busy")


def test_refused_credentials_are_auth_failed() -> None:
    with bad_server("status", status=401) as port:
        error = _open(port)
    assert error.category == "auth_failed"
    assert _one_clean_line(error).startswith("pc-1: the host refused the credentials (HTTP 401): ")


def test_name_resolution_keeps_the_resolvers_words(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real name would send a DNS query off this machine: the resolver itself fails here instead.
    def no_such_name(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    error = _open(5985)
    assert (error.category, _one_clean_line(error)) == (
        "unreachable", "pc-1: name does not resolve: Name or service not known"
    )  # fmt: skip


def test_a_connect_timeout_keeps_urllib3s_words_without_its_classes() -> None:
    # A connect timeout cannot be caused on loopback: this is the exception chain requests raises for one.
    reason = ConnectTimeoutError(object(), "Connection to 127.0.0.1 timed out. (connect timeout=2)")
    wrapped = MaxRetryError(None, "/wsman", reason)  # type: ignore[arg-type]
    error = classify(requests.exceptions.ConnectTimeout(wrapped), host="pc-1")
    assert (error.category, _one_clean_line(error)) == (
        "unreachable", "pc-1: connection timed out: Connection to 127.0.0.1 timed out. (connect timeout=2)"
    )  # fmt: skip


def _jcfix(*args: str) -> subprocess.CompletedProcess[str]:
    env = environ_without_jcfix()
    env.update(JCFIX_CONFIG="/dev/null", JCFIX_USER=LAB_USERNAME, JCFIX_PASSWORD=LAB_PASSWORD)
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def dropping_host() -> Iterator[str]:
    with bad_server("drop") as port:
        yield f"127.0.0.1:{port}"


def test_the_cli_shows_the_words_and_only_debug_shows_the_exception(dropping_host: str) -> None:
    args = ("users", "list", "-H", dropping_host, "--http", "--auth", "basic", "--deadline", "5", "-o", "json")
    plain = _jcfix(*args)
    (host,) = json.loads(plain.stdout)
    error = host["results"][0]["error"]
    assert error["category"] == "unreachable"
    assert "connection dropped mid-response (the host closed it): 6 bytes read" in error["message"]
    assert "ChunkedEncodingError" not in plain.stdout + plain.stderr
    debug = _jcfix("--debug", *args)
    assert debug.returncode == plain.returncode
    assert "ChunkedEncodingError" in debug.stderr and "Traceback" in debug.stderr


def test_the_faults_lab_keeps_the_hosts_words_for_faults_and_script_errors(tmp_path: Path) -> None:
    with LabFleet.from_scenario("faults") as fleet:
        inventory = tmp_path / "faults.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        limit = "fault-http-500,fault-terminating-error,fault-error-records,fault-drop"
        done = _jcfix("users", "list", "-i", str(inventory), "--limit", limit, "--deadline", "5", "-o", "json")
    errors = {host["host"]: host["results"][0]["error"] for host in json.loads(done.stdout)}
    assert errors["fault-http-500"]["category"] == "protocol"
    assert errors["fault-http-500"]["message"].startswith("fault-http-500: WSMan fault 2147500037 w:InternalError: ")
    assert "encountered an internal error (lab fault http_500)" in errors["fault-http-500"]["message"]
    assert errors["fault-drop"]["message"].startswith("fault-drop: connection dropped mid-response (the host closed")
    # A script's error is the host's own text, without Write-Error's default id (a .NET class name).
    stopped, records = errors["fault-terminating-error"], errors["fault-error-records"]
    assert (stopped["category"], records["category"]) == ("script_failed", "script_failed")
    assert stopped["message"].endswith("Cannot open the JumpCloud agent configuration: access is denied.")
    assert records["message"].endswith("Access to the registry key 'HKLM\\SOFTWARE\\JumpCloud' is denied.")
    for error in errors.values():
        assert not LIBRARY_WORDS.search(error["message"]) and "\n" not in error["message"], error
