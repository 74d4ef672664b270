"""One test per UNCONFIRMED fact of ../shared/research/windows-jumpcloud.md that jcfix's scripts rely on.

Each test checks the fact on this host, independently of jcfix where it can, and then that jcfix reads
what the host shows. Facts that need a person (enrolling a PIN or a picture password, a Microsoft account)
run when the environment names an account prepared by hand, and otherwise skip saying so; what they can
see anyway (which markers exist on the host) is recorded with ``record_property`` in the JUnit report.
The mapping fact -> test is in tests/windows/README.md.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
from winkit import (
    ALLOW_REBOOT,
    MARKS,
    HostScriptError,
    HostShell,
    codes,
    diagnose,
    fact_user,
    fix,
    kit_accounts,
    undo,
    wait_for,
)

from toolkit.exitcodes import ExitCode

pytestmark = MARKS

PIN_USER = os.environ.get("JCFIX_TEST_PIN_USER", "")  # a local user with a PIN enrolled by hand
PIN_PASSWORD = os.environ.get("JCFIX_TEST_PIN_PASSWORD", "")  # its password (auto-logon for the sign-out test)
PICTURE_USER = os.environ.get("JCFIX_TEST_PICTURE_USER", "")  # a local user with a picture password set by hand
MSA_USER = os.environ.get("JCFIX_TEST_MSA_USER", "")  # a local account linked to a Microsoft account
SKIP_UNLESS_REBOOT_ALLOWED = pytest.mark.skipif(
    not ALLOW_REBOOT, reason="restarts the host: set JCFIX_TEST_ALLOW_REBOOT=1"
)

# Every SID under each marker root (the kit's own markers carry a JcfixTestKit value and are left out).
MARKERS_SCRIPT = r"""
$auth = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication'
$roots = [ordered]@{
    ngc_pin = "$auth\LogonUI\NgcPin\Credentials"
    pin_provider = "$auth\Credential Providers\{D6886603-9D2F-4EB2-B667-1971041FA96B}"
    picture_password = "$auth\LogonUI\PicturePassword"
}
$found = [ordered]@{}
foreach ($kind in $roots.Keys) {
    $found[$kind] = @(Get-ChildItem -LiteralPath $roots[$kind] -ErrorAction SilentlyContinue |
        Where-Object { $_.PSChildName -like 'S-1-*' -and $null -eq $_.GetValue('JcfixTestKit') } |
        ForEach-Object { $_.PSChildName.ToUpperInvariant() })
}
ConvertTo-Json -Compress -InputObject $found
"""

SID_OF_SCRIPT = "param([string] $Name) ConvertTo-Json ([string](Get-LocalUser -Name $Name).SID.Value)"

NAMES_SCRIPT = """
param([string] $Sid)
$wmi = Get-CimInstance -ClassName Win32_UserAccount -Filter "SID = '$Sid'"
$translated = (New-Object Security.Principal.SecurityIdentifier($Sid)).Translate([Security.Principal.NTAccount]).Value
ConvertTo-Json -Compress -InputObject ([ordered]@{
    local_user = (Get-LocalUser -SID $Sid).Name; wmi = [string]$wmi.Name; lsa = $translated.Split('\\')[-1]
})
"""


def sid_of(shell: HostShell, name: str) -> str:
    return str(shell.json(SID_OF_SCRIPT, Name=name)).upper()


def markers(shell: HostShell) -> dict[str, list[str]]:
    return dict(shell.json(MARKERS_SCRIPT))


def boot_time(shell: HostShell) -> str:
    return str(shell.json("ConvertTo-Json ([string](Get-CimInstance Win32_OperatingSystem).LastBootUpTime.Ticks)"))


def restart(shell: HostShell) -> None:
    """Restart the host and wait until WinRM answers from the new boot."""
    before = boot_time(shell)
    shell.run("& (Join-Path $env:SystemRoot 'System32\\shutdown.exe') /r /t 5 /c 'jcfix test kit'")
    wait_for("the host to come back from the restart", lambda: boot_time(shell) != before, timeout=900, interval=15)


# ---- case-only rename (fact sheet §4: Windows compares names without case; does a rename keep the case?) --


def test_unconfirmed_case_only_rename_through_sam(
    kit: dict[str, Any], shell: HostShell, run_id: str, record_property: Any
) -> None:
    (spec,) = kit_accounts(kit, "case")
    old, new, sid = spec["name"], spec["jc_user"], spec["sid"]
    assert old != new and old.casefold() == new.casefold()
    code, applied = fix("rename", "--user", old, "--to", new, "--run-id", run_id)
    try:
        assert (code, applied["status"]) == (ExitCode.CHANGED, "changed"), applied
        names = shell.json(NAMES_SCRIPT, Sid=sid)
        record_property("names_after_case_only_rename", names)
        # The stored name changed case: SAM (Get-LocalUser) and WMI both answer the new spelling.
        assert (names["local_user"], names["wmi"]) == (new, new), names
        diagnosis = diagnose(new)
        assert "CASE_MISMATCH" not in codes(diagnosis, new)
        assert fact_user(diagnosis, sid)["name"] == new
    finally:
        undo(run_id)
    assert shell.json(NAMES_SCRIPT, Sid=sid)["local_user"] == old


# ---- PIN markers (fact sheet §3 and §8: NgcPin\Credentials\<SID> and the PIN credential provider) --------


def test_unconfirmed_which_pin_marker_a_consumer_pin_sets(
    kit: dict[str, Any], shell: HostShell, record_property: Any
) -> None:
    seen = markers(shell)
    record_property("pin_markers_on_host", seen)
    if not PIN_USER:
        pytest.skip(f"a PIN cannot be enrolled non-interactively; set one up by hand and name the user in "
                    f"JCFIX_TEST_PIN_USER (markers seen on this host: {seen})")  # fmt: skip
    sid = sid_of(shell, PIN_USER)
    kinds = [kind for kind in ("ngc_pin", "pin_provider") if sid in seen[kind]]
    record_property("pin_markers_of_pin_user", kinds)
    assert kinds, f"{PIN_USER} has a PIN but neither marker exists for {sid}: {seen}"
    user = fact_user(diagnose(PIN_USER), sid)
    assert (user["hello_pin"], sorted(user["pin_markers"])) == (True, sorted(kinds))


@pytest.mark.reboot
@SKIP_UNLESS_REBOOT_ALLOWED
def test_unconfirmed_pin_cleared_at_signout(shell: HostShell, run_id: str, record_property: Any) -> None:
    # certutil's help: the deletion completes "after the user signs out" (fact sheet §8). The user is
    # signed in by auto-logon at a restart (no other non-interactive sign-in exists), then signed out.
    if not (PIN_USER and PIN_PASSWORD):
        pytest.skip("needs a user with a PIN set up by hand: JCFIX_TEST_PIN_USER and JCFIX_TEST_PIN_PASSWORD")
    sid = sid_of(shell, PIN_USER)
    assert sid in markers(shell)["ngc_pin"] + markers(shell)["pin_provider"], "the PIN user has no PIN marker"
    _code, applied = fix("remove-pin", "--user", PIN_USER, "--run-id", run_id)
    assert applied["status"] == "pending", applied
    saved = shell.json(AUTOLOGON_SCRIPT, Mode="set", User=PIN_USER, Password=PIN_PASSWORD)
    try:
        restart(shell)
        session = wait_for("the PIN user's interactive session", lambda: shell.json(SESSION_OF_SCRIPT, Sid=sid))
    finally:
        shell.json(AUTOLOGON_SCRIPT, Mode="restore", Saved=saved)
    signed_in = markers(shell)
    record_property("markers_while_signed_in", {k: sid in v for k, v in signed_in.items()})
    shell.run("param([int] $Id) & (Join-Path $env:SystemRoot 'System32\\logoff.exe') $Id", Id=int(session))
    cleared = wait_for(
        "the PIN markers to go after sign-out",
        lambda: not any(sid in v for k, v in markers(shell).items() if k != "picture_password"),
        timeout=300,
    )
    assert cleared
    _code, done = fix("remove-pin", "--user", PIN_USER, "--run-id", run_id + "-2")
    assert (done["status"], done["data"]["after"]["hello_pin"]) == ("ok", False)
    assert done["data"]["after"]["pending_task"] is False  # the task removed itself after its one run


AUTOLOGON_SCRIPT = r"""
param([string] $Mode, [string] $User, [string] $Password, $Saved)
$key = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon'
$names = @('AutoAdminLogon', 'DefaultUserName', 'DefaultPassword', 'DefaultDomainName', 'AutoLogonCount')
if ($Mode -eq 'set') {
    $item = Get-Item -LiteralPath $key
    $previous = [ordered]@{}
    foreach ($name in $names) { $previous[$name] = $item.GetValue($name) }
    $values = @{
        AutoAdminLogon = '1'; DefaultUserName = $User; DefaultPassword = $Password
        DefaultDomainName = $env:COMPUTERNAME
    }
    foreach ($name in $values.Keys) { Set-ItemProperty -LiteralPath $key -Name $name -Value $values[$name] }
    Set-ItemProperty -LiteralPath $key -Name 'AutoLogonCount' -Value 1 -Type DWord
    ConvertTo-Json -Compress -InputObject $previous
    return
}
foreach ($name in $names) {
    $value = $Saved.$name
    if ($null -eq $value) { Remove-ItemProperty -LiteralPath $key -Name $name -ErrorAction SilentlyContinue }
    else { Set-ItemProperty -LiteralPath $key -Name $name -Value $value }
}
ConvertTo-Json $true
"""

SESSION_OF_SCRIPT = """
param([string] $Sid)
foreach ($process in @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'explorer.exe'")) {
    $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid -ErrorAction SilentlyContinue
    if ($owner -and $owner.ReturnValue -eq 0 -and $owner.Sid -eq $Sid) { ConvertTo-Json $process.SessionId; return }
}
ConvertTo-Json $null
"""


# ---- picture password (fact sheet §3: LogonUI\PicturePassword\<SID>, one forensic source) ---------------


def test_unconfirmed_picture_password_key(shell: HostShell, record_property: Any) -> None:
    seen = markers(shell)["picture_password"]
    record_property("picture_password_keys_on_host", seen)
    if not PICTURE_USER:
        pytest.skip(f"a picture password cannot be set non-interactively; set one up by hand and name the user "
                    f"in JCFIX_TEST_PICTURE_USER (keys seen on this host: {seen})")  # fmt: skip
    sid = sid_of(shell, PICTURE_USER)
    assert sid in seen, f"{PICTURE_USER} has a picture password but no LogonUI\\PicturePassword\\{sid} key"
    assert fact_user(diagnose(PICTURE_USER), sid)["picture_password"] is True


# ---- the sign-in policies on local users (fact sheet §3: worded for domain users) ------------------------

POLICY_SCRIPT = r"""
$item = Get-Item -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\System' -ErrorAction SilentlyContinue
$values = [ordered]@{}
if ($item) {
    foreach ($name in @($item.GetValueNames() | Sort-Object)) { $values[$name] = [string]$item.GetValue($name) }
}
ConvertTo-Json -Compress -InputObject $values
"""


@pytest.mark.parametrize(("command", "case"), [("remove-pin", "pin_ngc"), ("remove-picture-password", "picture")])
def test_unconfirmed_block_reenroll_policies_on_local_users(
    kit: dict[str, Any], shell: HostShell, run_id: str, command: str, case: str, record_property: Any
) -> None:
    # Whether these policies stop a LOCAL user enrolling cannot be observed without a person at the
    # sign-in screen (README: manual check). What jcfix must get right on a real host: it sets exactly
    # what it says, reports it as read back, and undo restores the policy key exactly.
    (spec,) = kit_accounts(kit, case)
    before = shell.json(POLICY_SCRIPT)
    _code, applied = fix(command, "--user", spec["name"], "--block-reenroll", "--run-id", run_id)
    try:
        assert applied["status"] in ("changed", "pending"), applied
        after = shell.json(POLICY_SCRIPT)
        changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
        record_property("policy_values_set", {name: after.get(name) for name in changed})
        assert changed, "--block-reenroll changed no policy value"
        said = " ".join(applied["data"]["planned"] + applied["data"]["notes"])
        assert all(name in said for name in changed), f"changed {changed}, said: {said}"
    finally:
        undo(run_id)
    assert shell.json(POLICY_SCRIPT) == before


# ---- PrincipalSource after the Internet* SAM values go (fact sheet §2: the Atlas method, unsupported) -----

PRINCIPAL_SCRIPT = "param([string] $Name) ConvertTo-Json ([string](Get-LocalUser -Name $Name).PrincipalSource)"
UNLINKED: dict[str, str] = {}


def test_unconfirmed_principalsource_after_removing_internet_sam_values(shell: HostShell, run_id: str) -> None:
    if not MSA_USER:
        pytest.skip("needs a local account linked to a Microsoft account (by hand): JCFIX_TEST_MSA_USER; irreversible")
    assert shell.json(PRINCIPAL_SCRIPT, Name=MSA_USER) == "MicrosoftAccount"
    password = secrets.token_urlsafe(18) + "Aa1!"
    args = ["--user", MSA_USER, "--method", "unlink", "--accept-data-loss", "--run-id", run_id]
    code, document = fix("convert-msa", *args, env={"JCFIX_NEW_PASSWORD": password})
    assert (code, document["status"]) == (ExitCode.CHANGED, "changed"), document
    # Without a restart: jcfix's own read-back said Local; the host, asked apart, must agree.
    assert document["data"]["after"]["principal_source"] == "Local"
    assert shell.json(PRINCIPAL_SCRIPT, Name=MSA_USER) == "Local"
    UNLINKED[MSA_USER] = password


@pytest.mark.reboot
@SKIP_UNLESS_REBOOT_ALLOWED
def test_unconfirmed_principalsource_after_removing_internet_sam_values_after_reboot(shell: HostShell) -> None:
    if MSA_USER not in UNLINKED:
        pytest.skip("the unlink test did not run in this session (needs JCFIX_TEST_MSA_USER)")
    restart(shell)
    assert shell.json(PRINCIPAL_SCRIPT, Name=MSA_USER) == "Local"
    assert "MSA_LINKED" not in codes(diagnose(MSA_USER), MSA_USER)


# ---- the endpoint and the SAM -----------------------------------------------------------------------------


def test_unconfirmed_default_endpoint_is_64bit_windows_powershell_51(shell: HostShell) -> None:
    # pypsrp connects to Microsoft.PowerShell by default (fact sheet §1); jcfix never names another.
    endpoint = shell.json(
        "ConvertTo-Json -Compress @{ version = [string]$PSVersionTable.PSVersion; "
        "edition = [string]$PSVersionTable.PSEdition; process64 = [Environment]::Is64BitProcess; "
        "os64 = [Environment]::Is64BitOperatingSystem }"
    )
    assert endpoint["version"].startswith("5.1.") and endpoint["edition"] == "Desktop", endpoint
    assert endpoint["process64"] == endpoint["os64"], endpoint


SYSTEM_SAM_SCRIPT = r"""
param([string] $Folder)
$result = Join-Path $Folder 'sam-probe.json'
$test = "ConvertTo-Json ([bool](Test-Path -LiteralPath 'HKLM:\SAM\SAM\Domains\Account\Users'))"
$probe = "$test | Set-Content -LiteralPath '$result'"
$action = New-ScheduledTaskAction -Execute (Join-Path $PSHOME 'powershell.exe') -Argument "-NoProfile -Command $probe"
$principal = New-ScheduledTaskPrincipal -UserId 'S-1-5-18' -LogonType ServiceAccount
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
$task = @{ TaskPath = '\jcfixkit\'; TaskName = 'sam-probe'; Action = $action; Principal = $principal }
$task['Settings'] = $settings
Register-ScheduledTask @task -Force -ErrorAction Stop | Out-Null
try {
    Start-ScheduledTask -TaskPath '\jcfixkit\' -TaskName 'sam-probe' -ErrorAction Stop
    $deadline = (Get-Date).AddSeconds(60)
    while (-not (Test-Path -LiteralPath $result) -and (Get-Date) -lt $deadline) { Start-Sleep -Seconds 1 }
    Start-Sleep -Seconds 1
    Get-Content -LiteralPath $result -Raw
}
finally {
    Unregister-ScheduledTask -TaskPath '\jcfixkit\' -TaskName 'sam-probe' -Confirm:$false -ErrorAction Stop
    Remove-Item -LiteralPath $result -Force -ErrorAction SilentlyContinue
}
"""


def test_unconfirmed_sam_readable_only_by_system(kit: dict[str, Any], shell: HostShell) -> None:
    # convert_msa's unlink runs as SYSTEM because an administrator cannot read the SAM (fact sheet §2).
    with pytest.raises(HostScriptError):
        shell.run("Get-ChildItem -LiteralPath 'HKLM:\\SAM\\SAM' -ErrorAction Stop | Out-Null")
    folder = kit["state_file"].rsplit("\\", 1)[0]  # the kit's admin-only folder
    assert shell.json(SYSTEM_SAM_SCRIPT, Folder=folder) is True


# ---- the agent's files (fact sheet §5: managedUsers.json beyond 'username' is unknown) --------------------


def test_unconfirmed_managed_users_json_shape(shell: HostShell) -> None:
    agent = shell.json("ConvertTo-Json ([bool](Get-Service -Name 'jumpcloud-agent' -ErrorAction SilentlyContinue))")
    if not agent:
        pytest.skip("no real JumpCloud agent on this host (the kit's files are fake, so they prove nothing)")
    diagnosis = diagnose()
    assert diagnosis["decided"]["managed_users_read"] is True
    assert not [n for n in diagnosis["decided"]["notes"] if "managedUsers.json" in n]
