"""Every fix end to end on the lab: check changes nothing, apply changes exactly what it should, a second
apply is ``ok``, undo restores, refusals leave the host untouched, pending fixes finish at sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import Lab, json_out, run_jcfix

from toolkit.exitcodes import ExitCode
from toolkit.lab.events import sign_in


def fix(lab: Lab, name: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """Run ``jcfix fix NAME`` on the lab's only host; returns the exit code and its one result document."""
    result = run_jcfix("fix", name, "-i", str(lab.inventory), "-o", "json", *args, env=env)
    (host,) = json_out(result)
    (document,) = host["results"]
    return result.returncode, document


def state(lab: Lab) -> dict[str, Any]:
    (host,) = lab.fleet.hosts
    return host.model_dump()


def test_rename_space_check_apply_again_undo(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("space")
    (host,) = lab.fleet.hosts
    original = state(lab)

    code, check = fix(lab, "rename", "--user", "john smith", "--to", "john.smith", "--check", "--run-id", "r-check")
    assert (code, check["status"], check["changed"]) == (ExitCode.CHANGED, "changed", False)
    assert check["data"]["check_mode"] is True
    assert check["data"]["planned"] == [
        "rename 'john smith' to 'john.smith' (SID S-1-5-21-1004336348-1177238915-682003330-1001 and profile folder "
        "unchanged)"
    ]
    assert state(lab) == original  # check mode changed nothing, not even a backup

    code, applied = fix(lab, "rename", "--user", "john smith", "--to", "john.smith", "--run-id", "r-1")
    assert (code, applied["status"], applied["changed"]) == (ExitCode.CHANGED, "changed", True)
    assert applied["data"]["before"]["name"] == "john smith"
    assert applied["data"]["after"]["name"] == "john.smith"
    assert applied["data"]["after"]["sid"] == applied["data"]["before"]["sid"]
    assert applied["data"]["after"]["profile_path"] == "C:\\Users\\john smith"
    assert applied["data"]["backups"] == ["C:\\ProgramData\\jcfix\\backups\\r-1\\001-rename.json"]
    assert [u.name for u in host.users if u.rid == 1001] == ["john.smith"]
    changed_state = state(lab)
    assert {k for k in original if original[k] != changed_state[k]} == {"users", "backups"}

    code, again = fix(lab, "rename", "--user", "john smith", "--to", "john.smith", "--run-id", "r-2")
    assert (code, again["status"], again["changed"]) == (ExitCode.OK, "ok", False)
    assert again["data"]["notes"] == ["already named 'john.smith'"]

    undo = run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "r-1", "-o", "json")
    (undone,) = json_out(undo)[0]["results"]
    assert undone["status"] == "changed"
    assert undone["data"]["restored"] == ["renamed 'john.smith' back to 'john smith'"]
    assert [u.name for u in host.users if u.rid == 1001] == ["john smith"]
    again_undo = run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "r-1", "-o", "json")
    (second,) = json_out(again_undo)[0]["results"]
    assert (second["status"], second["data"]["undone_before"] is not None) == ("ok", True)


def test_rename_letter_case_is_not_a_clash_with_itself(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("case")
    code, applied = fix(lab, "rename", "--user", "jonathan", "--to-jc-user", "Jonathan")
    assert (code, applied["status"]) == (ExitCode.CHANGED, "changed")
    assert applied["data"]["after"]["name"] == "Jonathan"
    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    assert {f["code"] for f in diagnosis["hosts"][0]["findings"]} == {"TAKEOVER_READY"}


@pytest.mark.parametrize(
    ("scenario", "args", "message"),
    [
        ("space", ["--user", "nobody", "--to", "john.smith"], "no local account named 'nobody'"),
        ("healthy", ["--user", "alice", "--to", "bob"], "another account is already named 'bob'"),
        ("signed_in", ["--user", "alice", "--to", "alice2"], "is signed in"),
    ],
)
def test_rename_refusals_leave_the_host_untouched(
    start_lab: Callable[..., Lab], scenario: str, args: list[str], message: str
) -> None:
    lab = start_lab(scenario)
    original = state(lab)
    code, refused = fix(lab, "rename", *args)
    assert code == ExitCode.FAILED
    assert refused["status"] == "failed"
    assert refused["error"]["category"] == "invalid_input"
    assert message in refused["error"]["message"]
    assert state(lab) == original


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "john smith", "--to", "john smith2"], "contains a space"),
        (["--user", "john smith", "--to", "a" * 21], "longer than 20"),
        (["--user", "john smith", "--to", "john@corp"], "contains @"),
        (["--user", "john smith", "--to", "9lives"], "does not start with a letter"),
    ],
)
def test_invalid_new_names_stop_before_connecting(start_lab: Callable[..., Lab], args: list[str], message: str) -> None:
    lab = start_lab("space")
    result = run_jcfix("fix", "rename", "-i", str(lab.inventory), *args)
    assert result.returncode == ExitCode.USAGE
    assert message in result.stderr
    (listener,) = [lab.fleet.listener(h.hostname) for h in lab.fleet.hosts]
    assert listener.requests_served == 0


