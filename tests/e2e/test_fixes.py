"""Every fix end to end on the lab: check changes nothing, apply changes exactly what it should, a second
apply is ``ok``, undo restores, refusals leave the host untouched, pending fixes finish at sign-in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from e2e_support import Lab, changes, edit_record, fix, json_out, name_of_rid, run_jcfix, state, values_only

from toolkit.backups import PICTURE_PASSWORD_SUBKEY, SYSTEM_POLICY_SUBKEY
from toolkit.exitcodes import ExitCode
from toolkit.lab import readback
from toolkit.lab.events import advance, reenrol_pin, sign_in, sign_out
from toolkit.lab.hostmachine import machine_of
from toolkit.lab.windows.state import PIN_PROVIDER_ROOT

HKLM = "HKEY_LOCAL_MACHINE\\"
PICTURE_ROOT = HKLM + PICTURE_PASSWORD_SUBKEY


def test_rename_space_check_apply_again_undo(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("space")
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
    assert name_of_rid(lab, 1001) == "john.smith"
    changed = changes(original, state(lab))
    # Only the account (and its SAM name index) and the backup files under C:\ProgramData\jcfix changed.
    assert set(changed) == {"accounts", "registry", "files"}
    assert all(k.startswith("\\HKEY_LOCAL_MACHINE\\SAM\\") for k in changed["registry"]), changed["registry"]
    assert all(k.startswith("C:\\ProgramData\\jcfix") for k in changed["files"]), changed["files"]
    assert "C:\\ProgramData\\jcfix\\backups\\r-1\\001-rename.json" in changed["files"]

    code, again = fix(lab, "rename", "--user", "john smith", "--to", "john.smith", "--run-id", "r-2")
    assert (code, again["status"], again["changed"]) == (ExitCode.OK, "ok", False)
    assert again["data"]["notes"] == ["already named 'john.smith'"]

    undo = run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "r-1", "-o", "json")
    (undone,) = json_out(undo)[0]["results"]
    assert undone["status"] == "changed"
    assert undone["data"]["restored"] == ["renamed 'john.smith' back to 'john smith'"]
    assert name_of_rid(lab, 1001) == "john smith"
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
    assert readback.has_picture_password(host, "quinn") is True
    # The registry values are as before, but for the policy key the fix created (its value is gone again).
    # (ACLs are compared apart: a scenario key has no explicit SDDL in the model; the restored one has the
    # SDDL Get-Acl read before the removal.)
    assert changes(values_only(original), values_only(state(lab))).get("registry", set()) <= {
        "\\" + HKLM + SYSTEM_POLICY_SUBKEY
    }
    assert readback.registry_key(host, HKLM + SYSTEM_POLICY_SUBKEY) in (None, {})


def test_pin_removal_is_pending_until_sign_out_after_sign_in(start_lab: Callable[..., Lab]) -> None:
    # Issue 10, defect 4: certutil -DeleteHelloContainer completes at sign-OUT (its own help); the task runs once.
    lab = start_lab("pin")
    (host,) = lab.fleet.hosts
    original = state(lab)
    code, check = fix(lab, "remove-pin", "--user", "pat", "--check")
    assert (check["status"], state(lab)) == ("changed", original)
    assert "the PIN goes when they next sign out" in check["data"]["planned"][0]

    code, applied = fix(lab, "remove-pin", "--user", "pat", "--run-id", "pin-1")
    assert (code, applied["status"], applied["changed"]) == (ExitCode.CHANGED, "pending", True)
    assert applied["data"]["after"]["pending_task"] is True
    assert applied["data"]["before"]["pin_markers"] == ["ngc_pin"]
    assert "sign out again (the PIN goes then)" in applied["data"]["notes"][-1]
    sid = readback.sid(host, "pat")
    task = readback.scheduled_tasks(host)[f"\\jcfix\\remove-pin-{sid}"]
    assert task.triggers[0].end_boundary and task.settings.delete_expired_task_after == "P1D"
    assert task.triggers[0].user_id == "LAB-PIN\\pat"  # COMPUTER\name from the SID, never a bare name
    code, again = fix(lab, "remove-pin", "--user", "pat")
    assert (again["status"], again["changed"]) == ("pending", False)  # nothing more to do, not done yet

    assert sign_in(host, "pat") == [f"remove-pin-{sid}"]
    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    assert "HELLO_PIN_SET" in {f["code"] for f in diagnosis["hosts"][0]["findings"]}  # not before sign-out
    code, waiting = fix(lab, "remove-pin", "--user", "pat")
    assert waiting["status"] == "pending"
    assert "the task ran at sign-in; the PIN goes when 'pat' next signs out" in waiting["data"]["notes"][-1]

    advance(host, 15 * 60)  # the SYSTEM clean-up runs 15 minutes after the sign-in (its trigger's Delay)
    assert readback.scheduled_tasks(host) == {}  # removed itself after its one run
    assert readback.has_pin(host, "pat")  # ...and the PIN still waits for the sign-out
    sign_out(host, "pat")
    assert not readback.has_pin(host, "pat")
    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    assert "HELLO_PIN_SET" not in {f["code"] for f in diagnosis["hosts"][0]["findings"]}
    code, done = fix(lab, "remove-pin", "--user", "pat")
    assert (code, done["status"], done["data"]["after"]["hello_pin"]) == (ExitCode.OK, "ok", False)

    reenrol_pin(host, "pat")  # the user sets up a new PIN: no task deletes it silently
    assert sign_in(host, "pat") == []
    sign_out(host, "pat")
    assert readback.has_pin(host, "pat") is True


def test_pin_on_the_credential_provider_marker_is_seen_and_named(start_lab: Callable[..., Lab]) -> None:
    # Issue 10, defect 4: a PIN is detected on either marker, and the result says which was seen.
    lab = start_lab("pin")
    (host,) = lab.fleet.hosts
    registry = machine_of(host).state.registry
    sid = readback.sid(host, "pat")
    for key in readback.pin_marker_keys(host, "pat"):
        registry.drop(key)  # the scenario's NgcPin marker goes; the PIN is seen on the provider's key only
    registry.seed(f"{PIN_PROVIDER_ROOT}\\{sid}")
    _, check = fix(lab, "remove-pin", "--user", "pat", "--check")
    assert check["data"]["before"]["pin_markers"] == ["pin_provider"]
    assert check["data"]["before"]["hello_pin"] is True
    assert check["data"]["notes"] == ["PIN markers seen: pin_provider"]
    diagnosis = json_out(run_jcfix("diagnose", "-i", str(lab.inventory), "-o", "json"))
    assert "HELLO_PIN_SET" in {f["code"] for f in diagnosis["hosts"][0]["findings"]}


def test_pin_all_users_now_is_refused_while_anyone_is_signed_in(start_lab: Callable[..., Lab]) -> None:
    # Issue 10, defect 8: wiping the NGC store while a user is signed in is refused, and names who.
    lab = start_lab("pin")
    (host,) = lab.fleet.hosts
    sign_in(host, "pat")
    original = state(lab)
    code, refused = fix(lab, "remove-pin", "--user", "pat", "--all-users-now", "--run-id", "w-0")
    assert (code, refused["error"]["category"]) == (ExitCode.FAILED, "invalid_input")
    assert f"refused while anyone is signed in (signed in: {readback.sid(host, 'pat')})" in refused["error"]["message"]
    assert refused["data"]["before"]["hello_pin"] is True  # a refusal keeps what was read
    assert state(lab) == original


def test_pin_undo_removes_the_task_before_it_runs(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("pin")
    (host,) = lab.fleet.hosts
    fix(lab, "remove-pin", "--user", "pat", "--run-id", "pin-2")
    assert readback.scheduled_tasks(host)
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "pin-2", "-o", "json"))
    assert len(undo[0]["results"][0]["data"]["restored"]) == 1
    assert readback.scheduled_tasks(host) == {}
    assert readback.has_pin(host, "pat") is True


def test_pin_all_users_now_warns_and_cannot_be_undone(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab("pin")
    result = run_jcfix(
        "fix", "remove-pin", "-i", str(lab.inventory), "--user", "pat", "--all-users-now", "--run-id", "w"
    )
    assert result.returncode == ExitCode.CHANGED
    assert "EVERY user" in result.stderr
    (host,) = lab.fleet.hosts
    assert not any(readback.has_pin(host, name) for name in readback.account_names(host))
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
    assert readback.principal_source(host, "maria") == "Local"
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


def test_signed_in_is_by_sid_and_a_loaded_profile_is_told_apart(start_lab: Callable[..., Lab]) -> None:
    # Issue 10, defect 9: refusals say "signed in (session N)"; a profile that stayed loaded does not block.
    lab = start_lab("signed_in")
    (host,) = lab.fleet.hosts
    code, refused = fix(lab, "rename", "--user", "alice", "--to", "alice2")
    (session,) = refused["data"]["before"]["sessions"]
    assert refused["error"]["message"] == f"'alice' is signed in (session {session}); sign the user out or use --force"
    sign_out(host, "alice", profile_lingers=True)  # Win32_UserProfile.Loaded lingers after sign-out
    code, applied = fix(lab, "rename", "--user", "alice", "--to", "alice2", "--run-id", "s-1")
    assert (code, applied["status"]) == (ExitCode.CHANGED, "changed")
    assert applied["data"]["before"]["signed_in"] is False
    assert applied["data"]["before"]["profile_loaded"] is True
    assert applied["data"]["notes"][0].startswith("the profile of 'alice' is loaded though no process of theirs")


def test_undo_refuses_a_record_jcfix_did_not_write_for_this_run(start_lab: Callable[..., Lab]) -> None:
    # Issue 10, defect 2: a planted or edited record (another run's, a target outside the allow-list)
    # refuses the whole undo before anything is restored.
    lab = start_lab("picture")
    (host,) = lab.fleet.hosts
    fix(lab, "remove-picture-password", "--user", "quinn", "--block-reenroll", "--run-id", "t-1")
    edit_record(host, "t-1", "002-policy.json", lambda r: r["entry"].update(name="EnableLUA"))  # never set by jcfix
    tampered = state(lab)
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "t-1", "-o", "json"))
    (refused,) = undo[0]["results"]
    assert (refused["status"], refused["error"]["category"]) == ("failed", "invalid_input")
    assert "002-policy.json' cannot be trusted: it names a policy value jcfix never sets" in refused["error"]["message"]
    assert "nothing was restored" in refused["error"]["message"]
    assert state(lab) == tampered
    edit_record(host, "t-1", "002-policy.json", lambda r: r["entry"].update(name="BlockDomainPicturePassword"))
    edit_record(host, "t-1", "001-registry.json", lambda r: r.update(run_id="another-run"))
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "t-1", "-o", "json"))
    assert "belongs to another run" in undo[0]["results"][0]["error"]["message"]


def test_picture_password_backup_and_undo_keep_subkeys_and_value_kinds(start_lab: Callable[..., Lab]) -> None:
    # Issue 10, defect 13: the whole key is saved (values with kinds, subkeys) and restored in full.
    lab = start_lab("picture")
    (host,) = lab.fleet.hosts
    path = f"{PICTURE_ROOT}\\{readback.sid(host, 'quinn')}"
    registry = machine_of(host).state.registry
    registry.drop(path)
    registry.seed(path, {"Version": ("DWord", 2), "Gesture": ("Binary", b"\x01\x02\x03")})
    registry.seed(path + "\\Tiles", {"Names": ("MultiString", ["a", "b"]), "Path": ("String", "C:\\pic.jpg")})
    key = "\\" + path
    before = {k: v for k, v in state(lab)["registry"].items() if k.startswith(key)}
    code, _ = fix(lab, "remove-picture-password", "--user", "quinn", "--run-id", "tree-1")
    assert code == ExitCode.CHANGED
    assert readback.registry_key(host, path) is None
    (record,) = readback.backups(host, "tree-1").values()
    tree = record["entry"]["snapshot"]["tree"]
    assert [v["kind"] for v in tree["values"]] == ["DWord", "Binary"]
    assert tree["subkeys"][0]["name"] == "Tiles"
    assert tree["subkeys"][0]["values"][0] == {"name": "Names", "kind": "MultiString", "value": ["a", "b"]}
    undo = json_out(run_jcfix("undo", "-i", str(lab.inventory), "--run-id", "tree-1", "-o", "json"))
    assert undo[0]["results"][0]["data"]["restored"][0].endswith("with its subkeys)")
    restored = {k: v for k, v in values_only(state(lab))["registry"].items() if k.startswith(key)}
    assert restored == {k: v for k, v in values_only({"registry": before})["registry"].items()}


def test_block_reenroll_help_says_what_it_does_not_block() -> None:
    # Issue 10, defect 10: the flag's help names the domain-only wording and the unconfirmed local effect.
    for command in ("remove-pin", "remove-picture-password"):
        result = run_jcfix("fix", command, "--help", env={"COLUMNS": "300"})
        assert "domain users" in result.stdout and "unconfirmed" in result.stdout, result.stdout[-1500:]
