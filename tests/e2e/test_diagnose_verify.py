"""``jcfix diagnose`` on every lab scenario, and ``jcfix verify provisioned`` waiting on the lab's agent."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable

import pytest
from e2e_support import Lab, json_out, run_jcfix

from toolkit.exitcodes import ExitCode
from toolkit.lab import readback
from toolkit.lab.hostmachine import machine_of
from toolkit.lab.windows.lifecycle import add_managed_user
from toolkit.services.verify import UNREACHABLE_POLLS

# scenario -> (exit code, {finding code: expected fix command or None}) for its one host.
EXPECTED = {
    "healthy": (ExitCode.OK, {"TAKEN_OVER": None}),
    "space": (
        ExitCode.BLOCKERS,
        {
            "USERNAME_HAS_SPACE": "jcfix fix rename -i {inv} --limit @=lab-space --user 'john smith' --to john.smith",
            "AGENT_LOG_ERRORS": None,  # the scenario's agent logged its failed takeover
        },
    ),
    "case": (
        ExitCode.BLOCKERS,
        {"CASE_MISMATCH": "jcfix fix rename -i {inv} --limit @=lab-case --user jonathan --to Jonathan"},
    ),
    "msa": (ExitCode.BLOCKERS, {"MSA_LINKED": "jcfix fix convert-msa -i {inv} --limit @=lab-msa --user maria"}),
    "pin": (ExitCode.BLOCKERS, {"HELLO_PIN_SET": "jcfix fix remove-pin -i {inv} --limit @=lab-pin --user pat"}),
    "picture": (
        ExitCode.BLOCKERS,
        {"PICTURE_PASSWORD_SET": "jcfix fix remove-picture-password -i {inv} --limit @=lab-picture --user quinn"},
    ),
    "fullname": (
        ExitCode.BLOCKERS,
        {"FULLNAME_ONLY_MATCH": "jcfix fix rename -i {inv} --limit @=lab-fullname --user JD-Laptop --to janedoe"},
    ),
    "provisioning": (
        ExitCode.OK,
        {
            "TAKEN_OVER": None,
            "PROVISION_EXPECTED": "jcfix verify provisioned -i {inv} --limit @=lab-provisioning --jc-user newhire",
        },
    ),
    "agent_stopped": (ExitCode.BLOCKERS, {"AGENT_NOT_RUNNING": None}),
    "agent_missing": (ExitCode.BLOCKERS, {"AGENT_NOT_INSTALLED": None}),
    "signed_in": (ExitCode.OK, {"TAKEOVER_READY": None, "USER_SIGNED_IN": None}),
    "x86": (ExitCode.OK, {"TAKEOVER_READY": None, "LOCALACCOUNTS_UNAVAILABLE": None}),
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_scenario_gives_its_finding_and_fix(start_lab: Callable[..., Lab], scenario: str) -> None:
    lab = start_lab(scenario)
    result = run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json")
    code, listed = EXPECTED[scenario]
    # Fixes paste as printed: they carry the inventory and the host's name in it (issue 13, item 3).
    expected = {k: v.format(inv=shlex.quote(str(lab.inventory))) if v else v for k, v in listed.items()}
    assert result.returncode == code, result.stdout + result.stderr
    document = json_out(result)
    assert document["schema"] == 1
    (host,) = document["hosts"]
    found = {f["code"]: f["fix"] for f in host["findings"]}
    assert found == expected
    assert host["blockers"] == sum(f["severity"] == "blocker" for f in host["findings"])


def test_table_output_names_the_fix(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("case")
    result = run_jcfix("diagnose", "-i", str(lab.inventory))
    assert result.returncode == ExitCode.BLOCKERS
    assert "CASE_MISMATCH" in result.stdout
    fix = f"jcfix fix rename -i {shlex.quote(str(lab.inventory))} --limit @=lab-case --user jonathan --to Jonathan"
    assert fix in result.stdout
    assert "1 host: 1 ok; 1 with blockers" in result.stdout


def test_jc_user_option_overrides_the_inventory(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("healthy")
    result = run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json", "-j", "ALICE")
    (host,) = json_out(result)["hosts"]
    assert host["jc_users"] == ["ALICE"]
    assert {f["code"] for f in host["findings"]} == {"CASE_MISMATCH"}


def test_unreachable_and_failing_hosts_are_reported_not_diagnosed(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("faults")
    args = ["--deadline", "4", "--operation-timeout", "1", "--read-timeout", "3"]
    result = run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json", *args)
    assert result.returncode == ExitCode.UNREACHABLE
    hosts = {h["host"]: h for h in json_out(result)["hosts"]}
    assert hosts["fault-hang"]["status"] == "unreachable"
    assert hosts["fault-hang"]["findings"] == []
    assert hosts["fault-reject-auth"]["error"]["category"] == "auth_failed"
    assert {f["code"] for f in hosts["fault-none"]["findings"]} == {"TAKEOVER_READY"}


def test_verify_waits_for_the_agent_to_provision(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("provisioning_delayed")
    started = time.monotonic()
    result = run_jcfix(
        "verify", "provisioned", "-i", str(lab.inventory), "-j", "newhire", "--wait", "60s", "--interval", "1s"
    )
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    assert "waiting: newhire@lab-provisioning-delayed: no local account yet" in result.stdout
    assert "provisioned" in result.stdout
    assert time.monotonic() - started >= 2  # it had to wait for the agent's delay
    (host,) = lab.fleet.hosts
    newhire = readback.account(host, "newhire")
    assert newhire is not None and newhire.description == "Created by Jumpcloud"


def test_verify_times_out_cleanly_with_the_last_diagnosis(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("provisioning")
    args = ["-j", "newhire", "--wait", "2s", "--interval", "1s"]
    result = run_jcfix("verify", "provisioned", "-i", str(lab.inventory), *args)
    assert result.returncode == ExitCode.TIMEOUT
    assert "gave up after 2s: newhire@lab-provisioning: no local account yet" in result.stderr
    assert "no local account yet" in result.stdout


def test_verify_gives_up_a_host_that_drops_or_refuses_every_connection(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("faults")
    # A --wait longer than the test: the poll must end by giving the two hosts up, not by waiting.
    args = ["--limit", "fault-drop,fault-refused", "-j", "alice", "--wait", "30s", "--interval", "200ms"]
    result = run_jcfix("verify", "provisioned", "-i", str(lab.inventory), *args, "-o", "json", timeout=90)
    assert result.returncode == ExitCode.UNREACHABLE, result.stderr
    document = json_out(result)
    assert document["result"] == "unreachable"
    hosts = {h["host"]: h for h in document["hosts"]}
    for name in ("fault-drop", "fault-refused"):  # accepted then dropped counts as refused does
        assert (hosts[name]["status"], hosts[name]["polls"]) == ("unreachable", UNREACHABLE_POLLS)
        assert hosts[name]["error"]["category"] == "unreachable"
    waiting = "jcfix: waiting: alice@fault-drop: host unreachable, alice@fault-refused: host unreachable"
    gave_up = [f"jcfix: unreachable: {name}: {UNREACHABLE_POLLS} polls in a row failed" for name in sorted(hosts)]
    assert result.stderr.splitlines() == [waiting] * (UNREACHABLE_POLLS - 1) + gave_up


def test_verify_takeover_waits_until_the_agent_manages_the_account(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("case")
    # After the rename the account matches, but this lab's agent never takes it over: verify must not pass.
    run_jcfix("fix", "rename", "-i", str(lab.inventory), "--user", "jonathan", "--to", "Jonathan")
    result = run_jcfix("verify", "provisioned", "-i", str(lab.inventory), "--wait", "1s", "--interval", "1s")
    assert result.returncode == ExitCode.TIMEOUT
    assert "account exists; the agent does not manage it yet" in result.stdout
    (host,) = lab.fleet.hosts
    add_managed_user(machine_of(host).state, "Jonathan")  # the agent takes the account over
    result = run_jcfix("verify", "provisioned", "-i", str(lab.inventory), "--wait", "5s", "--interval", "1s")
    assert result.returncode == ExitCode.OK
    assert "taken over" in result.stdout


def test_verify_rejects_bad_durations_before_connecting() -> None:
    result = run_jcfix("verify", "provisioned", "-H", "pc-1", "-j", "x", "--wait", "soon")
    assert result.returncode == ExitCode.USAGE
    assert "expected a duration" in result.stderr
