"""What keeps the lab cheap at 10,000 hosts: small certificates, stored NTLM hashes, and its CPU in its stats."""

from __future__ import annotations

import json
import os
import ssl
import time
from pathlib import Path

import pytest
from cryptography import x509
from lab_client import invoke, parse, script_of, wsman_for

from toolkit.lab import certs, server
from toolkit.lab.auth import ensure_ntlm_user_file
from toolkit.lab.fleet import LabFleet
from toolkit.lab.powershell.contract import CaseInsensitiveDict
from toolkit.lab.server import write_stats


def _named_addresses(certificate: certs.LabCertificate) -> list[str]:
    parsed = x509.load_der_x509_certificate(certificate.der)
    names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(a) for a in names.get_values_for_type(x509.IPAddress)]


def test_a_big_lab_gets_one_certificate_per_group_of_addresses(tmp_path: Path) -> None:
    addresses = [f"127.0.9.{n}" for n in range(1, 6)]
    by_address = certs.make_certificates(addresses, directory=tmp_path, per_certificate=2)
    distinct = {id(c): c for c in by_address.values()}.values()
    assert len(distinct) == 3
    assert sorted(a for c in distinct for a in _named_addresses(c)) == sorted(addresses)
    assert _named_addresses(by_address["127.0.9.5"]) == ["127.0.9.5"]
    bundle = by_address["127.0.9.1"].cert_path
    assert {c.cert_path for c in distinct} == {bundle}  # one CA file validates every host
    assert bundle.read_bytes().count(b"BEGIN CERTIFICATE") == 3
    for certificate in distinct:
        assert certificate.chain_path is not None and certificate.chain_path.read_bytes() == certificate.cert_pem
        certificate.server_context()  # loads its own certificate and key, not the bundle


def test_a_small_lab_keeps_one_certificate(tmp_path: Path) -> None:
    by_address = certs.make_certificates(["127.0.9.1", "127.0.9.2"], directory=tmp_path)
    (certificate,) = {id(c): c for c in by_address.values()}.values()
    assert certificate.chain_path is None and certificate.cert_path.read_bytes() == certificate.cert_pem


def test_each_host_presents_its_groups_certificate_and_the_bundle_validates_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(certs, "ADDRESSES_PER_CERTIFICATE", 2)
    contexts_built: list[certs.LabCertificate] = []
    server_context = certs.LabCertificate.server_context

    def counting(certificate: certs.LabCertificate) -> ssl.SSLContext:
        contexts_built.append(certificate)
        return server_context(certificate)

    monkeypatch.setattr(certs.LabCertificate, "server_context", counting)
    options = {"hosts": 3, "addressing": "addresses", "base_address": "127.0.79.1", "port": 0}
    with LabFleet.from_scenario("healthy", tls=True, auth="ntlm", **options) as fleet:
        assert fleet.certificate is not None
        assert len(contexts_built) == 2  # one TLS context per certificate, shared by its hosts
        bundle = str(fleet.certificate.cert_path)
        assert fleet.inventory()["ca_cert"] == bundle
        last = fleet.endpoints[2]
        presented = ssl.get_server_certificate((last.address, last.port))
        assert ssl.PEM_cert_to_DER_cert(presented) == fleet.listener(last.hostname).certificate.der
        assert fleet.listener(last.hostname).certificate != fleet.certificate
        # Validated against the bundle, with NTLM channel binding to this host's own certificate.
        powershell = invoke(wsman_for(last, auth="ntlm", cert_validation=bundle), script_of("list_users"))
        assert parse("list_users", powershell).status == "ok"


def test_the_ntlm_user_file_stores_hashes_not_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NTLM_USER_FILE", raising=False)
    path = ensure_ntlm_user_file("labadmin", "Lab-Passw0rd!")
    text = path.read_text(encoding="utf-8")
    assert "Lab-Passw0rd!" not in text
    # smbpasswd form: NAME:UID:LM:NT:FLAGS:TIME, NT = MD4 of the UTF-16LE password.
    assert text.split(":")[3] == "9BF15D3185EDC976C5A9767D00E9436D"
    assert ensure_ntlm_user_file("labadmin", "Lab-Passw0rd!") == path == Path(os.environ["NTLM_USER_FILE"])


def test_stats_report_the_labs_own_cpu_seconds(tmp_path: Path) -> None:
    stats_file = tmp_path / "stats.json"
    with LabFleet.from_scenario("healthy", hosts=1) as fleet:
        write_stats(fleet.server, stats_file)
        before = json.loads(stats_file.read_text(encoding="utf-8"))
        invoke(wsman_for(fleet.endpoints[0]), script_of("list_users"))
        spin_until = time.process_time() + 0.05
        while time.process_time() < spin_until:  # the lab counts its whole process: make sure some CPU passed
            pass
        write_stats(fleet.server, stats_file)
        after = json.loads(stats_file.read_text(encoding="utf-8"))
    assert (after["requests_served"], after["pipelines_run"]) == (before["requests_served"] + 6, 1)
    assert before["cpu_s"] > 0 and after["cpu_s"] >= before["cpu_s"] + 0.05
    assert after["max_rss_mb"] > 10


def test_case_insensitive_dict_keeps_the_first_spelling() -> None:
    table = CaseInsensitiveDict({"Name": 1, "NAME": 2, "Other": 3})
    table["name"] = 4
    table["New"] = 5
    assert dict(table) == {"Name": 4, "Other": 3, "New": 5}
    assert (table["nEw"], "OTHER" in table, table.get("missing", 6)) == (5, True, 6)
    del table["oTher"]
    assert "other" not in table and list(CaseInsensitiveDict([("A", 1), ("a", 2)]).items()) == [("A", 2)]


def test_the_lab_raises_its_open_file_limit_for_its_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = {"soft": 4096, "hard": 20000}
    monkeypatch.setattr(server.resource, "getrlimit", lambda _: (limits["soft"], limits["hard"]))
    monkeypatch.setattr(server.resource, "setrlimit", lambda _, pair: limits.update(soft=pair[0]))
    assert server.ensure_descriptors(10) is None and limits["soft"] == 4096  # enough already: untouched
    assert server.ensure_descriptors(10_000) is None and limits["soft"] == 10_000 + server.SPARE_DESCRIPTORS
    limits.update(soft=1024, hard=4096)
    shortage = server.ensure_descriptors(10_000)
    assert shortage is not None and "limit is 4096" in shortage and limits["soft"] == 1024
