"""Issue 10's defects, on real Windows, where a real host can show them.

Defects a host cannot show without injecting failures (5: changed-then-failed documents) stay in the lab's
tests; 6 (the MSA-unlink task) needs a Microsoft-account user and runs in test_kit_unconfirmed.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any

import pytest
from winkit import (
    HOST,
    MARKS,
    HostShell,
    connection_flags,
    diagnose,
    finding,
    fix,
    jcfix,
    kit_accounts,
    one_document,
    undo,
)

from toolkit.actions import get_action
from toolkit.exitcodes import ExitCode
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget
from toolkit.transport.winrm import open_session

pytestmark = MARKS

JCFIX_FOLDER = "C:\\ProgramData\\jcfix"
ASIDE = "C:\\ProgramData\\jcfix.kit-aside"
TRUSTED = {"S-1-5-32-544", "S-1-5-18"}
LOGON_UI = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI"
PICTURE_ROOT = LOGON_UI + "\\PicturePassword"

# User SIDs owning a process in an interactive session (SessionId > 0), asked with GetOwnerSid.
SIGNED_IN_SCRIPT = """
$sids = New-Object System.Collections.Generic.List[string]
foreach ($process in @(Get-CimInstance -ClassName Win32_Process -Filter 'SessionId > 0')) {
    $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid -WhatIf:$false -ErrorAction SilentlyContinue
    if (-not $owner -or $owner.ReturnValue -ne 0) { continue }
    if ($owner.Sid -match '^S-1-(5-21|12-1)-' -and -not $sids.Contains($owner.Sid)) { $sids.Add([string]$owner.Sid) }
}
ConvertTo-Json -Compress -InputObject @($sids)
"""

# Owner, protection and the SIDs of every ACE of a folder and its subfolders.
FOLDER_ACL_SCRIPT = """
param([string] $Path)
$rows = foreach ($item in @(Get-Item -LiteralPath $Path) + @(Get-ChildItem -LiteralPath $Path -Recurse -Directory)) {
    $acl = Get-Acl -LiteralPath $item.FullName
    [ordered]@{
        path = $item.FullName; owner = $acl.GetOwner([Security.Principal.SecurityIdentifier]).Value
        protected = $acl.AreAccessRulesProtected
        sids = @($acl.GetAccessRules($true, $true, [Security.Principal.SecurityIdentifier]) |
            ForEach-Object { $_.IdentityReference.Value })
    }
}
ConvertTo-Json -Compress -Depth 4 -InputObject @($rows)
"""


def signed_in_sids(shell: HostShell) -> list[str]:
    return [s.upper() for s in shell.json(SIGNED_IN_SCRIPT)]


def pin_state(shell: HostShell, sid: str) -> bool:
    key = f"{LOGON_UI}\\NgcPin\\Credentials\\{sid}"
    return bool(shell.json("param([string] $Key) ConvertTo-Json ([bool](Test-Path -LiteralPath $Key))", Key=key))


# ---- defect 1 (and 9): check mode while someone is signed in; signed-in state by SID ---------------------

CHECKS = {
    "rename": lambda kit: ["--user", kit_accounts(kit, "space")[0]["name"], "--to", "john.smith"],
    "remove-pin": lambda kit: ["--user", kit_accounts(kit, "pin_ngc")[0]["name"]],
    "remove-picture-password": lambda kit: ["--user", kit_accounts(kit, "picture")[0]["name"], "--block-reenroll"],
    "convert-msa": lambda kit: ["--user", kit_accounts(kit, "managed")[0]["name"]],
}


@pytest.mark.parametrize("command", sorted(CHECKS))
def test_defect_01_check_mode_works_while_someone_is_signed_in(
    kit: dict[str, Any], shell: HostShell, run_id: str, command: str
) -> None:
    people = signed_in_sids(shell)
    if not people:
        pytest.skip("nobody is signed in interactively on this host (a CI runner's own session, or sign in on the VM)")
    _code, check = fix(command, *CHECKS[command](kit), "--check", "--run-id", run_id)
    assert check["error"] is None, check["error"]
    assert check["status"] in ("changed", "ok", "pending")
    assert check["data"]["check_mode"] is True


def test_defect_09_signed_in_is_decided_by_sid(kit: dict[str, Any], shell: HostShell) -> None:
    people = signed_in_sids(shell)
    if not people:
        pytest.skip("nobody is signed in interactively on this host")
    diagnosis = diagnose(*[a["jc_user"] for a in kit["accounts"]])
    assert set(people) <= {p["sid"].upper() for p in diagnosis["decided"]["signed_in"]}
    # Nobody signs in as the kit's accounts: a USER_SIGNED_IN for one would come from a name, not a SID.
    assert not {a["sid"].upper() for a in kit["accounts"]} & set(people)
    assert [f["subject"] for f in diagnosis["findings"] if f["code"] == "USER_SIGNED_IN"] == []


# ---- defect 2: a user-owned C:\ProgramData\jcfix is refused --------------------------------------------


def test_defect_02_folders_jcfix_creates_are_admin_only(kit: dict[str, Any], shell: HostShell, run_id: str) -> None:
    (spec,) = kit_accounts(kit, "pin_ngc")
    _code, applied = fix("remove-pin", "--user", spec["name"], "--run-id", run_id)
    try:
        assert applied["status"] == "pending", applied
        for folder in shell.json(FOLDER_ACL_SCRIPT, Path=JCFIX_FOLDER):
            assert folder["owner"] in TRUSTED, folder
            assert set(folder["sids"]) <= TRUSTED, folder
            if folder["path"].rstrip("\\").lower() == JCFIX_FOLDER.lower():
                assert folder["protected"] is True, folder  # nothing inherited from C:\ProgramData
    finally:
        undo(run_id)


PLANT_SCRIPT = """
param([string] $Path, [string] $RunId, [string] $Record)
$folder = Join-Path $Path "backups\\$RunId"
[void](New-Item -ItemType Directory -Path $folder -Force)
Set-Content -LiteralPath (Join-Path $folder '001-rename.json') -Value $Record -Encoding UTF8
ConvertTo-Json ((Get-Acl -LiteralPath $Path).GetOwner([Security.Principal.SecurityIdentifier]).Value)
"""

NAME_OF_SCRIPT = "param([string] $Sid) ConvertTo-Json ([string](Get-LocalUser -SID $Sid).Name)"


def test_defect_02_a_user_owned_jcfix_folder_is_refused(
    kit: dict[str, Any], shell: HostShell, account_passwords: dict[str, Any], run_id: str
) -> None:
    (spec,) = kit_accounts(kit, "picture")
    (victim,) = kit_accounts(kit, "provisioned")
    key = f"{PICTURE_ROOT}\\{spec['sid']}"
    standard = HostShell(user=kit["standard_user"], password=account_passwords["standard_password"])
    # A planted "backup": replayed by undo, it would rename the victim account.
    planted = {
        "schema": 1,
        "kind": "rename",
        "run_id": run_id,
        "saved": "2026-01-01T00:00:00Z",
        "entry": {"sid": victim["sid"], "old_name": "pwned", "new_name": victim["name"], "profile_path": None},
    }
    shell.run(
        "param([string] $Path, [string] $Aside) if (Test-Path -LiteralPath $Path) { Rename-Item -LiteralPath $Path "
        "-NewName (Split-Path -Leaf $Aside) }",
        Path=JCFIX_FOLDER,
        Aside=ASIDE,
    )
    try:
        # The attack as a standard user makes it: ProgramData lets any user create a folder and own it.
        owner = standard.json(PLANT_SCRIPT, Path=JCFIX_FOLDER, RunId=run_id, Record=json.dumps(planted))
        assert owner not in TRUSTED
        code, refused = fix("remove-picture-password", "--user", spec["name"], "--run-id", run_id + "-fix")
        assert (code, refused["status"], refused["error"]["category"]) == (ExitCode.FAILED, "failed", "invalid_input")
        assert JCFIX_FOLDER.lower() in refused["error"]["message"].lower()
        assert refused["changed"] is False
        assert shell.json("param([string] $Key) ConvertTo-Json ([bool](Test-Path -LiteralPath $Key))", Key=key)
        code, undo_refused = undo(run_id)
        assert (undo_refused["status"], undo_refused["error"]["category"]) == ("failed", "invalid_input")
        assert shell.json(NAME_OF_SCRIPT, Sid=victim["sid"]) == victim["name"]
    finally:
        shell.run(
            "param([string] $Path, [string] $Aside) if (Test-Path -LiteralPath $Path) { Remove-Item -LiteralPath $Path "
            "-Recurse -Force }; if (Test-Path -LiteralPath $Aside) { Rename-Item -LiteralPath $Aside -NewName "
            "(Split-Path -Leaf $Path) }",
            Path=JCFIX_FOLDER,
            Aside=ASIDE,
        )


# ---- defect 3: managedUsers.json with two users, with and without a BOM ----------------------------------

MANAGED_FILE_SCRIPT = """
param([string] $Path, [string] $Base64)
if ($Base64) { [IO.File]::WriteAllBytes($Path, [Convert]::FromBase64String($Base64)) }
ConvertTo-Json ([Convert]::ToBase64String([IO.File]::ReadAllBytes($Path)))
"""


def test_defect_03_two_managed_users_with_and_without_bom(kit: dict[str, Any], shell: HostShell) -> None:
    path = kit["agent"]["install_dir"] + "\\Plugins\\Contrib\\managedUsers.json"
    original = base64.b64decode(shell.json(MANAGED_FILE_SCRIPT, Path=path, Base64=""))
    bom = b"\xef\xbb\xbf"
    other = original[len(bom) :] if original.startswith(bom) else bom + original
    try:
        for content in (original, other):
            shell.json(MANAGED_FILE_SCRIPT, Path=path, Base64=base64.b64encode(content).decode())
            diagnosis = diagnose("alice", "bob")
            assert finding(diagnosis, "TAKEN_OVER", "alice") and finding(diagnosis, "TAKEN_OVER", "bob")
            assert sorted(diagnosis["decided"]["managed_users"]) == ["alice", "bob"]
    finally:
        shell.json(MANAGED_FILE_SCRIPT, Path=path, Base64=base64.b64encode(original).decode())


# ---- defect 4: the PIN task (trigger by SID, expires, runs on battery) and the second marker ------------

TASK_XML_SCRIPT = """
param([string] $Sid)
$task = @(Get-ScheduledTask -TaskPath '\\jcfix\\' | Where-Object { $_.TaskName -like "*$Sid*" })
if ($task.Count -ne 1) { throw "expected one jcfix task for $Sid, found $($task.Count)" }
$xml = [xml](Export-ScheduledTask -TaskPath $task[0].TaskPath -TaskName $task[0].TaskName)
function ConvertTo-KitSid([string] $Name) {
    if (-not $Name -or $Name -like 'S-1-*') { return $Name }
    (New-Object Security.Principal.NTAccount($Name)).Translate([Security.Principal.SecurityIdentifier]).Value
}
$settings = $xml.Task.Settings
ConvertTo-Json -Compress -Depth 4 -InputObject ([ordered]@{
    triggers = @($xml.Task.Triggers.ChildNodes | ForEach-Object { [ordered]@{
        kind = $_.LocalName; user_sid = (ConvertTo-KitSid $_.UserId); end = [string]$_.EndBoundary } })
    principal_sid = (ConvertTo-KitSid ([string]$xml.Task.Principals.Principal.UserId))
    disallow_on_batteries = [string]$settings.DisallowStartIfOnBatteries
    stop_on_batteries = [string]$settings.StopIfGoingOnBatteries
    delete_expired_after = [string]$settings.DeleteExpiredTaskAfter
})
"""


def test_defect_04_pin_task_is_one_shot_by_sid_and_runs_on_battery(
    kit: dict[str, Any], shell: HostShell, run_id: str
) -> None:
    (spec,) = kit_accounts(kit, "pin_provider")  # only the credential-provider marker: must still be seen
    _code, applied = fix("remove-pin", "--user", spec["name"], "--run-id", run_id)
    try:
        assert applied["status"] == "pending", applied
        assert applied["data"]["before"]["hello_pin"] is True
        assert any(re.search(r"sign(s|ing)?[ -]?out", n) for n in applied["data"]["notes"]), applied["data"]["notes"]
        task = shell.json(TASK_XML_SCRIPT, Sid=spec["sid"])
        (trigger,) = task["triggers"]
        assert trigger["kind"] == "LogonTrigger"
        assert trigger["user_sid"].upper() == spec["sid"].upper()
        assert task["principal_sid"].upper() == spec["sid"].upper()
        assert trigger["end"], "the trigger never expires: the task would run at every sign-in"
        # Absent elements mean Task Scheduler's defaults, which are 'true' for both (fact sheet §8).
        assert (task["disallow_on_batteries"], task["stop_on_batteries"]) == ("false", "false")
    finally:
        undo(run_id)


# ---- defect 7: the 32-bit endpoint reads the 64-bit locations ------------------------------------------


def test_defect_07_wow64_endpoint_sees_the_agent_and_markers(kit: dict[str, Any], shell: HostShell) -> None:
    # jcfix has no option to choose the endpoint (it always uses Microsoft.PowerShell), so the test runs
    # jcfix's own rendered collect_facts on Microsoft.PowerShell32 itself and validates it with jcfix's parser.
    present = shell.json(
        "ConvertTo-Json ([bool](Get-PSSessionConfiguration -Name Microsoft.PowerShell32 -ErrorAction SilentlyContinue))"
    )
    if not present:
        pytest.skip("no Microsoft.PowerShell32 endpoint on this host (32-bit Windows, or not registered)")
    document = HostShell(configuration_name="Microsoft.PowerShell32").run_action("collect_facts")
    assert document.status == "ok", document.error
    facts = document.data.model_dump()
    assert facts["is_64bit_process"] is False and facts["is_64bit_os"] is True
    users = {u["sid"].upper(): u for u in facts["users"]}
    assert users[kit_accounts(kit, "pin_ngc")[0]["sid"].upper()]["pin_markers"] == ["ngc_pin"]
    assert users[kit_accounts(kit, "pin_provider")[0]["sid"].upper()]["pin_markers"] == ["pin_provider"]
    assert users[kit_accounts(kit, "picture")[0]["sid"].upper()]["picture_password"] is True
    files = facts["agent"]["files"]
    assert files["managed_users"]["present"] and files["agent_conf"]["present"] and files["log_tail"]["present"]
    assert "(x86)" not in (facts["agent"]["install_dir"] or "")


# ---- defect 8: --all-users-now refuses while anyone is signed in ----------------------------------------


def test_defect_08_all_users_now(kit: dict[str, Any], shell: HostShell, run_id: str) -> None:
    (spec,) = kit_accounts(kit, "pin_ngc")
    people = signed_in_sids(shell)
    if people:
        code, refused = fix("remove-pin", "--user", spec["name"], "--all-users-now", "--run-id", run_id)
        assert (refused["status"], refused["error"]["category"]) == ("failed", "invalid_input"), refused
        assert "signed in" in refused["error"]["message"]
        assert pin_state(shell, spec["sid"]) is True
        return
    if os.environ.get("JCFIX_TEST_ALLOW_NGC_WIPE") != "1":
        pytest.skip("nobody is signed in, and wiping every Windows Hello container needs JCFIX_TEST_ALLOW_NGC_WIPE=1")
    services = (
        "ConvertTo-Json -Compress @(Get-Service -Name NgcSvc, NgcCtnrSvc -ErrorAction SilentlyContinue | "
        "ForEach-Object { [string]$_.Status })"
    )
    before = shell.json(services)
    code, wiped = fix("remove-pin", "--user", spec["name"], "--all-users-now", "--run-id", run_id)
    assert (code, wiped["status"]) == (ExitCode.CHANGED, "changed"), wiped
    assert pin_state(shell, spec["sid"]) is False
    assert shell.json(services) == before  # stopped for the wipe, then restarted as they were


# ---- defect 11: every script runs in its own scope -------------------------------------------------------


def test_defect_11_scripts_leave_nothing_in_the_runspace() -> None:
    flags = connection_flags()
    settings = ConnectionSettings(
        scheme=flags.scheme,
        port=flags.port,
        auth=flags.auth,
        user=os.environ["JCFIX_TEST_USER"],
        password=Secret(os.environ["JCFIX_TEST_PASSWORD"]),
        ca_cert=flags.ca_cert,
        cert_validation=not flags.no_cert_validation,
    )
    probe = RenderedScript(
        "probe",
        1,
        "[CmdletBinding()] param()\n"
        "$functions = @(Get-Command -CommandType Function -Name '*-Jcfix*' -ErrorAction SilentlyContinue).Count\n"
        "$strict = $false; try { $nothing = $null; [void]$nothing.Missing } catch { $strict = $true }\n"
        "ConvertTo-Json -Compress @{ functions = $functions; strict = $strict; "
        "result = [bool](Test-Path -LiteralPath variable:JcfixResult) }",
    )
    with open_session(HostTarget(HOST), settings) as session:
        first = session.run(get_action("collect_facts").render({}))
        assert first.terminating_error is None
        leftover = session.run(probe)
    assert json.loads(leftover.output[-1]) == {"functions": 0, "strict": False, "result": False}


# ---- defect 12: a token without Administrators is refused by name ----------------------------------------


def test_defect_12_a_non_elevated_session_is_refused_clearly(
    kit: dict[str, Any], account_passwords: dict[str, Any]
) -> None:
    result = jcfix(
        "users", "list", "-o", "json", user=kit["standard_user"], password=account_passwords["standard_password"]
    )
    document = one_document(result)
    assert result.returncode == ExitCode.FAILED
    assert (document["status"], document["error"]["category"]) == ("failed", "invalid_input"), document
    assert "LocalAccountTokenFilterPolicy" in document["error"]["message"]
    assert "elevated" in document["error"]["message"]
