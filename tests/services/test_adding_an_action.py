"""Adding an action is a template plus a declaration, nothing else (README, "Adding a remediation").

Both actions here live outside the package, in a folder named by ``JCFIX_ACTIONS_DIR`` (the documented
hook), and run on a lab host, whose simulated Windows runs the real scripts (Get-LocalUser, Set-LocalUser):
a read-only action through ``jcfix run`` (and, since it declares ``command=``, ``jcfix fix``, which gives it
no run id it does not declare), and a fix through ``jcfix fix`` in check mode, then applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jc_support import JcLab, jc_lab

from toolkit.exitcodes import ExitCode

TEMPLATE = """# jcfix-template: enabled_users v1
[CmdletBinding(SupportsShouldProcess)]
param(
    [string] $Prefix = ''
)
{% import '_common.ps1.j2' as common %}
{{ common.prelude() }}
{% call common.run('enabled_users', require_elevation=False) %}
    $names = @(Get-LocalUser -ErrorAction Stop |
        Where-Object { $_.Enabled -and ([string]$_.Name).StartsWith($Prefix) } |
        ForEach-Object { [ordered]@{ name = [string]$_.Name } })
    $JcfixResult['data'] = [ordered]@{ computer_name = [string]$env:COMPUTERNAME; users = @($names) }
{% endcall %}
"""

DECLARATION = """
from pydantic import BaseModel

from toolkit.actions import Action, Param


class EnabledUser(BaseModel):
    name: str


class EnabledUsers(BaseModel):
    computer_name: str
    users: list[EnabledUser]


ACTION = Action(
    name="enabled_users",
    template="enabled_users.ps1.j2",
    version=1,
    summary="The enabled local accounts whose name starts with Prefix.",
    params=(Param("Prefix", help="only names starting with this"),),
    result_model=EnabledUsers,
    changes_state=False,
    command="enabled-users",
)
"""

FIX_TEMPLATE = """# jcfix-template: set_description v1
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [string] $UserName,
    [Parameter(Mandatory)] [string] $Description,
    [Parameter(Mandatory)] [ValidatePattern('^[A-Za-z0-9-]{1,64}$')] [string] $RunId
)
{% import '_common.ps1.j2' as common %}
{{ common.prelude() }}
{% call common.run('set_description') %}
    $account = Get-LocalUser -Name $UserName -ErrorAction Stop
    $data = [ordered]@{
        user = $UserName; sid = [string]$account.SID.Value; check_mode = [bool]$WhatIfPreference; planned = @()
        before = [ordered]@{ description = [string]$account.Description }; after = $null; backups = @(); notes = @()
    }
    $JcfixResult['data'] = $data
    if ([string]$account.Description -ceq $Description) { $data.after = $data.before; return }
    $data.planned = @("set the description of '$UserName' to '$Description'")
    $JcfixResult['status'] = 'changed'
    if (-not $PSCmdlet.ShouldProcess("local account '$UserName'", 'Set description')) { return }
    Set-LocalUser -Name $UserName -Description $Description -ErrorAction Stop
    $JcfixResult['changed'] = $true
    $data.after = [ordered]@{ description = [string](Get-LocalUser -Name $UserName -ErrorAction Stop).Description }
{% endcall %}
"""

FIX_DECLARATION = """
from toolkit.actions import Action, Param, Remedy
from toolkit.actions._fixbase import FixData, run_id_param, user_param

ACTION = Action(
    name="set_description",
    template="set_description.ps1.j2",
    version=1,
    summary="Set a local account's description.",
    params=(
        user_param(),
        Param("Description", required=True, flag="--description", help="the new text"),
        run_id_param(),
    ),
    result_model=FixData,
    changes_state=True,
    command="set-description",
    remedies=(
        Remedy(
            findings=("TAKEOVER_READY",),
            params={"UserName": "{{ item.evidence.local_username }}", "Description": "ready for JumpCloud"},
            step="Describe the ready account",
        ),
    ),
)
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JcLab]:
    with jc_lab("jumpcloud", tmp_path_factory.mktemp("adding")) as running:
        yield running


@pytest.fixture()
def actions_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "my-actions"
    folder.mkdir()
    (folder / "enabled_users.ps1.j2").write_text(TEMPLATE, encoding="utf-8")
    (folder / "enabled_users.py").write_text(DECLARATION, encoding="utf-8")
    (folder / "set_description.ps1.j2").write_text(FIX_TEMPLATE, encoding="utf-8")
    (folder / "set_description.py").write_text(FIX_DECLARATION, encoding="utf-8")
    return folder


