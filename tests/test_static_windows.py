"""Issue 10: what real Windows PowerShell 5.1 needs of every rendered script (fact sheet §8 of
../shared/research/windows-jumpcloud.md), one test per defect found on real hosts: reads that ignore -WhatIf,
ProgramData folders created protected in one call, no JSON parsed on the host, scheduled tasks that start on
battery and expire, explicit 64-bit locations, checked native exit codes, -ErrorAction on CDXML commands,
elevation checks and whole-tree registry backups. The general 5.1 lint is tests/test_ps51_lint.py.
"""

from __future__ import annotations

import re

import pstree
import pytest
from actioncases import required_fillers
from pscheckers import command_name

from toolkit.actions import Action, get_action, registry

FIX_ACTIONS = [a for a in registry().values() if a.changes_state]


SCHEDULED_TASK_COMMANDS = {
    "get-scheduledtask", "get-scheduledtaskinfo", "register-scheduledtask", "unregister-scheduledtask",
    "start-scheduledtask", "new-scheduledtaskaction", "new-scheduledtasktrigger", "new-scheduledtaskprincipal",
    "new-scheduledtasksettingsset",
}  # fmt: skip


def rendered(action: Action) -> pstree.Parsed:
    """The action's script rendered for its default switches (required parameters filled in), parsed."""
    return pstree.parse(action.render(required_fillers(action)).script)


def commands(parsed: pstree.Parsed) -> list[tuple[str, str]]:
    """Every command as ``(lower-case name, its text with whitespace collapsed)``."""
    return [
        (command_name(parsed, node), " ".join(parsed.text(node).split()))
        for node in pstree.walk(parsed.root)
        if node.type == "command"
    ]


def without_comments(parsed: pstree.Parsed) -> str:
    """The source with comments blanked out (offsets kept); strings stay, unlike ``code_text``."""
    data = bytearray(parsed.data)
    for node in pstree.walk(parsed.root):
        if node.type == "comment":
            data[node.start_byte : node.end_byte] = b" " * (node.end_byte - node.start_byte)
    return data.decode("utf-8", errors="replace")


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_cim_method_reads_ignore_whatif(action: Action) -> None:
    # Defect 1: Invoke-CimMethod supports ShouldProcess; under -WhatIf GetOwner/GetOwnerSid return nothing.
    reads = [t for n, t in commands(rendered(action)) if n == "invoke-cimmethod" and "GetOwner" in t]
    assert all("-WhatIf:$false" in t for t in reads), reads


def test_signed_in_is_decided_by_sid_in_interactive_sessions() -> None:
    # Defects 1 and 9: owners by SID (GetOwnerSid) of every process in sessions > 0, not explorer.exe by name.
    source = without_comments(rendered(get_action("rename_user")))
    assert "-MethodName GetOwnerSid -WhatIf:$false" in source
    assert "'SessionId > 0'" in source
    assert "explorer.exe" not in source
    assert "$_.sid -eq $sidText" in source


@pytest.mark.parametrize("action", FIX_ACTIONS, ids=lambda a: a.name)
def test_jcfix_folders_are_created_protected_in_one_call(action: Action) -> None:
    # Defect 2: no New-Item/mkdir folder under ProgramData; CreateDirectory always with a descriptor.
    parsed = rendered(action)
    source = without_comments(parsed)
    assert not [t for n, t in commands(parsed) if n in ("new-item", "mkdir", "md") and "Directory" in t]
    assert "[System.IO.Directory]::CreateDirectory($level, (New-JcfixSecurityDescriptor" in source
    assert source.count("::CreateDirectory(") == 1
    assert "Assert-JcfixStateFolder" in source  # every run checks the existing levels
    assert "'S-1-5-32-544', 'S-1-5-18'" in source and "AreAccessRulesProtected" in source


@pytest.mark.parametrize("name", ["convert_msa", "remove_pin"])
def test_system_tasks_never_run_a_script_file(name: str) -> None:
    # Defect 2: the SYSTEM task's code travels in the action (-EncodedCommand), never a file a user could swap.
    source = without_comments(rendered(get_action(name)))
    assert "-EncodedCommand" in source
    actions = [t for n, t in commands(rendered(get_action(name))) if n == "new-scheduledtaskaction"]
    assert actions and not [t for t in actions if "-File" in t or ".ps1" in t]
    assert ".ps1'" not in source


def test_undo_checks_every_record_before_restoring_anything() -> None:
    # Defect 2: owner/DACL of each record file, the run id, and allow-listed targets, before any change.
    source = without_comments(rendered(get_action("undo_run")))
    assert "Get-JcfixTrustProblem -Path $file.FullName" in source
    assert "-cne $RunId" in source
    assert "$AllowedPolicyNames = @('AllowDomainPINLogon', 'BlockDomainPicturePassword')" in source
    reading = source.index("$records = @(Read-JcfixBackupRecord")
    assert reading < source.index("Undo-JcfixEntry -Record $record")


def test_collect_facts_parses_no_agent_file_on_the_host() -> None:
    # Defect 3: ConvertFrom-Json of managedUsers.json reads two users as one name in 5.1: files go back raw.
    source = without_comments(rendered(get_action("collect_facts")))
    assert "ConvertFrom-Json" not in source
    assert "Get-Content" not in source
    assert "[Convert]::ToBase64String($buffer, 0, $read)" in source


def test_pin_task_runs_once_and_expires() -> None:
    # Defect 4: -AtLogOn fires at every sign-in; the task expires, is deleted, and a SYSTEM task removes it.
    source = without_comments(rendered(get_action("remove_pin")))
    assert "$trigger.EndBoundary = " in source
    assert "-DeleteExpiredTaskAfter" in source
    assert "Translate([System.Security.Principal.NTAccount])" in source
    assert "-AtLogOn -User $account" in source
    assert "-Action @($deleteTask, $deleteSelf)" in source
    assert "'pin_provider'" in source and "'ngc_pin'" in source


