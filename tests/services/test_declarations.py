"""What an action declares is what its script does: its run id, and the backup kinds ``jcfix undo`` restores."""

from __future__ import annotations

import re

import pytest

from toolkit.actions import RUN_ID_PARAM, Action, Param, registry, undo_kinds
from toolkit.results import Finding
from toolkit.templates import template_source

SAVED_KIND = re.compile(r"Save-JcfixBackup\b[^\n]*?-Kind '([a-z_]+)'")
UNDO_KINDS = re.compile(r"^\$RecordKinds = @\(([^)]*)\)", re.MULTILINE)


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_declared_undo_kinds_are_the_kinds_the_script_saves(action: Action) -> None:
    saved = set(SAVED_KIND.findall(template_source(action.template)))
    assert saved == set(action.undo_kinds)
    assert action.changes_state or not action.undo_kinds


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_a_run_id_is_declared_exactly_when_the_script_takes_one(action: Action) -> None:
    takes = re.search(r"\[string\] \$RunId\b", template_source(action.template)) is not None
    assert action.needs_run_id == takes


def test_undo_restores_every_kind_a_fix_declares() -> None:
    (listed,) = UNDO_KINDS.findall(template_source(registry()["undo_run"].template))
    restorable = set(re.findall(r"'([a-z_]+)'", listed))
    assert undo_kinds() and set(undo_kinds()) <= restorable


def test_needs_run_id_follows_the_parameters() -> None:
    reader = Action("reader", "x.ps1.j2", 1, "", (Param("Name"),), Finding, changes_state=False)
    writer = Action("writer", "x.ps1.j2", 1, "", (Param(RUN_ID_PARAM, required=True),), Finding, changes_state=True)
    assert not reader.needs_run_id and writer.needs_run_id


def test_one_finding_class() -> None:
    from toolkit import results, rules

    assert rules.Finding is results.Finding
    finding = Finding("CASE_MISMATCH", "blocker", "differs in case", subject="Jonathan", fix="jcfix fix rename")
    assert finding.to_dict()["subject"] == "Jonathan"
    script_side = Finding("X", "info", "from a script")
    assert "subject" not in script_side.model_dump() and script_side.to_dict()["subject"] is None


def test_diagnose_is_a_declared_pseudo_action() -> None:
    from toolkit.actions import pseudo_actions
    from toolkit.errors import UsageError
    from toolkit.playbook import parse_playbook

    diagnose = pseudo_actions()["diagnose"]
    assert diagnose.action.name == "collect_facts"
    assert [p.name for p in diagnose.params] == ["jc_users", "log_lines"]
    step = parse_playbook("name: d\nsteps:\n  - action: diagnose\n    params: {jc_users: [a]}\n", "pb.yml").steps[0]
    assert step.pseudo is diagnose and step.runs_action.name == "collect_facts" and not step.changes_state
    with pytest.raises(UsageError, match=r"pb.yml:4: steps\[0\].params.bogus: unknown parameter of diagnose"):
        parse_playbook("name: d\nsteps:\n  - action: diagnose\n    params: {bogus: 1}\n", "pb.yml")


def test_fix_findings_becomes_one_step_per_declared_remedy() -> None:
    from toolkit.actions import remedies
    from toolkit.errors import UsageError
    from toolkit.playbook import parse_playbook

    playbook = parse_playbook("name: f\nsteps:\n  - action: fix_findings\n    timeout: 30\n", "pb.yml")
    declared = remedies()
    assert [s.runs_action.name for s in playbook.steps] == [a.name for a, _ in declared]
    assert [s.index for s in playbook.steps] == list(range(len(declared)))
    for step, (_, remedy) in zip(playbook.steps, declared, strict=True):
        assert step.for_each is not None and step.for_each.findings == list(remedy.findings)
        assert step.timeout == 30 and step.changes_state
    with pytest.raises(UsageError, match="fix_findings takes no params"):
        parse_playbook("name: f\nsteps:\n  - action: fix_findings\n    params: {UserName: x}\n", "pb.yml")
