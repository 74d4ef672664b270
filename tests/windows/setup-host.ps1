<#
.SYNOPSIS
    Builds, on a throwaway Windows 10/11 VM or a Windows CI runner, the cases of JumpCloud's
    "Troubleshoot: User Accounts on Windows" for jcfix's real-Windows test suite (-m windows), and
    removes them again.
.DESCRIPTION
    -Setup (elevated, 64-bit Windows PowerShell 5.1) creates, and records in a state file:
      * local accounts for the article's cases (see $KitAccounts below): a username with a space
        ('john smith'), a letter-case difference ('jonathan' for JumpCloud 'Jonathan'), a Full Name
        match ('jdoe' with Full Name 'jane.doe' for JumpCloud 'jane.doe'), a disabled account, two
        accounts the fake agent manages, one the agent "created", and the accounts that carry markers;
      * PIN and picture-password MARKERS: empty registry keys at the places jcfix reads
        (LogonUI\NgcPin\Credentials\<SID>, Credential Providers\{D6886603-...}\<SID>,
        LogonUI\PicturePassword\<SID>). They are markers only: no PIN or picture password is enrolled,
        Windows Hello is untouched, and each key holds a value saying so;
      * a fake JumpCloud agent folder (C:\Program Files\JumpCloud\Plugins\Contrib: jcagent.conf with a
        fake systemKey, a two-user managedUsers.json) and C:\Windows\Temp\jcagent.log with ERROR/WARN
        lines. It refuses to run at all when a real agent (service, folder, registry key or log) exists;
      * a test administrator (and a standard user allowed to use WinRM, for the refusal tests), with
        random passwords generated here and written only to files in an admin-only folder;
      * WinRM on this host: an HTTPS listener with a self-signed certificate whose public part is
        exported for jcfix's --ca-cert (default), or, with -Transport http, the HTTP listener with NTLM
        (WinRM message encryption; no server certificate is checked, so use it on loopback only).
    It prints nothing but one JSON summary: host, user, password file, CA file, the jcfix connection
    arguments, and the accounts of each case.
    -Cleanup removes everything the state file lists, in reverse order, restores every registry value
    it changed, and removes the state folder. It reports what it could not remove and fails then.
    Facts used here, with sources: fact sheet (shared research) §1-§5 and §8; the markers' paths are
    undocumented by Microsoft (UNCONFIRMED there), which is why the suite checks them on real Windows.
.PARAMETER Setup
    Build the cases (refuses when the host was already set up, or looks like a real JumpCloud device).
.PARAMETER Cleanup
    Remove everything a previous -Setup recorded.
.PARAMETER Transport
    https (default: a self-signed certificate, exported for --ca-cert) or http (NTLM on loopback).
.PARAMETER ManagedUsersWithBom
    Write managedUsers.json with a UTF-8 byte order mark (the suite checks both forms anyway).
.PARAMETER StateDirectory
    The admin-only folder for the state file, the passwords and the exported certificate.
