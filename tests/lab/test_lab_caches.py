"""The lab's caches of pure work: each keyed so that a different input never gets another input's result."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from psrpcore import ClientPowerShell, ClientRunspacePool, CreatePipelineEvent, ServerPipeline
from psrpcore.types import PSRPMessageType

from toolkit.lab import psrp, psrpcache
from toolkit.lab.host import LabHost
from toolkit.lab.powershell.contract import NO_METHODS, CaseInsensitiveDict, DotNetObject
from toolkit.lab.psrpcache import CachingRunspacePool


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    psrpcache.clear_cache()
    yield
    psrpcache.clear_cache()


def _exchange(source: Any, target: Any) -> list[Any]:
    """Move every queued payload from ``source`` to ``target``; the events ``target`` saw."""
    events = []
    while (payload := source.data_to_send()) is not None:
        target.receive_data(payload)
        while (event := target.next_event()) is not None:
            events.append(event)
    return events


def _opened(ps_version: str = "5.1.17763.1") -> tuple[ClientRunspacePool, CachingRunspacePool]:
    """A client pool opened against a caching server pool (all in memory)."""
    host = LabHost(hostname="pc-cache", ps_version=ps_version)
    server = CachingRunspacePool(application_private_data=psrp.application_private_data(host),
                                 private_data_key=host.ps_version)
    client = ClientRunspacePool()
    client.open()
    for _ in range(3):
        _exchange(client, server)
        _exchange(server, client)
    return client, server


def _pipeline(client: ClientRunspacePool, server: CachingRunspacePool, script: str,
              **parameters: Any) -> CreatePipelineEvent:
    """Start ``script`` on the client; the CreatePipeline event the server saw."""
    powershell = ClientPowerShell(client)
    powershell.add_script(script)
    for name, value in parameters.items():
        powershell.add_parameter(name, value)
    powershell.start()
    ServerPipeline(server, powershell.pipeline_id)
    (event,) = [e for e in _exchange(client, server) if isinstance(e, CreatePipelineEvent)]
    return event


def test_the_private_data_of_another_powershell_version_is_not_the_cached_one() -> None:
    client_a, _ = _opened("5.1.17763.1")
    client_b, _ = _opened("5.1.19041.2")
    client_c, _ = _opened("5.1.17763.1")
    versions = [str(c.application_private_data["PSVersionTable"]["PSVersion"]) for c in (client_a, client_b, client_c)]
    assert versions == ["5.1.17763.1", "5.1.19041.2", "5.1.17763.1"]
    builds = [str(c.application_private_data["PSVersionTable"]["BuildVersion"]) for c in (client_a, client_b)]
    assert builds == ["10.0.17763.1", "10.0.19041.2"]


def test_constant_messages_are_keyed_by_their_key() -> None:
    from psrpcore.types import ProgressRecordMsg, ProgressRecordType

    def record(activity: str) -> ProgressRecordMsg:
        return ProgressRecordMsg(Activity=activity, ActivityId=0, StatusDescription=" ", CurrentOperation=None,
                                 ParentActivityId=-1, PercentComplete=-1, Type=ProgressRecordType.Completed,
                                 SecondsRemaining=-1)

    _, server = _opened()
    pipeline_id = uuid.uuid4()
    server.prepare_constant("one", lambda: record("first"), PSRPMessageType.ProgressRecord, pipeline_id)
    server.prepare_constant("two", lambda: record("second"), PSRPMessageType.ProgressRecord, pipeline_id)
    server.prepare_constant("one", lambda: record("not used"), PSRPMessageType.ProgressRecord, pipeline_id)
    data = b"".join(bytes(p.data) for p in iter(server.data_to_send, None))
    assert data.count(b"first") == 2 and data.count(b"second") == 1 and b"not used" not in data


def test_the_first_pipeline_still_reports_module_preparation() -> None:
    client, server = _opened()
    _pipeline(client, server, "1")
    pipeline_id = next(iter(server.pipeline_table))
    server.prepare_constant("first use", psrp._first_use_progress, PSRPMessageType.ProgressRecord, pipeline_id)
    (event,) = _exchange(server, client)
    assert event.record.Activity == "Preparing modules for first use."


def test_case_insensitive_dict_keeps_the_first_spelling_and_the_last_value() -> None:
    table = CaseInsensitiveDict({"Name": 1, "name": 2, "Other": 3})
    assert dict(table) == {"Name": 2, "Other": 3} and table["NAME"] == 2
    plain = CaseInsensitiveDict({"Name": 1, "Other": 3})
    assert dict(plain) == {"Name": 1, "Other": 3} and "OTHER" in plain
    copied = CaseInsensitiveDict(plain)
    copied["name"] = 5
    assert dict(copied) == {"Name": 5, "Other": 3} and plain["name"] == 1


def test_objects_without_methods_share_a_table_nobody_can_change() -> None:
    plain = DotNetObject(["X"], {"A": 1})
    with_method = DotNetObject(["X"], {"A": 1}, {"Go": lambda: 1})
    assert plain.methods is NO_METHODS and with_method.methods is not NO_METHODS
    with pytest.raises(TypeError):
        plain.methods["Go"] = lambda: 2
    assert "go" not in DotNetObject(["Y"]).methods and with_method.call("GO") == 1


def test_a_wql_filter_is_parsed_once_per_text_and_another_text_gets_its_own() -> None:
    from toolkit.lab.windows import cim

    cim.parse_filter.cache_clear()
    alice = DotNetObject(["Win32_UserAccount"], {"Name": "alice", "Disabled": False})
    bob = DotNetObject(["Win32_UserAccount"], {"Name": "bob", "Disabled": True})
    by_alice = cim.parse_filter("Name = 'alice'")
    assert cim.parse_filter("Name = 'alice'") is by_alice
    assert [by_alice(u) for u in (alice, bob)] == [True, False]
    assert [cim.parse_filter("Name = 'bob'")(u) for u in (alice, bob)] == [False, True]
    assert [cim.parse_filter("Disabled = true")(u) for u in (alice, bob)] == [False, True]
    for _ in range(2):  # a query that does not parse is refused every time, never cached
        with pytest.raises(cim.CimQueryError):
            cim.parse_filter("Name ~ 'x'")
    assert cim.parse_filter.cache_info().currsize == 3


def test_a_wsman_header_is_read_with_its_selectors_options_and_body() -> None:
    from toolkit.lab import wsman

    ns = wsman.NS
    envelope = (
        f'<s:Envelope xmlns:s="{ns["s"]}" xmlns:a="{ns["wsa"]}" xmlns:w="{ns["wsman"]}"><s:Header>'
        "<a:Action> http://x/Command </a:Action><a:MessageID>uuid:1</a:MessageID>"
        "<w:ResourceURI>http://r</w:ResourceURI><w:OperationTimeout>PT20S</w:OperationTimeout>"
        "<w:MaxEnvelopeSize>512000</w:MaxEnvelopeSize><a:Action>http://second</a:Action>"
        '<w:SelectorSet><w:Selector Name="ShellId">ABC</w:Selector><w:Selector Name="X">1</w:Selector>'
        '</w:SelectorSet><w:OptionSet><w:Option Name="WINRS_NOPROFILE">TRUE</w:Option></w:OptionSet>'
        "</s:Header><s:Body><w:Thing/></s:Body></s:Envelope>"
    ).encode()
    request = wsman.parse_request(envelope)
    assert (request.action, request.message_id, request.resource_uri) == ("http://x/Command", "uuid:1", "http://r")
    assert request.operation_timeout_s == 20.0 and request.max_envelope_size == 512000
    assert request.selectors == {"ShellId": "ABC", "X": "1"} and request.options == {"WINRS_NOPROFILE": "TRUE"}
    assert request.body is not None and request.body.tag == f"{{{ns['wsman']}}}Thing"
    bare = wsman.parse_request(f'<s:Envelope xmlns:s="{ns["s"]}"><s:Header/></s:Envelope>'.encode())
    assert (bare.action, bare.max_envelope_size, bare.selectors, bare.body) == ("", 153600, {}, None)
    with pytest.raises(wsman.WSManFault):
        wsman.parse_request(f'<s:Envelope xmlns:s="{ns["s"]}"/>'.encode())


def test_inherited_aces_are_computed_per_parent_owner_and_kind() -> None:
    from toolkit.lab.windows import security as sec

    parent = sec.SecurityDescriptor(sec.SYSTEM, [
        sec.Ace(sec.CREATOR_OWNER, sec.FULL, True, 3),  # container and object inherit
        sec.Ace(sec.ADMINISTRATORS, sec.FULL, True, 1),  # container inherit only
    ])
    folder_a = sec.inherit(parent, "S-1-5-21-1-1001", True)
    folder_b = sec.inherit(parent, "S-1-5-21-1-1002", True)
    file_a = sec.inherit(parent, "S-1-5-21-1-1001", False)
    assert [a.sid for a in folder_a.dacl] == ["S-1-5-21-1-1001", sec.CREATOR_OWNER, sec.ADMINISTRATORS]
    assert [a.sid for a in folder_b.dacl] == ["S-1-5-21-1-1002", sec.CREATOR_OWNER, sec.ADMINISTRATORS]
    assert [a.sid for a in file_a.dacl] == ["S-1-5-21-1-1001"]
    assert folder_a.owner == "S-1-5-21-1-1001" and folder_b.owner == "S-1-5-21-1-1002"
    folder_a.dacl.append(sec.Ace(sec.SYSTEM, sec.FULL))  # each descriptor owns its list
    assert len(sec.inherit(parent, "S-1-5-21-1-1001", True).dacl) == 3
    parent.dacl.append(sec.Ace(sec.SYSTEM, sec.FULL, True, 2))  # a changed parent is not served the old result
    assert [a.sid for a in sec.inherit(parent, "S-1-5-21-1-1001", False).dacl] == ["S-1-5-21-1-1001", sec.SYSTEM]


def test_the_lab_process_freezes_its_startup_heap_and_collects_garbage_first() -> None:
    import gc
    import weakref

    from toolkit.lab.server import freeze_startup_heap

    class Node:
        pass

    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    gone = weakref.ref(cycle)
    del cycle
    try:
        assert freeze_startup_heap() > 0
        assert gone() is None  # garbage was collected before the freeze, not frozen with the rest
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
