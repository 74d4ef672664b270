"""Issue 14: NTLM's password hashes are computed once per run (toolkit/transport/ntlmhash.py), and NTLM
sign-in means what it meant: the right password opens the pool, a wrong one is refused."""

from __future__ import annotations

import pytest
from spnego._ntlm_raw import crypto

from toolkit.lab.fleet import LAB_PASSWORD, LAB_USERNAME, LabFleet
from toolkit.lab.scenarios import load_hosts
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings
from toolkit.transport import ntlmhash
from toolkit.transport.base import HostTarget, TransportError
from toolkit.transport.winrm import WinRMSession


def test_the_hash_form_is_what_pyspnego_derives_from_the_password() -> None:
    for password in ("Lab-Passw0rd!", "ünïcødé-pässwörd-longer-than-fourteen", ""):
        lm, nt = ntlmhash.ntlm_password(password).split(":")
        assert bytes.fromhex(lm) == crypto.lmowfv1(password)
        assert bytes.fromhex(nt) == crypto.ntowfv1(password)
        assert crypto.is_ntlm_hash(ntlmhash.ntlm_password(password))


def test_the_hashes_are_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = ntlmhash.lmowfv1
    monkeypatch.setattr(ntlmhash, "lmowfv1", lambda p: calls.append("lm") or original(p))
    monkeypatch.setattr(ntlmhash, "_hashes", {})
    first = ntlmhash.ntlm_password("Once-Only-1")
    assert ntlmhash.ntlm_password("Once-Only-1") == first
    assert calls == ["lm"]
    assert "Once-Only-1" not in repr(ntlmhash._hashes)  # keyed by a digest, never the password


@pytest.mark.parametrize("tls", [False, True])
def test_ntlm_sign_in_still_checks_the_password(tls: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(ntlmhash, "_hashes", {})
    original = ntlmhash.lmowfv1
    monkeypatch.setattr(ntlmhash, "lmowfv1", lambda p: calls.append("lm") or original(p))
    healthy = next(h for h in load_hosts("faults") if h.hostname == "fault-none")
    hosts = [healthy.model_copy(deep=True, update={"hostname": f"ntlm-{i}"}) for i in range(2)]

    def open_all(fleet: LabFleet, password: str) -> list[str]:
        settings = ConnectionSettings(
            user=LAB_USERNAME, password=Secret(password), scheme="https" if tls else "http", auth="ntlm",
            cert_validation=False, connect_timeout=5, read_timeout=10, operation_timeout=5, deadline=30,
        )
        outcomes = []
        for e in fleet.endpoints:
            with WinRMSession(HostTarget(e.hostname, address=e.address, port=e.port), settings) as session:
                try:
                    session.open()
                    outcomes.append("ok")
                except TransportError as exc:
                    outcomes.append(exc.category)
        return outcomes

    with LabFleet(hosts, auth="ntlm", tls=tls) as fleet:
        assert open_all(fleet, LAB_PASSWORD) == ["ok", "ok"]
        assert calls == ["lm"]  # two hosts, one derivation
        assert open_all(fleet, LAB_PASSWORD + "x") == ["auth_failed", "auth_failed"]