.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File tests\windows\setup-host.ps1 -Setup > jcfix-test-host.json
.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File tests\windows\setup-host.ps1 -Cleanup
#>
[CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Setup')]
param(
    [Parameter(Mandatory, ParameterSetName = 'Setup')] [switch] $Setup,
    [Parameter(Mandatory, ParameterSetName = 'Cleanup')] [switch] $Cleanup,
    [Parameter(ParameterSetName = 'Setup')] [ValidateSet('https', 'http')] [string] $Transport = 'https',
    [Parameter(ParameterSetName = 'Setup')] [switch] $ManagedUsersWithBom,
    [string] $StateDirectory = (Join-Path $env:ProgramData 'jcfix-testkit')
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# The accounts of each case: username, Full Name, the JumpCloud username the suite expects, and the case.
$KitAccounts = @(
    @{ name = 'john smith'; full_name = 'John Smith'; jc_user = 'john.smith'; case = 'space' }
    @{ name = 'jonathan'; full_name = 'Jonathan'; jc_user = 'Jonathan'; case = 'case' }
    @{ name = 'jdoe'; full_name = 'jane.doe'; jc_user = 'jane.doe'; case = 'fullname' }
    @{ name = 'karen'; full_name = 'Karen Disabled'; jc_user = 'karen'; case = 'disabled' }
    @{ name = 'pat'; full_name = 'Pat Pin'; jc_user = 'pat'; case = 'pin_ngc' }
    @{ name = 'priya'; full_name = 'Priya Provider'; jc_user = 'priya'; case = 'pin_provider' }
    @{ name = 'quinn'; full_name = 'Quinn Picture'; jc_user = 'quinn'; case = 'picture' }
    @{ name = 'alice'; full_name = 'Alice Managed'; jc_user = 'alice'; case = 'managed' }
    @{ name = 'bob'; full_name = 'Bob Managed'; jc_user = 'bob'; case = 'managed' }
    @{ name = 'carol'; full_name = 'Carol Provisioned'; jc_user = 'carol'; case = 'provisioned' }
)
$AdminName = 'jcfixkit'
$StandardName = 'jcfixkitstd'
$AgentCreatedDescription = 'Created by Jumpcloud'  # what the agent writes (fact sheet §0, ADMU source)
$KitDescription = 'jcfix test kit account (tests/windows/setup-host.ps1)'

$LogonUiKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication\LogonUI'
$PinProviderKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication\Credential Providers\{D6886603-9D2F-4EB2-B667-1971041FA96B}'
$MarkerNote = 'jcfix test kit marker only: no PIN or picture password is enrolled'
$SystemPolicyKey = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\System'
$UacPolicyKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
# Not $env:ProgramFiles: this script refuses WOW64, but the agent lives in the 64-bit folder (fact sheet §8).
$ProgramFiles64 = $env:ProgramW6432
if ([string]::IsNullOrEmpty($ProgramFiles64)) { $ProgramFiles64 = $env:ProgramFiles }  # unset on 32-bit Windows
$AgentRoot = Join-Path $ProgramFiles64 'JumpCloud'
$AgentLog = Join-Path $env:SystemRoot 'Temp\jcagent.log'
$AgentRegistryKey = 'HKLM:\SOFTWARE\JumpCloud'
$JcfixDataFolder = Join-Path $env:ProgramData 'jcfix'
$AdministratorsSid = 'S-1-5-32-544'
$RemoteManagementUsersSid = 'S-1-5-32-580'
$SystemSid = 'S-1-5-18'

$StateFile = Join-Path $StateDirectory 'state.json'
$AdminPasswordFile = Join-Path $StateDirectory 'admin-password.txt'
$AccountPasswordFile = Join-Path $StateDirectory 'account-passwords.json'
$CaFile = Join-Path $StateDirectory 'winrm-ca.pem'
$KitRecords = New-Object System.Collections.ArrayList

function Test-KitElevated {
    [CmdletBinding()]
    [OutputType([bool])]
    param()
    $principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
    $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
}

function Get-KitRandomPassword {
    # 24 characters from a CSPRNG; the fixed tail meets any complexity policy (upper, lower, digit, symbol).
    [CmdletBinding()]
    [OutputType([string])]
    param()
    $alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'
    $bytes = New-Object byte[] 24
    $generator = [Security.Cryptography.RandomNumberGenerator]::Create()
    try { $generator.GetBytes($bytes) } finally { $generator.Dispose() }
    $chars = foreach ($byte in $bytes) { $alphabet[$byte % $alphabet.Length] }
    (-join $chars) + 'Aa1!'
}

function ConvertTo-KitSecureString {
    # Built character by character: ConvertTo-SecureString -AsPlainText would be flagged, and is no safer.
    [CmdletBinding()]
    [OutputType([Security.SecureString])]
    param([Parameter(Mandatory)] [string] $Text)
    $secure = New-Object Security.SecureString
    foreach ($char in $Text.ToCharArray()) { $secure.AppendChar($char) }
    $secure.MakeReadOnly()
    $secure
}

function New-KitAdminOnlyDirectory {
    # Protected DACL (SYSTEM and Administrators only, owner Administrators) set in the creating call,
    # because C:\ProgramData lets any user create and own a folder first (fact sheet §8).
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)] [string] $Path)
    if (Test-Path -LiteralPath $Path) {
        $acl = Get-Acl -LiteralPath $Path
        $owner = $acl.GetOwner([Security.Principal.SecurityIdentifier]).Value
        if (($owner -ne $AdministratorsSid -and $owner -ne $SystemSid) -or -not $acl.AreAccessRulesProtected) {
            throw "refusing to use '$Path': it exists and is owned by $owner or inherits its permissions"
        }
        return
    }
    if (-not $PSCmdlet.ShouldProcess($Path, 'Create an admin-only folder')) { return }
    $admins = New-Object Security.Principal.SecurityIdentifier($AdministratorsSid)
    $security = New-Object Security.AccessControl.DirectorySecurity
    $security.SetAccessRuleProtection($true, $false)
    $security.SetOwner($admins)
    foreach ($sid in @($AdministratorsSid, $SystemSid)) {
        $identity = New-Object Security.Principal.SecurityIdentifier($sid)
        $rule = New-Object Security.AccessControl.FileSystemAccessRule($identity, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
        $security.AddAccessRule($rule)
    }
    [void][IO.Directory]::CreateDirectory($Path, $security)
}

