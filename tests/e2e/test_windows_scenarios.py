"""The Windows scenarios (toolkit/lab/scenarios/win_*.yaml) end to end: the jcfix CLI over the lab's real
WinRM/PSRP path, the rendered scripts running on each host's simulated Windows machine (issue 10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import Lab, event, finding_codes, fix, json_out, one_host, run_jcfix, state

from toolkit.exitcodes import ExitCode
from toolkit.lab import readback
from toolkit.lab.hostmachine import machine_of

MSA_SECRET = {"JCFIX_NEW_PASSWORD": "N3w-Local-Pa55!"}


def test_check_mode_succeeds_while_a_user_is_signed_in(start_lab: Callable[..., Lab]) -> None:
    # Defect 1: under -WhatIf, Invoke-CimMethod GetOwner returns nothing; every read runs with -WhatIf:$false.
    lab = start_lab("win_pin_until_signout")
    original = state(lab)
    code, check = fix(lab, "remove-pin", "--user", "pat", "--check")
    assert (code, check["status"], check["changed"]) == (ExitCode.CHANGED, "changed", False), check["error"]
    assert check["data"]["before"]["pin_markers"] == ["ngc_pin", "pin_provider"]
    play = run_jcfix("play", "fix-takeover-blockers", "-i", str(lab.inventory), "-o", "json")
    lines = [json.loads(line) for line in play.stdout.splitlines() if line.startswith("{")]
    (summary,) = [line for line in lines if line["type"] == "summary"]
    assert (play.returncode, summary["counts"]["failed"], summary["counts"]["changed"]) == (ExitCode.CHANGED, 0, 1)
    (pin_step,) = [line for line in lines if line["type"] == "step" and line["action"] == "remove_pin"]
    assert pin_step["status"] == "changed" and pin_step["result"]["data"]["check_mode"] is True
    assert state(lab) == original  # check mode changed nothing


def test_a_domain_user_of_the_same_name_does_not_sign_in_the_local_account(start_lab: Callable[..., Lab]) -> None:
    # Defect 9: CORP\jonathan and AzureAD\jonathan are signed in; local 'jonathan' is not, and is renamed.
    lab = start_lab("win_domain_shadow")
    code, applied = fix(lab, "rename", "--user", "jonathan", "--to", "Jonathan", "--run-id", "d-1")
    assert (code, applied["status"]) == (ExitCode.CHANGED, "changed")
    assert applied["data"]["before"]["signed_in"] is False
    (host,) = lab.fleet.hosts
    assert readback.account(host, "jonathan").name == "Jonathan"  # type: ignore[union-attr]


def test_a_wow64_endpoint_still_finds_the_agent_and_the_pin(start_lab: Callable[..., Lab]) -> None:
    # Defect 7: a 32-bit PowerShell reads the 64-bit Program Files and registry views explicitly.
    lab = start_lab("win_wow64")
    codes = finding_codes(lab)
    assert codes.get("TAKEN_OVER") == {"alice"}, codes
    assert codes.get("HELLO_PIN_SET") == {"alice"}, codes
    _, check = fix(lab, "remove-pin", "--user", "alice", "--check")
    assert (check["status"], check["data"]["before"]["pin_markers"]) == ("changed", ["ngc_pin"]), check["error"]


def test_the_msa_unlink_system_task_runs_on_battery(start_lab: Callable[..., Lab]) -> None:
    # Defect 6: Task Scheduler's default DisallowStartIfOnBatteries would keep the SYSTEM task from starting.
    lab = start_lab("win_battery")
    (host,) = lab.fleet.hosts
    assert machine_of(host).state.on_battery
    args = ["--user", "maria", "--method", "unlink", "--accept-data-loss", "--run-id", "b-1"]
    code, applied = fix(lab, "convert-msa", *args, env=MSA_SECRET)
    assert (code, applied["status"], applied["changed"]) == (ExitCode.CHANGED, "changed", True), applied["error"]
    assert applied["data"]["after"]["principal_source"] == "Local"
    assert readback.principal_source(host, "maria") == "Local"


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("rename", ["--user", "mallory", "--to", "mallory.x"]),
        ("convert-msa", ["--user", "maria", "--method", "unlink", "--accept-data-loss"]),
    ],
)
def test_a_user_made_jcfix_folder_is_refused(start_lab: Callable[..., Lab], command: str, args: list[str]) -> None:
    # Defect 2: a standard user who created C:\ProgramData\jcfix first owns it; every fix refuses, naming it.
    lab = start_lab("win_precreated")
    (host,) = lab.fleet.hosts
    original = state(lab)
    code, refused = fix(lab, command, *args, env=MSA_SECRET)
    assert (code, refused["error"]["category"]) == (ExitCode.FAILED, "invalid_input")
    owner = readback.sid(host, "mallory")
    assert refused["error"]["message"].startswith(f"refusing to use 'C:\\ProgramData\\jcfix': its owner is {owner}")
    assert state(lab) == original


def test_a_filtered_token_is_refused_naming_the_policy(start_lab: Callable[..., Lab]) -> None:
    # Defect 12: a non-elevated token fails before reading anything, naming LocalAccountTokenFilterPolicy.
    lab = start_lab("win_filtered_token")
    original = state(lab)
    code, refused = fix(lab, "rename", "--user", "alice", "--to", "alice2", "--force")
    assert (code, refused["error"]["category"]) == (ExitCode.FAILED, "invalid_input")
    assert "LocalAccountTokenFilterPolicy" in refused["error"]["message"]
    assert state(lab) == original


def test_a_shared_device_lists_every_managed_user(start_lab: Callable[..., Lab]) -> None:
    # Defect 3: managedUsers.json with three users (and a BOM) comes back raw; every user reads as taken over.
    lab = start_lab("win_shared_device")
    assert finding_codes(lab).get("TAKEN_OVER") == {"alice", "bob", "zoë"}


def test_the_pin_stays_until_the_sign_out_after_the_task_ran(start_lab: Callable[..., Lab]) -> None:
    # Defect 4: certutil -DeleteHelloContainer runs in the user's session at sign-in and completes at sign-out.
    lab = start_lab("win_pin_until_signout")
    (host,) = lab.fleet.hosts
    code, applied = fix(lab, "remove-pin", "--user", "pat", "--run-id", "p-1")
    assert (code, applied["status"], applied["changed"]) == (ExitCode.CHANGED, "pending", True), applied["error"]
    event(lab, "lab-win-pin-signout", event="sign_out", user="pat")  # the session that was open at apply time
    assert readback.has_pin(host, "pat")  # the task has not run: it waits for the next sign-in
    answer = event(lab, "lab-win-pin-signout", event="sign_in", user="pat")
    assert len(answer["tasks_run"]) == 1
    assert readback.pin_markers(host, "pat") == ["ngc_pin", "pin_provider"]  # marked, not gone
    assert "HELLO_PIN_SET" in finding_codes(lab)
    _, waiting = fix(lab, "remove-pin", "--user", "pat")
    assert waiting["status"] == "pending" and "next signs out" in waiting["data"]["notes"][-1]
    event(lab, "lab-win-pin-signout", event="sign_out", user="pat")
    assert not readback.has_pin(host, "pat")
    assert "HELLO_PIN_SET" not in finding_codes(lab)


def test_a_pin_set_up_again_after_the_removal_is_not_deleted(start_lab: Callable[..., Lab]) -> None:
    # Defect 4: the one-shot task removes itself (its SYSTEM clean-up, 15 minutes after the sign-in).
    lab = start_lab("win_reenrol")
    (host,) = lab.fleet.hosts
    code, applied = fix(lab, "remove-pin", "--user", "pat", "--run-id", "r-1")
    assert (code, applied["status"]) == (ExitCode.CHANGED, "pending"), applied["error"]
    assert len(event(lab, "lab-win-reenrol", event="sign_in", user="pat")["tasks_run"]) == 1
    event(lab, "lab-win-reenrol", event="advance", seconds=15 * 60)
    event(lab, "lab-win-reenrol", event="sign_out", user="pat")
    assert not readback.has_pin(host, "pat") and readback.scheduled_tasks(host) == {}
    event(lab, "lab-win-reenrol", event="reenrol_pin", user="pat")
    assert event(lab, "lab-win-reenrol", event="sign_in", user="pat")["tasks_run"] == []
    event(lab, "lab-win-reenrol", event="sign_out", user="pat")
    assert readback.has_pin(host, "pat")
    _, check = fix(lab, "remove-pin", "--user", "pat", "--check")
    assert (check["data"]["before"]["hello_pin"], check["data"]["before"]["pending_task"]) == (True, False)


def test_a_read_back_that_disagrees_is_changed_then_failed_and_undo_restores(
    start_lab: Callable[..., Lab], tmp_path: Any
) -> None:
    # Defect 5: the rename happened; the failure keeps changed, before, after and the backup; undo restores.
    lab = one_host(start_lab, "win_faults", "lab-win-readback", tmp_path)
    host = lab.host("lab-win-readback")
    code, failed = fix(lab, "rename", "--user", "jonathan", "--to", "Jonathan", "--run-id", "f-1")
    assert (code, failed["status"], failed["changed"]) == (ExitCode.FAILED, "failed", True)
    assert failed["error"]["category"] == "verify_failed"
    assert failed["data"]["backups"] == ["C:\\ProgramData\\jcfix\\backups\\f-1\\001-rename.json"]
    assert (failed["data"]["before"]["name"], failed["data"]["after"]["name"]) == ("jonathan", "jonathan")
    assert machine_of(host).state.sam.accounts[1001].name == "Jonathan"  # the SAM has the new name
    # While reads still show the old name, undo cannot see the rename either (it reads the account by SID).
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "f-1", "--check", "-o", "json"))
    assert undo[0]["results"][0]["data"]["already"] == ["'jonathan' already has its old name"]
    state = machine_of(host).state
    state.faults.rename_readback_stale = False  # the stale reads stop: reads show the SAM's names again
    state.stale_names.clear()
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "f-1", "-o", "json"))
    (undone,) = undo[0]["results"]
    assert (undone["status"], undone["data"]["restored"]) == ("changed", ["renamed 'Jonathan' back to 'jonathan'"])
    assert machine_of(host).state.sam.accounts[1001].name == "jonathan"


def test_msa_password_policy_is_checked_before_the_unlink(start_lab: Callable[..., Lab], tmp_path: Any) -> None:
    # Defect 6: a password the policy refuses stops before the irreversible step; one it accepts goes ahead,
    # and a rejection after the unlink is "changed, then failed" with the backups listed (defect 5).
    lab = one_host(start_lab, "win_faults", "lab-win-password-policy", tmp_path)
    host = lab.host("lab-win-password-policy")
    original = readback.fingerprint(host)
    args = ["--user", "maria", "--method", "unlink", "--accept-data-loss"]
    code, refused = fix(lab, "convert-msa", *args, "--run-id", "m-9", env={"JCFIX_NEW_PASSWORD": "short"})
    assert (code, refused["error"]["category"]) == (ExitCode.FAILED, "invalid_input")
    assert "is shorter than the minimum length (14)" in refused["error"]["message"]
    assert readback.fingerprint(host) == original
    accepted = {"JCFIX_NEW_PASSWORD": "Long-Enough-Pa55word!"}
    code, failed = fix(lab, "convert-msa", *args, "--run-id", "m-10", env=accepted)
    assert (code, failed["status"], failed["changed"]) == (ExitCode.FAILED, "failed", True)
    assert len(failed["data"]["backups"]) == 2
    # Set-LocalUser's own message when the SAM refuses the password (NetUserSetInfo's NERR_PasswordTooShort).
    assert "does not meet the length, complexity, or history requirements" in failed["error"]["message"]


def test_one_undo_record_failing_among_several(start_lab: Callable[..., Lab], tmp_path: Any) -> None:
    # Defect 5: the policy is restored, the registry key cannot be: failed, changed, and both reported.
    lab = one_host(start_lab, "win_faults", "lab-win-undo-fails", tmp_path)
    fix(lab, "remove-picture-password", "--user", "quinn", "--block-reenroll", "--run-id", "u-9")
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "u-9", "-o", "json"))
    (document,) = undo[0]["results"]
    assert (document["status"], document["changed"]) == ("failed", True)
    assert document["data"]["restored"] == ["policy BlockDomainPicturePassword back to not set"]
    (failure,) = document["data"]["failed"]
    # A .NET method's exception as PowerShell wraps it: 'Exception calling "CreateSubKey" with "1" argument(s)'.
    assert failure.startswith("registry: Exception calling") and "Access to the registry key" in failure
    assert "is denied" in failure
    assert document["error"]["message"].startswith("1 of 2 backup records could not be restored")


def test_all_users_wipe_reports_a_credential_provider_marker_left_behind(start_lab: Callable[..., Lab]) -> None:
    # Defects 4 and 8: the wipe deletes the NgcPin markers; a PIN seen only on the credential provider's key
    # stays listed (UNCONFIRMED whether Windows clears it), and the result says so instead of claiming success.
    lab = start_lab("win_reenrol")
    code, wiped = fix(lab, "remove-pin", "--user", "pat", "--all-users-now", "--run-id", "w-1")
    assert (code, wiped["status"], wiped["changed"]) == (ExitCode.CHANGED, "changed", True)
    assert wiped["data"]["before"]["pin_markers"] == ["pin_provider"]
    assert wiped["data"]["after"]["pin_markers"] == ["pin_provider"]
    assert "UNCONFIRMED whether that marker clears by itself" in wiped["data"]["notes"][-1]