def test_a_new_read_only_action_runs_with_jcfix_run(lab: JcLab, actions_dir: Path) -> None:
    host = lab.fleet.hosts[0]
    result = lab.jcfix(
        "run", "enabled_users", *lab.winrm(), "--limit", host.hostname, "-o", "json", JCFIX_ACTIONS_DIR=str(actions_dir)
    )
    assert result.returncode == ExitCode.OK, result.stderr[-2000:]
    (document,) = json.loads(result.stdout)
    names = sorted(u["name"] for u in document["results"][0]["data"]["users"])
    assert names and "Administrator" not in names, document  # the lab's built-in Administrator is disabled
    prefix = names[0][:2]
    table = lab.jcfix(
        "run",
        "enabled_users",
        *lab.winrm(),
        "--limit",
        host.hostname,
        "--param",
        f"Prefix={prefix}",
        JCFIX_ACTIONS_DIR=str(actions_dir),
    )
    assert table.returncode == ExitCode.OK, table.stderr[-2000:]
    assert host.hostname in table.stdout and names[0] in table.stdout


def test_an_unknown_parameter_is_refused_before_connecting(lab: JcLab, actions_dir: Path) -> None:
    result = lab.jcfix("run", "enabled_users", *lab.winrm(), "--param", "Nope=1", JCFIX_ACTIONS_DIR=str(actions_dir))
    assert result.returncode == ExitCode.USAGE and "Nope" in result.stderr


def test_run_refuses_a_state_changing_action(lab: JcLab) -> None:
    result = lab.jcfix("run", "rename_user", *lab.winrm(), "--param", "UserName=a", "--param", "NewName=b")
    assert result.returncode == ExitCode.USAGE and "jcfix fix" in result.stderr


def test_a_read_only_action_with_a_command_runs_through_jcfix_fix_without_a_run_id(
    lab: JcLab, actions_dir: Path
) -> None:
    host = lab.fleet.hosts[0].hostname
    result = lab.jcfix(
        "fix", "enabled-users", *lab.winrm(), "--limit", host, "-o", "json", JCFIX_ACTIONS_DIR=str(actions_dir)
    )
    assert result.returncode == ExitCode.OK, result.stderr[-2000:]
    assert "RunId" not in result.stderr
    (document,) = json.loads(result.stdout)
    assert document["results"][0]["data"]["users"]


def test_a_new_fix_runs_in_check_mode_then_applies(lab: JcLab, actions_dir: Path) -> None:
    host = lab.fleet.hosts[0].hostname
    env = {"JCFIX_ACTIONS_DIR": str(actions_dir)}
    listed = lab.jcfix("run", "enabled_users", *lab.winrm(), "--limit", host, "-o", "json", **env)
    user = json.loads(listed.stdout)[0]["results"][0]["data"]["users"][0]["name"]
    fix = ["fix", "set-description", *lab.winrm(), "--limit", host, "--user", user, "--description", "set by a test"]

    check = lab.jcfix(*fix, "--check", "-o", "json", **env)
    assert check.returncode == ExitCode.CHANGED, check.stderr[-2000:]  # would change
    (planned,) = json.loads(check.stdout)
    data = planned["results"][0]["data"]
    assert planned["status"] == "changed" and data["check_mode"] and not planned["changed"]
    assert data["planned"] == [f"set the description of '{user}' to 'set by a test'"]

    applied = lab.jcfix(*fix, "-o", "json", **env)
    assert applied.returncode == ExitCode.CHANGED, applied.stderr[-2000:]
    (done,) = json.loads(applied.stdout)
    assert done["changed"] and done["results"][0]["data"]["after"] == {"description": "set by a test"}
    read = lab.jcfix("run", "list_users", *lab.winrm(), "--limit", host, "--param", f"Name={user}", "-o", "json")
    (listing,) = json.loads(read.stdout)
    assert listing["results"][0]["data"]["users"][0]["description"] == "set by a test"

    again = lab.jcfix(*fix, "-o", "json", **env)  # idempotent: nothing left to change
    (same,) = json.loads(again.stdout)
    assert again.returncode == ExitCode.OK and same["status"] == "ok" and not same["changed"]


def test_a_new_fix_with_a_remedy_joins_the_fix_playbook(lab: JcLab, actions_dir: Path) -> None:
    diagnosed = lab.jcfix("diagnose", *lab.winrm(), "-o", "json")
    ready = {
        (h["host"], f["evidence"]["local_username"])
        for h in json.loads(diagnosed.stdout)["hosts"]
        for f in h["findings"]
        if f["code"] == "TAKEOVER_READY"
    }
    assert ready, diagnosed.stdout[-2000:]
    played = lab.jcfix("play", "fix-takeover-blockers", *lab.winrm(), "-o", "json", JCFIX_ACTIONS_DIR=str(actions_dir))
    assert played.returncode in (ExitCode.CHANGED, ExitCode.BLOCKERS), played.stderr[-2000:]
    steps = [json.loads(line) for line in played.stdout.splitlines() if json.loads(line)["type"] == "step"]
    described = [s for s in steps if s["action"] == "set_description" and s["status"] != "skipped"]
    planned = {(s["host"], s["result"]["data"]["user"]) for s in described}
    assert planned == ready  # one check-mode step per TAKEOVER_READY finding, on every host
    assert all(s["whatif"] and s["step"].startswith("Describe the ready account") for s in described)