function Save-KitState {
    [CmdletBinding(SupportsShouldProcess)]
    param()
    if (-not $PSCmdlet.ShouldProcess($StateFile, 'Write the state file')) { return }
    $state = [ordered]@{ version = 1; created = @($KitRecords) }
    Set-Content -LiteralPath $StateFile -Value (ConvertTo-Json -InputObject $state -Depth 6) -Encoding UTF8
}

function Add-KitRecord {
    # Saved after every change, so a setup that fails midway can still be cleaned up.
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)] [System.Collections.IDictionary] $Record)
    [void]$KitRecords.Add($Record)
    Save-KitState
}

function Write-KitSecretFile {
    # Secrets only ever go to files inside the admin-only state folder; nothing prints them.
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Text)
    if (-not $PSCmdlet.ShouldProcess($Path, 'Write a secret file')) { return }
    [IO.File]::WriteAllText($Path, $Text, (New-Object Text.UTF8Encoding($false)))
}

function Test-KitPreflight {
    # Everything that would make the set-up unsafe is checked before anything changes.
    [CmdletBinding()]
    [OutputType([string[]])]
    param()
    $problems = New-Object System.Collections.Generic.List[string]
    if (-not (Test-KitElevated)) { $problems.Add('run this in an elevated Windows PowerShell') }
    if ([Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess) {
        $problems.Add('run this in 64-bit Windows PowerShell (this process is WOW64: LocalAccounts and HKLM\SOFTWARE are redirected)')
    }
    if ($PSVersionTable.PSEdition -ne 'Desktop') { $problems.Add('run this in Windows PowerShell 5.1 (powershell.exe), not pwsh') }
    if (Test-Path -LiteralPath $StateFile) { $problems.Add("already set up ($StateFile exists): run -Cleanup first") }
    if (Get-Service -Name 'jumpcloud-agent' -ErrorAction SilentlyContinue) { $problems.Add('a real JumpCloud agent service is installed') }
    foreach ($path in @($AgentRoot, $AgentLog, $AgentRegistryKey)) {
        if (Test-Path -LiteralPath $path) { $problems.Add("'$path' exists: this looks like a real JumpCloud device") }
    }
    foreach ($name in @($KitAccounts | ForEach-Object { $_.name }) + @($AdminName, $StandardName)) {
        if (Get-LocalUser -Name $name -ErrorAction SilentlyContinue) { $problems.Add("a local account named '$name' exists already") }
    }
    if ($Transport -eq 'https' -and (Test-KitHttpsListener)) {
        $problems.Add('an HTTPS WinRM listener exists already: use it by hand, or run with -Transport http')
    }
    $problems
}

function Test-KitHttpsListener {
    [CmdletBinding()]
    [OutputType([bool])]
    param()
    if ((Get-Service -Name 'WinRM').Status -ne 'Running') { return $false }
    $listeners = @(Get-WSManInstance -ResourceURI 'winrm/config/Listener' -Enumerate)
    [bool](@($listeners | Where-Object { $_.Transport -eq 'HTTPS' }).Count)
}

function Get-KitRegistryValue {
    # A value's current state for the record: whether it exists, its data and its kind.
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Name)
    $item = Get-Item -LiteralPath $Path -ErrorAction SilentlyContinue
    if ($null -eq $item -or $null -eq $item.GetValue($Name)) { return [ordered]@{ exists = $false; data = $null; kind = $null } }
    [ordered]@{ exists = $true; data = $item.GetValue($Name); kind = [string]$item.GetValueKind($Name) }
}