def test_signed_in_rename_goes_ahead_with_force(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("signed_in")
    code, applied = fix(lab, "rename", "--user", "alice", "--to", "alice.x", "--force")
    assert (code, applied["data"]["after"]["name"]) == (ExitCode.CHANGED, "alice.x")


def test_picture_password_removal_with_policy_and_undo(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("picture")
    (host,) = lab.fleet.hosts
    original = state(lab)
    code, check = fix(lab, "remove-picture-password", "--user", "quinn", "--block-reenroll", "--check")
    assert (code, check["status"], len(check["data"]["planned"])) == (ExitCode.CHANGED, "changed", 2)
    assert state(lab) == original

    code, applied = fix(lab, "remove-picture-password", "--user", "quinn", "--block-reenroll", "--run-id", "p-1")
    assert applied["data"]["before"] == {"picture_password": True, "block_policy": None}
    assert applied["data"]["after"] == {"picture_password": False, "block_policy": 1}
    assert len(applied["data"]["backups"]) == 2
    code, again = fix(lab, "remove-picture-password", "--user", "quinn", "--block-reenroll")
    assert (code, again["status"]) == (ExitCode.OK, "ok")

    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "p-1", "-o", "json"))
    (undone,) = undo[0]["results"]
    assert len(undone["data"]["restored"]) == 2
    assert host.find_user("quinn").picture_password is True
    assert state(lab)["registry"] == original["registry"] | {
        "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\System": {}
    }


def test_pin_removal_is_pending_until_the_user_signs_in(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("pin")
    (host,) = lab.fleet.hosts
    original = state(lab)
    code, check = fix(lab, "remove-pin", "--user", "pat", "--check")
    assert (check["status"], state(lab)) == ("changed", original)

    code, applied = fix(lab, "remove-pin", "--user", "pat", "--run-id", "pin-1")
    assert (code, applied["status"], applied["changed"]) == (ExitCode.CHANGED, "pending", True)
    assert applied["data"]["after"]["pending_task"] is True
    code, again = fix(lab, "remove-pin", "--user", "pat")
    assert (again["status"], again["changed"]) == ("pending", False)  # nothing more to do, not done yet

    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    assert "HELLO_PIN_SET" in {f["code"] for f in diagnosis["hosts"][0]["findings"]}
    assert sign_in(host, "pat") == [f"\\jcfix\\remove-pin-{host.sid_of(host.find_user('pat'))}"]
    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    assert "HELLO_PIN_SET" not in {f["code"] for f in diagnosis["hosts"][0]["findings"]}
    code, done = fix(lab, "remove-pin", "--user", "pat")
    assert (code, done["status"], done["data"]["after"]["hello_pin"]) == (ExitCode.OK, "ok", False)


def test_pin_undo_removes_the_task_before_it_runs(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("pin")
    (host,) = lab.fleet.hosts
    fix(lab, "remove-pin", "--user", "pat", "--run-id", "pin-2")
    assert host.scheduled_tasks
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "pin-2", "-o", "json"))
    assert len(undo[0]["results"][0]["data"]["restored"]) == 1
    assert host.scheduled_tasks == {}
    assert host.find_user("pat").hello_pin is True


def test_pin_all_users_now_warns_and_cannot_be_undone(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("pin")
    result = run_jcfix(
        "fix", "remove-pin", "-i", str(lab.inventory), "--user", "pat", "--all-users-now", "--run-id", "w"
    )
    assert result.returncode == ExitCode.CHANGED
    assert "EVERY user" in result.stderr
    (host,) = lab.fleet.hosts
    assert not any(u.hello_pin for u in host.users)
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "w", "-o", "json"))
    assert undo[0]["results"][0]["data"]["cannot"] == [
        "wiped Windows Hello containers cannot be restored: users set up their PIN again"
    ]


