"""Every fix on the kit's cases: --check changes nothing, apply changes exactly that, a second apply is ``ok``,
and undo restores it. Every "changed nothing" and "restored" is read from the host directly, not from jcfix.

Each test leaves the host as the kit built it (undo, or its own clean-up in ``finally``).
"""

from __future__ import annotations

from typing import Any

import pytest
from winkit import MARKS, HostShell, fix, kit_accounts, undo

from toolkit.exitcodes import ExitCode

pytestmark = MARKS

ACCOUNT_SCRIPT = """
param([string] $Sid)
$user = Get-LocalUser -SID $Sid
$cim = Get-CimInstance -ClassName Win32_UserAccount -Filter "SID = '$Sid'"
$userProfile = Get-CimInstance -ClassName Win32_UserProfile -Filter "SID = '$Sid'"
ConvertTo-Json -Compress -InputObject ([ordered]@{
    name = $user.Name; wmi_name = [string]$cim.Name; enabled = $user.Enabled
    profile_path = $(if ($userProfile) { [string]$userProfile.LocalPath } else { $null })
})
"""

# A registry key's subkeys, values and security descriptor (SDDL), recursively: what an undo must restore.
KEY_SNAPSHOT_SCRIPT = """
param([string] $Path)
function Get-KitKeySnapshot {
    param([string] $Key)
    $item = Get-Item -LiteralPath $Key
    $values = [ordered]@{}
    foreach ($name in @($item.GetValueNames() | Sort-Object)) {
        $values[$name] = [ordered]@{ kind = [string]$item.GetValueKind($name); data = [string]$item.GetValue($name) }
    }
    $children = [ordered]@{}
    foreach ($child in @(Get-ChildItem -LiteralPath $Key | Sort-Object PSChildName)) {
        $children[$child.PSChildName] = Get-KitKeySnapshot -Key $child.PSPath
    }
    [ordered]@{ sddl = (Get-Acl -LiteralPath $Key).Sddl; values = $values; children = $children }
}
if (-not (Test-Path -LiteralPath $Path)) { ConvertTo-Json -InputObject $null; return }
ConvertTo-Json -Compress -Depth 20 -InputObject (Get-KitKeySnapshot -Key $Path)
"""

TASK_SCRIPT = """
param([string] $Sid)
$task = Get-ScheduledTask -TaskPath '\\jcfix\\' -ErrorAction SilentlyContinue |
    Where-Object { $_.TaskName -like "*$Sid*" }
ConvertTo-Json -Compress -InputObject @(@($task) | ForEach-Object { $_.TaskName })
"""

PICTURE_ROOT = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI\\PicturePassword"


def account(shell: HostShell, sid: str) -> dict[str, Any]:
    return dict(shell.json(ACCOUNT_SCRIPT, Sid=sid))


def pin_tasks(shell: HostShell, sid: str) -> list[str]:
    return list(shell.json(TASK_SCRIPT, Sid=sid))


@pytest.mark.parametrize("case", ["space", "fullname"])
def test_rename_check_apply_again_undo(kit: dict[str, Any], shell: HostShell, run_id: str, case: str) -> None:
    (spec,) = kit_accounts(kit, case)
    old, new, sid = spec["name"], spec["jc_user"], spec["sid"]
    original = account(shell, sid)
    assert original["name"] == old

    code, check = fix("rename", "--user", old, "--to", new, "--check", "--run-id", run_id + "-c")
    assert (code, check["status"], check["changed"], check["data"]["check_mode"]) == (
        ExitCode.CHANGED,
        "changed",
        False,
        True,
    )
    assert account(shell, sid) == original

    code, applied = fix("rename", "--user", old, "--to", new, "--run-id", run_id)
    try:
        assert (code, applied["status"], applied["changed"]) == (ExitCode.CHANGED, "changed", True), applied
        renamed = account(shell, sid)
        assert (renamed["name"], renamed["wmi_name"]) == (new, new)
        assert renamed["profile_path"] == original["profile_path"]  # Windows does not rename the folder
        assert applied["data"]["after"]["name"] == new and applied["data"]["after"]["sid"] == sid
        assert applied["data"]["backups"], "a rename is backed up before it happens"

        code, again = fix("rename", "--user", old, "--to", new, "--run-id", run_id + "-2")
        assert (code, again["status"], again["changed"]) == (ExitCode.OK, "ok", False)
    finally:
        code, undone = undo(run_id)
    assert undone["status"] == "changed", undone
    assert account(shell, sid) == original
    code, second = undo(run_id)
    assert second["status"] == "ok"