function New-KitRegistryKey {
    # Creates the key and every missing parent, recording each one it created (deepest last).
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)] [string] $Path, [string] $Note)
    $missing = New-Object System.Collections.Generic.List[string]
    $cursor = $Path
    while (-not (Test-Path -LiteralPath $cursor)) {
        $missing.Insert(0, $cursor)
        $cursor = Split-Path -Path $cursor -Parent
    }
    foreach ($key in $missing) {
        if (-not $PSCmdlet.ShouldProcess($key, 'Create registry key')) { return }
        [void](New-Item -Path $key -Force)
        Add-KitRecord -Record ([ordered]@{ kind = 'registry_key'; path = $key })
    }
    if ($Note -and $PSCmdlet.ShouldProcess($Path, 'Write the marker note')) {
        [void](New-ItemProperty -LiteralPath $Path -Name 'JcfixTestKit' -Value $Note -PropertyType String -Force)
    }
}

function New-KitAccount {
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [string] $FullName,
        [Parameter(Mandatory)] [string] $Description,
        [Parameter(Mandatory)] [string] $Password
    )
    if (-not $PSCmdlet.ShouldProcess($Name, 'Create local account')) { return $null }
    $user = New-LocalUser -Name $Name -FullName $FullName -Description $Description -Password (ConvertTo-KitSecureString -Text $Password) -AccountNeverExpires -PasswordNeverExpires
    Add-KitRecord -Record ([ordered]@{ kind = 'user'; name = $Name; sid = [string]$user.SID.Value })
    [string]$user.SID.Value
}

function Set-KitRegistryValue {
    # Records the previous state first, so -Cleanup can put it back exactly.
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Name, [Parameter(Mandatory)] [int] $Value)
    $previous = Get-KitRegistryValue -Path $Path -Name $Name
    if (-not $PSCmdlet.ShouldProcess("$Path\$Name", "Set to $Value")) { return }
    New-KitRegistryKey -Path $Path
    Add-KitRecord -Record ([ordered]@{ kind = 'registry_value'; path = $Path; name = $Name; previous = $previous })
    [void](New-ItemProperty -LiteralPath $Path -Name $Name -Value $Value -PropertyType DWord -Force)
}

function Add-KitRestorePoint {
    # Registry values jcfix's own fixes may change during the suite: -Cleanup restores them as found now.
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Name)
    if (-not $PSCmdlet.ShouldProcess("$Path\$Name", 'Record the value for -Cleanup')) { return }
    Add-KitRecord -Record ([ordered]@{ kind = 'registry_value'; path = $Path; name = $Name; previous = (Get-KitRegistryValue -Path $Path -Name $Name) })
}