def test_failure_keeps_changed_and_data() -> None:
    # Defect 5: Set-JcfixFailure leaves 'changed' and 'data' as the body set them.
    source = without_comments(rendered(get_action("rename_user")))
    failure = source[source.index("function Set-JcfixFailure") : source.index("function Get-JcfixValue")]
    assert "'changed'" not in failure and "'data'" not in failure


@pytest.mark.parametrize("action", FIX_ACTIONS, ids=lambda a: a.name)
def test_verification_messages_cannot_throw_on_null(action: Action) -> None:
    # Defect 5: '$after.name' inside a verification message throws under strict mode when $after is $null.
    for name, text in commands(rendered(action)):
        if name == "stop-jcfixverification":
            assert not re.search(r"\$after\.", text), text


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_scheduled_tasks_start_on_battery(action: Action) -> None:
    # Defect 6: Task Scheduler's defaults refuse to start on battery; every settings set says otherwise.
    settings = [t for n, t in commands(rendered(action)) if n == "new-scheduledtasksettingsset"]
    for text in settings:
        assert "-AllowStartIfOnBatteries" in text and "-DontStopIfGoingOnBatteries" in text
        assert "-ExecutionTimeLimit" in text
    for name, text in commands(rendered(action)):
        if name == "register-scheduledtask":
            assert "-Settings $settings" in text, text


@pytest.mark.parametrize("action", FIX_ACTIONS, ids=lambda a: a.name)
def test_task_results_are_read_as_uint32(action: Action) -> None:
    # LastTaskResult is a UInt32 HRESULT: [int] throws on 0x8007007E and the like (found by the lab engine).
    assert not re.search(r"\[int\][^\n]*LastTaskResult", without_comments(rendered(action)))


def test_msa_unlink_waits_on_the_task_and_checks_the_password_first() -> None:
    # Defect 6: wait on task state, result written atomically, password policy before the irreversible step.
    source = without_comments(rendered(get_action("convert_msa")))
    assert "Get-ScheduledTaskInfo -InputObject $task" in source
    assert "[System.IO.File]::Move($temporary, (Join-Path $work 'result.json'))" in source
    assert "'/export', '/cfg'" in source
    policy_check = source.index("$problems = @(Test-JcfixPasswordPolicy")
    assert policy_check < source.index("$outcome = Invoke-JcfixSystemTask")


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_64bit_locations_are_explicit(action: Action) -> None:
    # Defect 7: in a WOW64 process HKLM:\SOFTWARE is WOW6432Node and $env:ProgramFiles is (x86).
    source = without_comments(rendered(action))
    assert "HKLM:\\SOFTWARE" not in source and "HKLM:\\\\SOFTWARE" not in source
    assert source.count("$env:ProgramFiles") <= 1  # only Get-JcfixProgramFiles' fallback
    if "$env:ProgramFiles" in source:
        assert "$env:ProgramW6432" in source


def test_all_users_wipe_is_system_checked_and_stops_ngc_services() -> None:
    # Defect 8: no takeown (localised /d y), every native exit code checked, NGC services stopped and started.
    source = without_comments(rendered(get_action("remove_pin")))
    assert "takeown" not in source.lower()
    assert "@('NgcCtnrSvc', 'NgcSvc')" in source and "Start-Service -Name $name" in source
    assert "if ($LASTEXITCODE -ne 0) { throw" in source
    assert "Get-JcfixSignedInUserSid" in source


@pytest.mark.parametrize("name", ["remove_pin", "remove_picture_password"])
def test_block_reenroll_says_what_it_does_not_block(name: str) -> None:
    # Defect 10: the policies are worded for domain users; the plan, notes and --help say so.
    action = get_action(name)
    assert "unconfirmed" in action.param("BlockReenroll").help
    source = rendered(action).source
    assert "worded for domain users" in source and "UNCONFIRMED" in source


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_module_commands_pass_error_action(action: Action) -> None:
    # Defect 11: ScheduledTasks is a CDXML module; it does not see the script's $ErrorActionPreference.
    for name, text in commands(rendered(action)):
        if name in SCHEDULED_TASK_COMMANDS or name in ("get-ciminstance", "get-localuser", "invoke-cimmethod"):
            assert "-ErrorAction" in text, text


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_every_script_checks_elevation(action: Action) -> None:
    # Defect 12: a filtered token fails clearly, naming LocalAccountTokenFilterPolicy (collect_facts reports it;
    # list_users needs no administrator).
    source = without_comments(rendered(action))
    assert "LocalAccountTokenFilterPolicy" in source
    wrapper = source[source.index("$JcfixResult = New-JcfixResult") :]
    if action.name == "collect_facts":
        assert "elevated                = Test-JcfixElevated" in source
    elif action.name == "list_users":
        assert "Assert-JcfixElevated" not in wrapper  # reads only what a standard token can read
    else:
        assert "Assert-JcfixElevated" in wrapper.split("Invoke-JcfixAction")[0]


def test_registry_backups_are_whole_trees() -> None:
    # Defect 13: subkeys and value kinds are saved, and restored in full.
    fix_source = without_comments(rendered(get_action("remove_picture_password")))
    assert "Get-JcfixRegistryTree -Key $sub" in fix_source and "GetValueKind" in fix_source
    assert "DeleteSubKeyTree" in fix_source
    undo_source = without_comments(rendered(get_action("undo_run")))
    assert "Restore-JcfixRegistryTree -Parent $key -Tree $sub" in undo_source
