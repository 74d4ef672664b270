"""Issue 14: the repeated PSRP messages (pool open, create pipeline) are serialised once per run and reused, and
what goes on the wire is byte for byte what pypsrp would have sent (toolkit/transport/psrpcache.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet
from toolkit.lab.scenarios import load_hosts
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings
from toolkit.templates import RenderedScript
from toolkit.transport import psrpcache
from toolkit.transport.base import HostTarget
from toolkit.transport.winrm import WinRMSession

POOL_ID = "1567A7ED-061F-4381-A3D4-A74BD47956B5"
PIPELINE_ID = "0E0AC2D6-3F3B-4F25-8AC5-6E5B1E5A0B11"


class _Sent(Exception):
    """Raised in place of the WSMan call: what would have been sent is captured, nothing connects."""


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    psrpcache.clear()
    yield
    psrpcache.clear()


def _pool(cached: bool) -> RunspacePool:
    wsman = WSMan("127.0.0.1", port=9, username="u", password="p", ssl=False, auth="basic", encryption="never")
    pool = RunspacePool(wsman)
    pool.id = POOL_ID
    if cached:
        psrpcache.install(pool)
    return pool


def _open_fragments(cached: bool) -> bytes:
    pool = _pool(cached)
    sent: list[bytes] = []

    def shell_open(options: Any, open_content: Any) -> None:
        sent.append(base64.b64decode(open_content.text))
        raise _Sent

    pool.shell.open = shell_open
    with pytest.raises(_Sent):
        pool.open()
    return sent[0]


def _pipeline_fragment(cached: bool, script: str, parameters: dict[str, Any], arm: bool = True) -> bytes:
    pool = _pool(cached)
    pool.protocol_version = "2.3"
    shell = PowerShell(pool)
    shell.id = PIPELINE_ID
    shell.add_script(script, use_local_scope=True)
    if parameters:
        shell.add_parameters(parameters)
    if cached and arm:
        pool._serializer.arm(psrpcache.pipeline_key(script, True, parameters, pool.protocol_version))
    sent: list[bytes] = []

    def command(*args: Any, arguments: list[str], **kwargs: Any) -> None:
        sent.append(base64.b64decode(arguments[0]))
        raise _Sent

    pool.shell.command = command
    with pytest.raises(_Sent):
        shell.invoke()
    return sent[0]


def test_pool_open_messages_are_cached_and_identical() -> None:
    plain = _open_fragments(cached=False)
    assert psrpcache.cached_count() == 0
    first = _open_fragments(cached=True)
    assert psrpcache.cached_count() == 2  # SESSION_CAPABILITY and INIT_RUNSPACEPOOL
    again = _open_fragments(cached=True)
    assert psrpcache.cached_count() == 2  # reused, not added
    assert first == plain
    assert again == plain


def test_pipeline_message_is_cached_and_identical() -> None:
    script = "param($Name, $Flag, $Count, $List, $Map)\n$Name; 'é ☃ \U0001f600'\t# tab and controls \x01"
    parameters = {"Name": "pc-01", "Flag": True, "Count": 1, "List": [1, "a", None], "Map": {"k": 2.5}}
    plain = _pipeline_fragment(False, script, parameters)
    first = _pipeline_fragment(True, script, parameters)
    assert psrpcache.cached_count() == 1
    again = _pipeline_fragment(True, script, parameters)
    assert psrpcache.cached_count() == 1
    assert first == plain
    assert again == plain


def test_parameters_that_differ_only_in_type_never_share_a_message() -> None:
    script = "param($A) $A"
    for value in (True, 1, "1", 1.0, [1], None):
        expected = _pipeline_fragment(False, script, {"A": value})
        assert _pipeline_fragment(True, script, {"A": value}) == expected, value
    assert psrpcache.cached_count() == 6


def test_an_unarmed_pipeline_is_not_cached() -> None:
    _pipeline_fragment(True, "param($A) $A", {"A": "x"}, arm=False)
    assert psrpcache.cached_count() == 0


def test_a_step_with_a_secret_parameter_is_never_cached(tmp_path: Any) -> None:
    """Through a real session on the lab: the secret step's message is serialised afresh and kept nowhere."""
    host = next(h for h in load_hosts("faults") if h.hostname == "fault-none")
    settings = ConnectionSettings(
        user=LAB_USERNAME, password=Secret(LAB_PASSWORD), scheme="http", auth="basic", deadline=30
    )
    secret_text = "S3cret-Value-Never-Cached"
    with LabFleet([host]) as fleet:
        (endpoint,) = fleet.endpoints
        target = HostTarget(endpoint.hostname, address=endpoint.address, port=endpoint.port)
        with WinRMSession(target, settings) as session:
            session.open()
            assert psrpcache.cached_count() == 2  # the pool-open messages
            assert psrpcache.private_data_count() == 1  # the host's APPLICATION_PRIVATE_DATA, parsed once
            session.run(RenderedScript("test", 1, "param($Password) 'x'", {"Password": Secret(secret_text)}))
            assert psrpcache.cached_count() == 2
            assert not any(secret_text.encode() in body for body in psrpcache._cache.values())
            session.run(RenderedScript("test", 1, "param($Name) 'x'", {"Name": "plain"}))
            assert psrpcache.cached_count() == 3  # the same session caches a step without a secret


def test_private_data_is_parsed_once_per_distinct_text() -> None:
    import xml.etree.ElementTree as ET

    from pypsrp.complex_objects import ObjectMeta
    from pypsrp.messages import ApplicationPrivateData

    data = {"PSVersionTable": {"PSVersion": "5.1.22621.2506", "PSCompatibleVersions": ["1.0", "2.0", "5.1"]}}
    element = psrpcache.Serializer().serialize(ApplicationPrivateData(data=data))
    assert element is not None
    text = ET.tostring(element, encoding="utf-8").decode()
    plain = psrpcache.Serializer().deserialize(text, ObjectMeta("Obj", object=ApplicationPrivateData))
    serializer = psrpcache.CachingSerializer()
    first = serializer.deserialize(text, ObjectMeta("Obj", object=ApplicationPrivateData))
    again = psrpcache.CachingSerializer().deserialize(text, ObjectMeta("Obj", object=ApplicationPrivateData))
    assert again is first
    assert first.data == plain.data
    assert psrpcache.private_data_count() == 1