function New-KitAccountSet {
    # The article's cases; returns the summary's account list and the passwords (kept out of the summary).
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param()
    $passwords = [ordered]@{}
    $accounts = New-Object System.Collections.ArrayList
    foreach ($spec in $KitAccounts) {
        $password = Get-KitRandomPassword
        $description = $KitDescription
        if ($spec.case -eq 'provisioned') { $description = $AgentCreatedDescription }
        $sid = New-KitAccount -Name $spec.name -FullName $spec.full_name -Description $description -Password $password
        $passwords[$spec.name] = $password
        if ($sid -and $spec.case -eq 'disabled') { Disable-LocalUser -SID $sid }
        if ($sid -and $spec.case -eq 'pin_ngc') { New-KitRegistryKey -Path (Join-Path $LogonUiKey "NgcPin\Credentials\$sid") -Note $MarkerNote }
        if ($sid -and $spec.case -eq 'pin_provider') { New-KitRegistryKey -Path (Join-Path $PinProviderKey $sid) -Note $MarkerNote }
        if ($sid -and $spec.case -eq 'picture') { New-KitRegistryKey -Path (Join-Path $LogonUiKey "PicturePassword\$sid") -Note $MarkerNote }
        [void]$accounts.Add([ordered]@{ name = $spec.name; full_name = $spec.full_name; jc_user = $spec.jc_user; case = $spec.case; sid = $sid })
    }
    [ordered]@{ accounts = @($accounts); passwords = $passwords }
}

function New-KitConnectionAccount {
    # The suite signs in as a dedicated administrator, and uses a standard WinRM user for the refusals.
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param()
    $adminPassword = Get-KitRandomPassword
    $standardPassword = Get-KitRandomPassword
    $adminSid = New-KitAccount -Name $AdminName -FullName 'jcfix test kit admin' -Description $KitDescription -Password $adminPassword
    $standardSid = New-KitAccount -Name $StandardName -FullName 'jcfix test kit standard user' -Description $KitDescription -Password $standardPassword
    if ($adminSid) { Add-LocalGroupMember -SID $AdministratorsSid -Member $AdminName }
    if ($standardSid) { Add-LocalGroupMember -SID $RemoteManagementUsersSid -Member $StandardName }
    # UAC remote restrictions filter a non-RID-500 admin's network token (KB 951016, fact sheet §8):
    # the suite needs a full token, and its defect-12 test turns the filter back on by itself.
    Set-KitRegistryValue -Path $UacPolicyKey -Name 'LocalAccountTokenFilterPolicy' -Value 1
    [ordered]@{ admin = $adminPassword; standard = $standardPassword }
}

function New-KitAgentFile {
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Text, [switch] $Bom)
    if (-not $PSCmdlet.ShouldProcess($Path, 'Write fake agent file')) { return }
    [IO.File]::WriteAllText($Path, $Text, (New-Object Text.UTF8Encoding($Bom.IsPresent)))
    Add-KitRecord -Record ([ordered]@{ kind = 'file'; path = $Path })
}

function New-KitAgent {
    # A fake agent: files only, no service (so diagnose also reports AGENT_NOT_INSTALLED).
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([string])]
    param()
    $contrib = Join-Path $AgentRoot 'Plugins\Contrib'
    if (-not $PSCmdlet.ShouldProcess($contrib, 'Create a fake JumpCloud agent folder')) { return $null }
    $created = $AgentRoot
    [void](New-Item -ItemType Directory -Path $contrib -Force)
    Add-KitRecord -Record ([ordered]@{ kind = 'directory'; path = $created })
    $keyBytes = New-Object byte[] 12
    $generator = [Security.Cryptography.RandomNumberGenerator]::Create()
    try { $generator.GetBytes($keyBytes) } finally { $generator.Dispose() }
    $systemKey = -join @($keyBytes | ForEach-Object { $_.ToString('x2') })
    $conf = '{"agentServerHost":"agent.jumpcloud.com","systemKey":"' + $systemKey + '","jcfixTestKit":"fake agent"}'
    New-KitAgentFile -Path (Join-Path $contrib 'jcagent.conf') -Text $conf
    $managed = '[{"username":"alice"},{"username":"bob"}]'
    New-KitAgentFile -Path (Join-Path $contrib 'managedUsers.json') -Text $managed -Bom:$ManagedUsersWithBom
    New-KitAgentFile -Path (Join-Path $contrib 'version.txt') -Text '0.0.0-jcfix-test-kit'
    $stamp = (Get-Date).ToString('yyyy/MM/dd HH:mm:ss')
    $log = @(
        "$stamp [4242] [INFO] jcfix test kit: fake agent log, not written by JumpCloud"
        "$stamp [4242] [WARN] jcfix test kit: User karen is disabled"
        "$stamp [4242] [ERROR] jcfix test kit: Locking user jonathan. User reached maximum failed password attempts (3)"
        "$stamp [4242] [INFO] jcfix test kit: end"
    ) -join "`r`n"
    New-KitAgentFile -Path $AgentLog -Text ($log + "`r`n")
    # The agent's pointer to its configuration (fact sheet §5); 64-bit view, as the agent writes it.
    $pointer = Join-Path $AgentRegistryKey 'JumpCloud Agent\ConfigFile'
    New-KitRegistryKey -Path $pointer
    Set-Item -LiteralPath $pointer -Value (Join-Path $contrib 'jcagent.conf')
    $systemKey
}

