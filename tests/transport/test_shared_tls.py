"""Issue 14: one SSL context per run and TLS settings (not one per connection), and certificate validation
means what it meant: the lab's CA validates, a wrong CA fails, --no-cert-validation skips the check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3.connection

from toolkit.lab.certs import make_certificate
from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet
from toolkit.lab.scenarios import load_hosts
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings
from toolkit.transport import httpsession
from toolkit.transport.base import HostTarget, TransportError
from toolkit.transport.winrm import WinRMSession

HOSTS = 3


@pytest.fixture(scope="module")
def https_fleet() -> Iterator[LabFleet]:
    healthy = next(h for h in load_hosts("faults") if h.hostname == "fault-none")
    hosts = [healthy.model_copy(deep=True, update={"hostname": f"tls-{i}"}) for i in range(HOSTS)]
    with LabFleet(hosts, tls=True) as fleet:
        yield fleet


@pytest.fixture
def contexts_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts SSL contexts built for connections, by urllib3 or by jcfix's shared-context cache (emptied)."""
    built: list[int] = []
    for module in (urllib3.connection, httpsession):
        original = module.create_urllib3_context

        def counting(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            built.append(1)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, "create_urllib3_context", counting)
    monkeypatch.setattr(httpsession, "_contexts", {})
    return built


def _open_all(fleet: LabFleet, *, validate: bool, ca: str | None) -> list[str]:
    """Open and close a pool on every host; the error message per host ("" when it opened)."""
    settings = ConnectionSettings(
        user=LAB_USERNAME,
        password=Secret(LAB_PASSWORD),
        scheme="https",
        auth="basic",
        cert_validation=validate,
        connect_timeout=5,
        read_timeout=10,
        operation_timeout=5,
        deadline=30,
    )
    outcomes = []
    for endpoint in fleet.endpoints:
        target = HostTarget(endpoint.hostname, address=endpoint.address, port=endpoint.port, ca_cert=ca)
        with WinRMSession(target, settings) as session:
            try:
                session.open()
                outcomes.append("")
            except TransportError as exc:
                outcomes.append(exc.message)
    return outcomes


def test_the_lab_ca_validates_with_one_context_for_every_host(https_fleet: LabFleet, contexts_built: list[int]) -> None:
    assert https_fleet.certificate is not None
    assert _open_all(https_fleet, validate=True, ca=str(https_fleet.certificate.cert_path)) == [""] * HOSTS
    assert len(contexts_built) == 1  # before issue 14: one per host's connection


def test_a_wrong_ca_still_fails(https_fleet: LabFleet, contexts_built: list[int], tmp_path: Path) -> None:
    wrong = make_certificate(["127.0.0.1"], directory=tmp_path, common_name="not the lab")
    outcomes = _open_all(https_fleet, validate=True, ca=str(wrong.cert_path))
    assert all("certificate did not verify" in o for o in outcomes), outcomes
    assert len(contexts_built) == 1


def test_no_cert_validation_still_skips_the_check(
    https_fleet: LabFleet, contexts_built: list[int], tmp_path: Path
) -> None:
    wrong = make_certificate(["127.0.0.1"], directory=tmp_path, common_name="not the lab")
    assert _open_all(https_fleet, validate=False, ca=str(wrong.cert_path)) == [""] * HOSTS
    assert len(contexts_built) == 1


def test_distinct_tls_settings_get_distinct_contexts(tmp_path: Path) -> None:
    wrong = make_certificate(["127.0.0.1"], directory=tmp_path, common_name="another")
    ca = str(wrong.cert_path)
    assert httpsession.shared_context(ca, None) is httpsession.shared_context(ca, None)
    assert httpsession.shared_context(ca, None) is not httpsession.shared_context(False, None)
    assert httpsession.shared_context(False, None).check_hostname is False


def test_a_missing_ca_file_is_refused_as_requests_refused_it(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="Could not find a suitable TLS CA certificate bundle"):
        httpsession.shared_context(str(tmp_path / "absent.pem"), None)
