"""``jcfix users list`` over real WinRM to lab hosts: output forms, auth paths, and failures."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from e2e_support import Lab, json_out, run_jcfix

from toolkit.exitcodes import ExitCode
from toolkit.lab import readback


def test_json_lists_every_user_of_every_host(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("mixed")
    result = run_jcfix("users", "list", "-i", str(lab.inventory), "-o", "json")
    assert result.returncode == 0, result.stderr
    hosts = {entry["host"]: entry for entry in json_out(result)}
    assert set(hosts) == {h.hostname for h in lab.fleet.hosts}
    for host in lab.fleet.hosts:
        (document,) = hosts[host.hostname]["results"]
        assert document["status"] == "ok"
        listed = [u["name"] for u in document["data"]["users"]]
        assert listed == readback.account_names(host)  # the machine's accounts (with DefaultAccount, Guest...)
        assert {u.name for u in host.users} <= set(listed)
        assert all(u["sid"].startswith("S-1-5-21-") for u in document["data"]["users"])
    x86 = hosts["lab-x86"]["results"][0]["data"]
    assert x86["source"] == "Win32_UserAccount"
    msa = {u["name"]: u for u in hosts["lab-msa"]["results"][0]["data"]["users"]}
    assert msa["maria"]["principal_source"] == "MicrosoftAccount"


def test_table_shows_usernames_and_full_names(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("space")
    result = run_jcfix("users", "list", "-i", str(lab.inventory), "--name", "JOHN SMITH")
    assert result.returncode == 0, result.stderr
    assert "lab-space via Get-LocalUser" in result.stdout
    assert "john smith" in result.stdout and "John Smith" in result.stdout
    assert "Administrator" not in result.stdout  # --name filtered, without case


@pytest.mark.parametrize(("tls", "auth"), [(False, "ntlm"), (True, "basic"), (True, "ntlm")])
def test_https_and_ntlm_paths(start_lab: Callable[..., Lab], tls: bool, auth: str) -> None:
    lab = start_lab("healthy", tls=tls, auth=auth)
    result = run_jcfix("users", "list", "-i", str(lab.inventory), "-o", "json")
    assert result.returncode == 0, result.stderr
    (host,) = json_out(result)
    assert host["status"] == "ok"
    assert {u["name"] for u in host["results"][0]["data"]["users"]} >= {"alice", "bob"}


def test_https_without_the_lab_ca_fails_certificate_validation(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("healthy", tls=True)
    endpoint = lab.fleet.server.endpoints[0]
    result = run_jcfix("users", "list", "-H", f"{endpoint.address}:{endpoint.port}", "--auth", "basic")
    assert result.returncode == ExitCode.UNREACHABLE, result.stderr
    assert "certificate did not verify" in result.stdout
    insecure = run_jcfix(
        "users", "list", "-H", f"{endpoint.address}:{endpoint.port}", "--auth", "basic", "--no-cert-validation"
    )
    assert insecure.returncode == 0, insecure.stderr
    assert "not verified" in insecure.stderr


def test_wrong_password_is_auth_failed_and_never_printed(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("healthy")
    result = run_jcfix("users", "list", "-i", str(lab.inventory), "-o", "json", env={"JCFIX_PASSWORD": "Wr0ng-Pa55"})
    assert result.returncode == ExitCode.FAILED
    (host,) = json_out(result)
    error = host["results"][0]["error"]
    assert error["category"] == "auth_failed"
    assert "Wr0ng-Pa55" not in result.stdout + result.stderr


def test_faults_are_classified_per_host_and_never_spread(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("faults")
    result = run_jcfix(
        "users", "list", "-i", str(lab.inventory), "-o", "json", "--deadline", "4", "--operation-timeout", "1",
        "--read-timeout", "3",
    )  # fmt: skip
    assert result.returncode == ExitCode.UNREACHABLE
    hosts = {entry["host"]: entry for entry in json_out(result)}
    assert set(hosts) == {h.hostname for h in lab.fleet.hosts}

    def outcome(name: str) -> tuple[str, str | None]:
        (document,) = hosts[name]["results"]
        return hosts[name]["status"], document["error"]["category"] if document["error"] else None

    assert outcome("fault-none") == ("ok", None)
    assert outcome("fault-latency") == ("ok", None)
    assert outcome("fault-reject-auth") == ("failed", "auth_failed")
    assert outcome("fault-http-500") == ("failed", "protocol")
    assert outcome("fault-drop") == ("unreachable", "unreachable")
    assert outcome("fault-refused") == ("unreachable", "unreachable")
    assert outcome("fault-hang") == ("unreachable", "unreachable")
    assert outcome("fault-slow-script") == ("ok", None)  # slower than the operation timeout, within the deadline
    assert outcome("fault-error-records") == ("failed", "script_failed")
    assert outcome("fault-terminating-error") == ("failed", "script_failed")
    for name in ("fault-result-empty", "fault-result-two", "fault-result-not-json", "fault-result-wrong-shape"):
        assert outcome(name) == ("failed", "invalid_result"), name
    records = hosts["fault-error-records"]["results"][0]["error"]["message"]
    assert "Access to the registry key" in records


def test_hung_host_is_unreachable_within_the_deadline(start_lab: Callable[..., Lab]) -> None:
    import time

    lab = start_lab("faults")
    hang = next(e for e in lab.fleet.server.endpoints if e.hostname == "fault-hang")
    started = time.monotonic()
    result = run_jcfix(
        "users", "list", "-H", f"{hang.address}:{hang.port}", "--http", "--auth", "basic", "--deadline", "3"
    )
    elapsed = time.monotonic() - started
    assert result.returncode == ExitCode.UNREACHABLE
    assert "deadline" in result.stdout or "read timeout" in result.stdout
    # pypsrp alone retries a silent host for minutes; the bound here is generous on purpose.
    assert elapsed < 30, elapsed