def test_msa_guided_is_pending_with_steps(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("msa")
    original = state(lab)
    code, guided = fix(lab, "convert-msa", "--user", "maria")
    assert (code, guided["status"], guided["changed"]) == (ExitCode.CHANGED, "pending", False)
    assert any("Sign in with a local account instead" in step for step in guided["data"]["planned"])
    assert any("'maria' (the JumpCloud username, not the full name)" in step for step in guided["data"]["planned"])
    assert state(lab) == original


def test_msa_unlink_needs_acknowledgement_and_password(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("msa")
    original = state(lab)
    no_ack = run_jcfix("fix", "convert-msa", "-i", str(lab.inventory), "--user", "maria", "--method", "unlink")
    assert no_ack.returncode == ExitCode.USAGE and "--accept-data-loss" in no_ack.stderr
    no_password = run_jcfix(
        "fix", "convert-msa", "-i", str(lab.inventory), "--user", "maria", "--method", "unlink", "--accept-data-loss"
    )
    assert no_password.returncode == ExitCode.USAGE and "JCFIX_NEW_PASSWORD" in no_password.stderr
    assert state(lab) == original


def test_msa_unlink_apply_verify_and_undo_says_it_cannot(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("msa")
    secret = {"JCFIX_NEW_PASSWORD": "N3w-Local-Pa55!"}
    args = ["--user", "maria", "--method", "unlink", "--accept-data-loss", "--run-id", "m-1"]
    result = run_jcfix("fix", "convert-msa", "-i", str(lab.inventory), "-o", "json", *args, env=secret)
    assert result.returncode == ExitCode.CHANGED, result.stderr
    (document,) = json_out(result)[0]["results"]
    assert document["data"]["before"]["principal_source"] == "MicrosoftAccount"
    assert document["data"]["after"]["principal_source"] == "Local"
    assert "N3w-Local-Pa55!" not in result.stdout + result.stderr
    (host,) = lab.fleet.hosts
    assert host.find_user("maria").principal_source == "Local"
    code, again = fix(lab, "convert-msa", "--user", "maria")
    assert (code, again["status"]) == (ExitCode.OK, "ok")
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "m-1", "-o", "json"))
    (cannot,) = undo[0]["results"][0]["data"]["cannot"]
    assert "cannot be restored by jcfix" in cannot


@pytest.mark.parametrize(
    ("scenario", "command", "args", "message"),
    [
        ("pin", "remove-pin", ["--user", "nobody"], "no local account named 'nobody'"),
        ("picture", "remove-picture-password", ["--user", "nobody"], "no local account named 'nobody'"),
        ("msa", "convert-msa", ["--user", "nobody"], "no local account named 'nobody'"),
        ("x86", "convert-msa", ["--user", "alice"], "cannot tell Microsoft-account links apart"),
    ],
)
def test_every_fix_refuses_on_the_host_and_changes_nothing(
    start_lab: Callable[..., Lab], scenario: str, command: str, args: list[str], message: str
) -> None:
    lab = start_lab(scenario)
    original = state(lab)
    code, refused = fix(lab, command, *args)
    assert (code, refused["status"], refused["error"]["category"]) == (ExitCode.FAILED, "failed", "invalid_input")
    assert message in refused["error"]["message"]
    assert state(lab) == original


def test_msa_unlink_refuses_a_signed_in_user(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("msa")
    (host,) = lab.fleet.hosts
    sign_in(host, "maria")
    original = state(lab)
    args = ["--user", "maria", "--method", "unlink", "--accept-data-loss"]
    code, refused = fix(lab, "convert-msa", *args, env={"JCFIX_NEW_PASSWORD": "N3w-Local-Pa55!"})
    assert code == ExitCode.FAILED
    assert "is signed in" in refused["error"]["message"]
    assert state(lab) == original


def test_undo_check_mode_restores_nothing(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("space")
    fix(lab, "rename", "--user", "john smith", "--to", "john.smith", "--run-id", "u-1")
    renamed = state(lab)
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "u-1", "--check", "-o", "json"))
    (document,) = undo[0]["results"]
    assert document["data"]["restored"] == ["renamed 'john.smith' back to 'john smith'"]
    assert document["data"]["check_mode"] is True
    assert state(lab) == renamed
    unknown = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "no-such-run", "-o", "json"))
    assert unknown[0]["results"][0]["error"]["category"] == "invalid_input"


def test_debug_logging_never_shows_a_secret_parameter(start_lab: Callable[..., Lab]) -> None:
    # pypsrp logs every PSRP message it packs, in clear, at DEBUG: the new password travels in one.
    lab = start_lab("msa")
    secret = "D3bug-Leak-Check!"
    args = ["--user", "maria", "--method", "unlink", "--accept-data-loss", "--run-id", "dbg-1"]
    result = run_jcfix(
        "--debug", "fix", "convert-msa", "-i", str(lab.inventory), *args, env={"JCFIX_NEW_PASSWORD": secret}
    )
    assert result.returncode == ExitCode.CHANGED, result.stderr[-2000:]
    assert "DEBUG" in result.stderr  # debug logging was on
    assert secret not in result.stdout + result.stderr