function Enable-KitWinRM {
    # WinRM for the suite on this host; returns the jcfix connection settings.
    [CmdletBinding(SupportsShouldProcess)]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param()
    $service = Get-Service -Name 'WinRM'
    $listeners = @()
    if ($service.Status -eq 'Running') { $listeners = @(Get-WSManInstance -ResourceURI 'winrm/config/Listener' -Enumerate) }
    if (-not @($listeners | Where-Object { $_.Transport -eq 'HTTP' }).Count -and $PSCmdlet.ShouldProcess('WinRM', 'Enable-PSRemoting')) {
        Add-KitRecord -Record ([ordered]@{ kind = 'psremoting'; startup = [string]$service.StartType; status = [string]$service.Status })
        # Client SKUs refuse on a Public network profile without this switch.
        [void](Enable-PSRemoting -SkipNetworkProfileCheck -Force -WarningAction SilentlyContinue)
    }
    $settings = [ordered]@{ host = 'localhost'; scheme = $Transport; auth = 'ntlm'; port = 5985; ca_cert = $null }
    if ($Transport -eq 'http') { return $settings }
    if (-not $PSCmdlet.ShouldProcess('WinRM', 'Add an HTTPS listener with a self-signed certificate')) { return $settings }
    $certificate = New-SelfSignedCertificate -DnsName 'localhost' -CertStoreLocation 'Cert:\LocalMachine\My' -FriendlyName 'jcfix test kit WinRM' -NotAfter (Get-Date).AddDays(7)
    Add-KitRecord -Record ([ordered]@{ kind = 'certificate'; thumbprint = $certificate.Thumbprint })
    [void](New-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{ Address = '*'; Transport = 'HTTPS' } -ValueSet @{ Hostname = 'localhost'; CertificateThumbprint = $certificate.Thumbprint })
    Add-KitRecord -Record ([ordered]@{ kind = 'listener'; transport = 'HTTPS'; address = '*' })
    $pem = "-----BEGIN CERTIFICATE-----`n" + [Convert]::ToBase64String($certificate.RawData, 'InsertLineBreaks') + "`n-----END CERTIFICATE-----`n"
    [IO.File]::WriteAllText($CaFile, $pem, (New-Object Text.ASCIIEncoding))
    $settings.port = 5986
    $settings.ca_cert = $CaFile
    $settings
}

