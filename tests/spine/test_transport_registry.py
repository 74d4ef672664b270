"""The transport registry (``--via`` names, settings -> transport, default factory) and host endpoints."""

from __future__ import annotations

import pytest

from toolkit.errors import UsageError
from toolkit.settings import ConnectionSettings
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget, TransportError, resolve_endpoint
from toolkit.transport.jumpcloud import JumpCloudSettings
from toolkit.transport.registry import for_settings, get_transport, open_session, transport_names
from toolkit.transport.winrm import WinRMSession


def test_names_list_the_built_in_transports_default_first() -> None:
    assert transport_names()[:2] == ("winrm", "jumpcloud")


def test_unknown_name_is_a_usage_error_naming_the_valid_values() -> None:
    with pytest.raises(UsageError, match=r"winrm, jumpcloud.*'ssh'"):
        get_transport("ssh")


def test_settings_class_picks_the_transport() -> None:
    assert for_settings(ConnectionSettings()).name == "winrm"
    assert for_settings(JumpCloudSettings()).name == "jumpcloud"


def test_default_factory_opens_a_session_of_the_settings_transport() -> None:
    target = HostTarget(name="pc1", address="127.0.0.1")
    assert isinstance(open_session(target, ConnectionSettings(scheme="http", auth="ntlm")), WinRMSession)
    # The JumpCloud session is the one that asks for the API settings: the routing reached it.
    with pytest.raises(TransportError, match="no JumpCloud API settings"):
        open_session(target, JumpCloudSettings())


def test_previews_show_whatif_as_each_transport_sends_it() -> None:
    rendered = RenderedScript(action="demo", version=1, script="Write-Output 1", parameters={"Name": "x"})
    winrm = get_transport("winrm").preview(rendered, True)
    assert "WhatIf = $true" in winrm and "Name = 'x'" in winrm
    jumpcloud = get_transport("jumpcloud").preview(rendered, True)
    assert jumpcloud.startswith("# the JumpCloud command text") and "#   -WhatIf $true" in jumpcloud


@pytest.mark.parametrize(
    ("target", "settings", "expected"),
    [
        (HostTarget("pc1"), ConnectionSettings(), ("pc1", 5986, "https", "negotiate", None)),
        (HostTarget("pc1"), ConnectionSettings(scheme="http"), ("pc1", 5985, "http", "negotiate", None)),
        (HostTarget("pc1", scheme="http"), ConnectionSettings(port=6000), ("pc1", 6000, "http", "negotiate", None)),
        (
            HostTarget("pc1", address="10.0.0.5", port=7000, auth="ntlm", ca_cert="host.pem"),
            ConnectionSettings(ca_cert="run.pem"),
            ("10.0.0.5", 7000, "https", "ntlm", "host.pem"),
        ),
        (HostTarget("pc1"), ConnectionSettings(ca_cert="run.pem"), ("pc1", 5986, "https", "negotiate", "run.pem")),
    ],
)
def test_endpoint_applies_host_overrides_over_the_run_settings(
    target: HostTarget, settings: ConnectionSettings, expected: tuple[object, ...]
) -> None:
    end = resolve_endpoint(target, settings)
    assert (end.address, end.port, end.scheme, end.auth, end.ca_cert) == expected
    assert end.url == f"{expected[2]}://{expected[0]}:{expected[1]}"
