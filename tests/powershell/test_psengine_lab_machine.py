"""The rendered templates on the simulated Windows machine of every built-in scenario: no lab bug, no error
record, no refusal the scenario does not call for; a fix's SYSTEM task runs through the engine (hosting.attach)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from toolkit.actions import registry
from toolkit.lab.host import LabHost
from toolkit.lab.powershell import Runspace, ScriptRun
from toolkit.lab.powershell.hosting import attach
from toolkit.lab.scenarios import builtin_names, load_scenario
from toolkit.lab.windows.build import build_machine

SCENARIOS = [name for name in builtin_names() if name != "random"]


def _hosts() -> list[tuple[str, LabHost]]:
    return [(f"{name}/{host.hostname}", host) for name in SCENARIOS for host in load_scenario(name)[1]]


def _run(machine: Any, action: str, parameters: list[tuple[str | None, Any]], **options: Any) -> ScriptRun:
    script = registry()[action].render_script(**options)
    return Runspace(machine).run_script(script, parameters)


def _document(run: ScriptRun) -> dict[str, Any]:
    assert run.lab_bug is None, run.lab_bug
    assert run.terminating is None, run.terminating
    assert run.errors == [], run.errors
    return json.loads(run.output[-1])


@pytest.mark.parametrize(("label", "host"), _hosts(), ids=[label for label, _ in _hosts()])
def test_collect_facts_and_list_users_run_clean_on_every_scenario_host(label: str, host: LabHost) -> None:
    machine = build_machine(host)
    facts = _document(_run(machine, "collect_facts", [("LogTailBytes", 64)]))
    assert facts["status"] == "ok", (label, facts["error"])
    names = {user["name"] for user in facts["data"]["users"]}
    assert names, label
    listed = _document(_run(machine, "list_users", [], localaccounts_fallback=True))
    assert listed["status"] == "ok", (label, listed["error"])


def test_msa_unlink_runs_its_system_task_through_the_engine_and_undo_reads_its_backups() -> None:
    machine = build_machine(load_scenario("msa")[1][0])
    attach(machine)
    done = _document(_run(machine, "convert_msa", [("UserName", "maria"), ("RunId", "r1"), ("Method", "unlink"),
                                                   ("AcceptDataLoss", True), ("NewPassword", "Xy!9abcdefgh")]))
    assert done["status"] == "changed", done["error"]
    assert done["data"]["after"]["principal_source"] == "Local"
    undone = _document(_run(machine, "undo_run", [("RunId", "r1")]))
    assert undone["status"] == "ok"
    assert undone["data"]["cannot"] and not undone["data"]["failed"]


def test_rename_then_undo_on_the_healthy_host() -> None:
    machine = build_machine(load_scenario("healthy")[1][0])
    renamed = _document(_run(machine, "rename_user", [("UserName", "alice"), ("NewName", "Alice Smith"),
                                                      ("RunId", "r1")]))
    assert renamed["status"] == "changed" and renamed["data"]["after"]["name"] == "Alice Smith"
    undone = _document(_run(machine, "undo_run", [("RunId", "r1")]))
    assert undone["status"] == "changed" and undone["data"]["restored"]
