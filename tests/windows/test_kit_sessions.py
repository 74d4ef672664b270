"""Sessions and tokens on real Windows: a loaded profile is not a signed-in user (issue 10, defect 9), and a
local administrator's filtered network token is refused by name (defect 12)."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from winkit import HOST, MARKS, HostShell, diagnose, fact_user, jcfix, kit_accounts, one_document, wait_for

from toolkit.exitcodes import ExitCode

pytestmark = MARKS

TASK_PATH = "\\jcfixkit\\"

# A task that runs as the account with its password (a batch logon in session 0): Task Scheduler loads the
# account's profile for it, so Win32_UserProfile.Loaded turns true while nobody signs in interactively.
START_TASK_SCRIPT = r"""
param([string] $TaskPath, [string] $User, [string] $Password)
$powershell = Join-Path $env:SystemRoot 'System32\WindowsPowerShell\v1.0\powershell.exe'
$action = New-ScheduledTaskAction -Execute $powershell -Argument '-NoProfile -Command Start-Sleep -Seconds 240'
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
$task = @{ TaskPath = $TaskPath; TaskName = 'profile-loaded'; Action = $action; Settings = $settings }
Register-ScheduledTask @task -User "$env:COMPUTERNAME\$User" -Password $Password -Force -ErrorAction Stop | Out-Null
Start-ScheduledTask -TaskPath $TaskPath -TaskName 'profile-loaded' -ErrorAction Stop
"""

STOP_TASK_SCRIPT = r"""
param([string] $TaskPath)
Stop-ScheduledTask -TaskPath $TaskPath -TaskName 'profile-loaded' -ErrorAction SilentlyContinue
Unregister-ScheduledTask -TaskPath $TaskPath -TaskName 'profile-loaded' -Confirm:$false -ErrorAction SilentlyContinue
"""

# Whether the SID's profile is loaded, and the sessions of the processes it owns.
PROFILE_SCRIPT = """
param([string] $Sid)
$userProfile = Get-CimInstance -ClassName Win32_UserProfile -Filter "SID = '$Sid'"
$sessions = foreach ($process in @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'powershell.exe'")) {
    $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid -ErrorAction SilentlyContinue
    if ($owner -and $owner.ReturnValue -eq 0 -and $owner.Sid -eq $Sid) { [int]$process.SessionId }
}
ConvertTo-Json -Compress -InputObject ([ordered]@{
    loaded = [bool]($userProfile -and $userProfile.Loaded); sessions = @($sessions | Sort-Object -Unique)
})
"""


@pytest.fixture
def loaded_profile(kit: dict[str, Any], shell: HostShell, account_passwords: dict[str, Any]) -> Iterator[str]:
    """The SID of a kit account whose profile is loaded by a session-0 task, nobody signed in as it."""
    (spec,) = kit_accounts(kit, "case")
    password = account_passwords["accounts"][spec["name"]]
    shell.run(START_TASK_SCRIPT, TaskPath=TASK_PATH, User=spec["name"], Password=password)
    try:
        try:
            state = wait_for(
                "the task's profile to load",
                lambda: (lambda s: s if s["loaded"] else None)(shell.json(PROFILE_SCRIPT, Sid=spec["sid"])),
                timeout=90,
                interval=3,
            )
        except AssertionError as exc:  # the premise, not jcfix: say so instead of failing
            pytest.skip(f"could not load the profile with a session-0 task as {spec['name']!r}: {exc}")
        if state["sessions"] != [0]:
            pytest.skip(f"could not load the profile from session 0 alone (sessions {state['sessions']})")
        yield spec["sid"]
    finally:
        shell.run(STOP_TASK_SCRIPT, TaskPath=TASK_PATH)


def test_defect_09_a_loaded_profile_is_not_signed_in(kit: dict[str, Any], loaded_profile: str) -> None:
    (spec,) = kit_accounts(kit, "case")
    diagnosis = diagnose(spec["name"])  # the exact local name: the account matches, nothing else in the way
    assert fact_user(diagnosis, loaded_profile)["profile_loaded"] is True
    assert loaded_profile.upper() not in {p["sid"].upper() for p in diagnosis["decided"]["signed_in"]}
    assert "USER_SIGNED_IN" not in {f["code"] for f in diagnosis["findings"] if f["subject"] == spec["name"]}


def _local_elevated_windows() -> bool:
    if sys.platform != "win32" or HOST.lower() not in ("localhost", "127.0.0.1", "::1"):
        return False
    return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]


@pytest.mark.skipif(not _local_elevated_windows(), reason="needs the suite to run elevated on the host itself")
def test_defect_12_a_filtered_admin_token_is_refused_by_name(shell: HostShell) -> None:
    # The policy is read at each network logon (KB 951016); with it off, the kit's admin (not RID 500) gets a
    # filtered token over WinRM when UAC is on. Only a process already elevated on the host can turn it back.
    import winreg  # Windows only

    uac = shell.json(
        "ConvertTo-Json ([int](Get-ItemProperty -LiteralPath "
        "'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System').EnableLUA)"
    )
    if uac != 1:
        pytest.skip("UAC is off on this host (EnableLUA=0): no token is filtered")
    if not os.environ.get("JCFIX_TEST_USER", "").lower().endswith("\\jcfixkit"):
        pytest.skip("runs as the kit's administrator (not RID 500), whose token UAC filters")
    path = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path, 0, winreg.KEY_ALL_ACCESS | winreg.KEY_WOW64_64KEY) as key:
        winreg.SetValueEx(key, "LocalAccountTokenFilterPolicy", 0, winreg.REG_DWORD, 0)
        try:
            result = jcfix("users", "list", "-o", "json")
        finally:
            winreg.SetValueEx(key, "LocalAccountTokenFilterPolicy", 0, winreg.REG_DWORD, 1)
    document = one_document(result)
    assert result.returncode == ExitCode.FAILED
    assert document["error"]["category"] == "invalid_input", document
    assert "LocalAccountTokenFilterPolicy" in document["error"]["message"]