function Invoke-KitSetup {
    [CmdletBinding(SupportsShouldProcess)]
    param()
    $problems = @(Test-KitPreflight)
    if ($problems.Count) { throw ('refusing to set up: ' + ($problems -join '; ')) }
    New-KitAdminOnlyDirectory -Path $StateDirectory
    if (-not (Test-Path -LiteralPath $JcfixDataFolder)) {
        # Not created here: jcfix creates it during the suite, and -Cleanup removes it again.
        Add-KitRecord -Record ([ordered]@{ kind = 'created_later'; path = $JcfixDataFolder })
    }
    Add-KitRestorePoint -Path $SystemPolicyKey -Name 'AllowDomainPINLogon'
    Add-KitRestorePoint -Path $SystemPolicyKey -Name 'BlockDomainPicturePassword'
    $cases = New-KitAccountSet
    $connection = New-KitConnectionAccount
    $systemKey = New-KitAgent
    $winrm = Enable-KitWinRM
    $passwords = [ordered]@{ accounts = $cases.passwords; standard_user = $StandardName; standard_password = $connection.standard }
    Write-KitSecretFile -Path $AdminPasswordFile -Text $connection.admin
    Write-KitSecretFile -Path $AccountPasswordFile -Text (ConvertTo-Json -InputObject $passwords -Depth 4)
    $arguments = @('--' + $winrm.scheme, '--port', [string]$winrm.port, '--auth', $winrm.auth)
    if ($winrm.ca_cert) { $arguments += @('--ca-cert', $winrm.ca_cert) }
    $notes = @('PIN and picture-password keys are markers only: nothing is enrolled')
    if ($Transport -eq 'http') { $notes += 'HTTP listener with NTLM message encryption: no server certificate is checked; loopback only' }
    [ordered]@{
        host                = $winrm.host
        user                = "$env:COMPUTERNAME\$AdminName"
        password_file       = $AdminPasswordFile
        account_password_file = $AccountPasswordFile
        ca_cert             = $winrm.ca_cert
        scheme              = $winrm.scheme
        port                = $winrm.port
        auth                = $winrm.auth
        jcfix_args          = ($arguments -join ' ')
        state_file          = $StateFile
        what_if             = [bool]$WhatIfPreference
        computer_name       = $env:COMPUTERNAME
        os_version          = [string][Environment]::OSVersion.Version
        ps_version          = [string]$PSVersionTable.PSVersion
        standard_user       = "$env:COMPUTERNAME\$StandardName"
        agent               = [ordered]@{ install_dir = $AgentRoot; system_key = $systemKey; managed_users = @('alice', 'bob'); bom = $ManagedUsersWithBom.IsPresent; log = $AgentLog }
        accounts            = $cases.accounts
        notes               = $notes
    }
}