def test_picture_password_check_apply_again_undo_restores_the_whole_key(
    kit: dict[str, Any], shell: HostShell, run_id: str
) -> None:
    (spec,) = kit_accounts(kit, "picture")
    key = f"{PICTURE_ROOT}\\{spec['sid']}"
    # A subkey and a binary value under the marker: a real registration has more than one flat key
    # (issue 10, defect 13: the backup must be recursive).
    shell.run(
        "param([string] $Key) $sub = New-Item -Path (Join-Path $Key 'jcfixkit-sub') -Force; "
        "[void](New-ItemProperty -LiteralPath $sub.PSPath -Name 'Blob' -Value ([byte[]](1, 2, 3)) "
        "-PropertyType Binary -Force)",
        Key=key,
    )
    original = shell.json(KEY_SNAPSHOT_SCRIPT, Path=key)
    assert original is not None and "jcfixkit-sub" in original["children"]

    code, check = fix("remove-picture-password", "--user", spec["name"], "--check", "--run-id", run_id + "-c")
    assert (check["status"], check["data"]["check_mode"]) == ("changed", True)
    assert shell.json(KEY_SNAPSHOT_SCRIPT, Path=key) == original

    code, applied = fix("remove-picture-password", "--user", spec["name"], "--run-id", run_id)
    try:
        assert (code, applied["status"]) == (ExitCode.CHANGED, "changed"), applied
        assert shell.json(KEY_SNAPSHOT_SCRIPT, Path=key) is None
        assert applied["data"]["after"]["picture_password"] is False
        code, again = fix("remove-picture-password", "--user", spec["name"], "--run-id", run_id + "-2")
        assert (code, again["status"]) == (ExitCode.OK, "ok")
    finally:
        code, undone = undo(run_id)
    assert undone["status"] == "changed", undone
    assert shell.json(KEY_SNAPSHOT_SCRIPT, Path=key) == original  # subkeys, values and ACL (defect 13)


def test_remove_pin_check_apply_again_undo(kit: dict[str, Any], shell: HostShell, run_id: str) -> None:
    (spec,) = kit_accounts(kit, "pin_ngc")
    assert pin_tasks(shell, spec["sid"]) == []
    code, check = fix("remove-pin", "--user", spec["name"], "--check", "--run-id", run_id + "-c")
    assert (check["status"], check["data"]["check_mode"]) == ("changed", True)
    assert pin_tasks(shell, spec["sid"]) == []

    code, applied = fix("remove-pin", "--user", spec["name"], "--run-id", run_id)
    try:
        assert (code, applied["status"], applied["changed"]) == (ExitCode.CHANGED, "pending", True), applied
        assert len(pin_tasks(shell, spec["sid"])) == 1
        code, again = fix("remove-pin", "--user", spec["name"], "--run-id", run_id + "-2")
        assert (again["status"], again["changed"]) == ("pending", False)
        assert len(pin_tasks(shell, spec["sid"])) == 1
    finally:
        code, undone = undo(run_id)
    assert undone["status"] == "changed", undone
    assert pin_tasks(shell, spec["sid"]) == []


def test_convert_msa_on_a_local_account_changes_nothing(kit: dict[str, Any], shell: HostShell) -> None:
    (spec,) = kit_accounts(kit, "provisioned")
    before = account(shell, spec["sid"])
    for extra in (["--check"], []):
        code, document = fix("convert-msa", "--user", spec["name"], *extra)
        assert (code, document["status"], document["changed"]) == (ExitCode.OK, "ok", False), document
        assert document["data"]["before"]["principal_source"] == "Local"
    assert account(shell, spec["sid"]) == before


def test_undo_check_restores_nothing(kit: dict[str, Any], shell: HostShell, run_id: str) -> None:
    (spec,) = kit_accounts(kit, "space")
    _code, applied = fix("rename", "--user", spec["name"], "--to", spec["jc_user"], "--run-id", run_id)
    try:
        assert applied["status"] == "changed", applied
        _code, checked = undo(run_id, "--check")
        assert (checked["status"], checked["data"]["check_mode"]) == ("changed", True)
        assert account(shell, spec["sid"])["name"] == spec["jc_user"]
    finally:
        _code, _undone = undo(run_id)
    assert account(shell, spec["sid"])["name"] == spec["name"]


def test_a_refused_fix_changes_nothing(kit: dict[str, Any], shell: HostShell) -> None:
    (spec,) = kit_accounts(kit, "space")
    (other,) = kit_accounts(kit, "case")
    before = account(shell, spec["sid"])
    code, refused = fix("rename", "--user", spec["name"], "--to", other["name"])
    assert (code, refused["status"], refused["error"]["category"]) == (ExitCode.FAILED, "failed", "invalid_input")
    assert "already named" in refused["error"]["message"]
    assert account(shell, spec["sid"]) == before
