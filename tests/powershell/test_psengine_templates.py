"""The real rendered templates through the engine: every rendering compiles; collect_facts runs end to end."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest
from psengine_fakes import FakeMachine

from toolkit.actions import Action, registry
from toolkit.lab.powershell import Runspace
from toolkit.lab.powershell.compile_defs import compile_script


def renderings() -> list[tuple[str, str]]:
    out = []
    for action in registry().values():
        switches = [name for name, default in action.options.items() if isinstance(default, bool)]
        for values in itertools.product((True, False), repeat=len(switches)):
            options = {**action.options, **dict(zip(switches, values, strict=True))}
            label = ",".join(f"{k}={v}" for k, v in options.items()) or "defaults"
            out.append((f"{action.name}[{label}]", action.render_script(**options)))
    return out


@pytest.mark.parametrize(("label", "script"), renderings(), ids=[label for label, _ in renderings()])
def test_every_rendered_template_compiles(label: str, script: str) -> None:
    definition = compile_script(script)
    assert definition.end is not None, label


def _collect_facts() -> tuple[Action, FakeMachine]:
    machine = FakeMachine()
    machine.files["C:\\Program Files\\JumpCloud\\Plugins\\Contrib\\managedUsers.json"] = \
        b'[{"username":"alice"},{"username":"bob"}]'
    machine.registry["SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI\\NgcPin\\Credentials\\"
                     "S-1-5-21-1-1001"] = {}
    return registry()["collect_facts"], machine


def _document(output: list[Any]) -> dict[str, Any]:
    assert len(output) == 1 and isinstance(output[0], str)
    return json.loads(output[0])  # type: ignore[no-any-return]


@pytest.mark.parametrize("whatif", [False, True])
def test_collect_facts_runs_against_the_fake_machine(whatif: bool) -> None:
    action, machine = _collect_facts()
    if "users" not in action.render_script():
        pytest.skip("collect_facts template without the v2 data shape")
    result = Runspace(machine).run_script(action.render_script(), [("WhatIf", None)] if whatif else [],
                                          use_local_scope=True)
    assert result.terminating is None and result.errors == []
    document = _document(result.output)
    assert document["status"] == "ok", document["error"]
    data = document["data"]
    assert [u["name"] for u in data["users"]] == ["alice"]
    if "pin_markers" in data["users"][0]:
        assert data["users"][0]["pin_markers"] == ["ngc_pin"]
    assert {(s["session_id"], s["process"], s["sid"]) for s in data["sessions"]} == {
        (2, "explorer.exe", "S-1-5-21-1-1001"), (2, "dwm.exe", "S-1-5-90-0-2")}
    managed = data["agent"]["files"]["managed_users"]
    assert base64.b64decode(managed["base64"]) == b'[{"username":"alice"},{"username":"bob"}]'
    assert result.whatif_lines == []


def test_collect_facts_reports_a_non_elevated_session() -> None:
    action, machine = _collect_facts()
    if "elevated" not in action.render_script():
        pytest.skip("template without the elevation fact")
    machine.elevated = False
    document = _document(Runspace(machine).run_script(action.render_script(), use_local_scope=True).output)
    assert document["status"] == "ok"
    assert document["data"]["elevated"] is False


@pytest.mark.parametrize("signed_in", [True, False])
def test_rename_user_check_mode_reads_sessions_and_changes_nothing(signed_in: bool) -> None:
    # Defect 1 of issue 10 on the real template: under -WhatIf the session reads must still happen.
    action = registry()["rename_user"]
    params = {p.name for p in action.params}
    if not {"UserName", "NewName", "RunId"} <= params:
        pytest.skip("rename_user template without UserName/NewName/RunId")
    machine = FakeMachine()
    if not signed_in:
        machine.processes = [("svchost.exe", 0, "SYSTEM")]
    result = Runspace(machine).run_script(
        action.render_script(), [("UserName", "alice"), ("NewName", "Alice2"), ("RunId", "r1"), ("WhatIf", None)],
        use_local_scope=True)
    document = _document(result.output)
    assert machine.renamed == []
    assert document["changed"] is False
    if document["error"] is not None:
        assert document["error"]["fqid"] != "PropertyNotFoundStrict"
    if signed_in:
        assert document["error"]["category"] == "invalid_input"
        assert "signed in" in document["error"]["message"]
    else:
        assert document["error"] is None
        assert any("Alice2" in line for line in result.whatif_lines)