function Remove-KitRecord {
    # Undoes one record; absent things are already removed.
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory)] [object] $Record)
    switch ([string]$Record.kind) {
        'user' {
            $task = "remove-pin-$($Record.sid)"
            if (Get-ScheduledTask -TaskPath '\jcfix\' -TaskName $task -ErrorAction SilentlyContinue) {
                if ($PSCmdlet.ShouldProcess($task, 'Unregister the leftover jcfix task')) { Unregister-ScheduledTask -TaskPath '\jcfix\' -TaskName $task -Confirm:$false -ErrorAction Stop }
            }
            foreach ($userProfile in @(Get-CimInstance -ClassName Win32_UserProfile -Filter "SID = '$($Record.sid)'")) {
                if ($PSCmdlet.ShouldProcess($userProfile.LocalPath, 'Remove the profile')) { Remove-CimInstance -InputObject $userProfile }
            }
            if (Get-LocalUser -SID $Record.sid -ErrorAction SilentlyContinue) {
                if ($PSCmdlet.ShouldProcess($Record.name, 'Remove local account')) { Remove-LocalUser -SID $Record.sid }
            }
        }
        'registry_key' {
            if ((Test-Path -LiteralPath $Record.path) -and $PSCmdlet.ShouldProcess($Record.path, 'Remove registry key')) { Remove-Item -LiteralPath $Record.path -Recurse -Force }
        }
        'registry_value' {
            if (-not $PSCmdlet.ShouldProcess("$($Record.path)\$($Record.name)", 'Restore registry value')) { return }
            if ($Record.previous.exists) {
                if (-not (Test-Path -LiteralPath $Record.path)) { [void](New-Item -Path $Record.path -Force) }
                [void](New-ItemProperty -LiteralPath $Record.path -Name $Record.name -Value $Record.previous.data -PropertyType $Record.previous.kind -Force)
            }
            elseif ((Test-Path -LiteralPath $Record.path) -and $null -ne (Get-Item -LiteralPath $Record.path).GetValue($Record.name)) {
                Remove-ItemProperty -LiteralPath $Record.path -Name $Record.name
            }
        }
        'file' {
            if ((Test-Path -LiteralPath $Record.path) -and $PSCmdlet.ShouldProcess($Record.path, 'Remove file')) { Remove-Item -LiteralPath $Record.path -Force }
        }
        'directory' {
            if ((Test-Path -LiteralPath $Record.path) -and $PSCmdlet.ShouldProcess($Record.path, 'Remove folder')) { Remove-Item -LiteralPath $Record.path -Recurse -Force }
        }
        'created_later' {
            if ((Test-Path -LiteralPath $Record.path) -and $PSCmdlet.ShouldProcess($Record.path, 'Remove what jcfix created during the suite')) { Remove-Item -LiteralPath $Record.path -Recurse -Force }
        }
        'certificate' {
            $path = "Cert:\LocalMachine\My\$($Record.thumbprint)"
            if ((Test-Path -LiteralPath $path) -and $PSCmdlet.ShouldProcess($path, 'Remove certificate')) { Remove-Item -LiteralPath $path }
        }
        'listener' {
            if ($PSCmdlet.ShouldProcess("WinRM listener $($Record.transport)", 'Remove')) {
                Remove-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{ Address = [string]$Record.address; Transport = [string]$Record.transport }
            }
        }
        'psremoting' {
            if ($PSCmdlet.ShouldProcess('WinRM', 'Disable-PSRemoting and restore the service')) {
                Disable-PSRemoting -Force
                Remove-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{ Address = '*'; Transport = 'HTTP' } -ErrorAction SilentlyContinue
                if ($Record.status -ne 'Running') { Stop-Service -Name 'WinRM' -Force }
                Set-Service -Name 'WinRM' -StartupType ([string]$Record.startup)
            }
        }
        default { throw "unknown record kind '$($Record.kind)'" }
    }
}

function Invoke-KitCleanup {
    [CmdletBinding(SupportsShouldProcess)]
    param()
    if (-not (Test-KitElevated)) { throw 'run -Cleanup in an elevated Windows PowerShell' }
    if (-not (Test-Path -LiteralPath $StateFile)) {
        # Nothing recorded (never set up, or a set-up refused before its first change): nothing to remove.
        return [ordered]@{ cleaned = $true; removed = 0; failed = @(); state_file = $StateFile; what_if = [bool]$WhatIfPreference }
    }
    $state = Get-Content -LiteralPath $StateFile -Raw -Encoding UTF8 | ConvertFrom-Json
    # Assigned first, then enumerated: 5.1's ConvertFrom-Json sends an array down a pipeline as one object.
    $records = @($state.created)
    [array]::Reverse($records)
    $failed = New-Object System.Collections.Generic.List[string]
    $removed = 0
    foreach ($record in $records) {
        try {
            Remove-KitRecord -Record $record
            $removed++
        }
        catch { $failed.Add("$($record.kind): $($_.Exception.Message)") }
    }
    if ($failed.Count -eq 0 -and $PSCmdlet.ShouldProcess($StateDirectory, 'Remove the state folder')) {
        Remove-Item -LiteralPath $StateDirectory -Recurse -Force
    }
    [ordered]@{ cleaned = ($failed.Count -eq 0); removed = $removed; failed = @($failed); state_file = $StateFile; what_if = [bool]$WhatIfPreference }
}

if ($Cleanup) { $summary = Invoke-KitCleanup } else { $summary = Invoke-KitSetup }
ConvertTo-Json -InputObject $summary -Depth 6 -Compress
if ($Cleanup -and -not $summary.cleaned) { throw ('cleanup incomplete: ' + ($summary.failed -join '; ')) }
