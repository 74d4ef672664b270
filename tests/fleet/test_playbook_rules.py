"""Playbooks: validation errors name file, line and field; when/register/loop semantics on a lab host;
the expression language cannot reach Python; templated values only ever become parameters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from toolkit.errors import UsageError
from toolkit.expressions import ExpressionError, parse_expression, parse_value, render_value
from toolkit.lab import readback
from toolkit.lab.fleet import LabFleet
from toolkit.playbook import load_playbook, parse_playbook, shipped_playbooks
from toolkit.playbook_run import PlayOptions, run_playbook_on_host
from toolkit.runner import HostChannel, HostReport, skip_reason
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget

STEP = "name: t\nsteps:\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - action: rename_userz\n", r"pb.yml:3: steps\[0\].action: unknown action 'rename_userz'"),
        ("  - action: diagnose\n    registr: x\n", r"pb.yml:4: steps\[0\].registr: unknown field"),
        ("  - action: diagnose\n    timeout: -1\n", r"pb.yml:4: steps\[0\].timeout: Input should be greater than 0"),
        ("  - action: diagnose\n    when: 'a ==='\n", r"pb.yml:4: steps\[0\].when: unexpected"),
        ("  - action: diagnose\n    when: later.status == 'ok'\n", r"pb.yml:4: steps\[0\].when: unknown name 'later'"),
        (
            "  - action: rename_user\n    params:\n      UserName: a\n      NewName: '{{ item.subject }}'\n",
            r"pb.yml:6: steps\[0\].params.NewName: unknown name 'item'",
        ),
        (
            "  - action: rename_user\n    params:\n      UserName: a\n      NewNme: b\n",
            r"pb.yml:6: steps\[0\].params.NewNme: rename_user: unknown parameter 'NewNme'",
        ),
        ("  - action: rename_user\n    params: {UserName: a}\n", r"pb.yml:4: steps\[0\].params: .*NewName is required"),
        (
            "  - action: convert_msa\n    params: {UserName: a, NewPassword: x}\n",
            r"pb.yml:4: steps\[0\].params.NewPassword: a secret is never written in a playbook",
        ),
        ("  - action: diagnose\n    register: vars\n", r"pb.yml:4: steps\[0\].register: 'vars' cannot be a register"),
        ("  - action: diagnose\n    when: {findng: X}\n", r"pb.yml:4: steps\[0\].when: a mapping condition is"),
        ("  - action: diagnose\n    for_each: {findings: []}\n", r"pb.yml:4: steps\[0\].for_each.findings: "),
    ],
)
def test_playbook_errors_name_file_line_and_field(body: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_playbook(STEP + body, "pb.yml")


def test_playbook_needs_steps_and_a_name() -> None:
    with pytest.raises(UsageError, match=r"pb.yml:1: steps: required field missing"):
        parse_playbook("name: x\n", "pb.yml")
    with pytest.raises(UsageError, match=r"pb.yml:2: name: Input should be a valid string"):
        parse_playbook("steps: [{action: diagnose}]\nname: [1]\n", "pb.yml")


def test_every_shipped_playbook_validates_and_only_the_fix_playbook_can_change() -> None:
    names = shipped_playbooks()
    assert set(names) >= {
        "takeover-readiness.yml",
        "fix-takeover-blockers.yml",
        "provisioning-check.yml",
        "verify-after-bind.yml",
    }
    assert {n for n in names if load_playbook(n).can_change} == {"fix-takeover-blockers.yml"}


@pytest.mark.parametrize(
    "text",
    ["__import__('os')", "vars.__class__()", "open('x')", "1 + 1", "lambda: 1", "vars[0]", "a; b"],
)
def test_expressions_refuse_anything_but_the_small_grammar(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_dunder_paths_are_only_mapping_keys_never_attributes() -> None:
    scope = {"vars": {"x": "text"}}
    assert parse_expression("vars.x.__class__").evaluate(scope) is not str
    assert not parse_expression("defined(vars.x.__class__)").test(scope)


def test_templated_value_is_data_not_code() -> None:
    hostile = "x'; Remove-Item C:\\ -Recurse; '$(whoami)"
    value = render_value(parse_value({"NewName": "{{ item.subject }}"}), {"item": {"subject": hostile}})
    assert value == {"NewName": hostile}
    assert render_value(parse_value("{{ vars.users }}"), {"vars": {"users": ["a", "b"]}}) == ["a", "b"]
    with pytest.raises(ExpressionError, match="undefined"):
        render_value(parse_value("{{ item.nothing }}"), {"item": {}})


SEMANTICS = """\
name: semantics
vars: {greeting: hello, jc_users: [nobody]}
steps:
  - name: first diagnose
    action: diagnose
    register: facts
  - name: listed only when a CASE_MISMATCH was found
    action: list_users
    when: {finding: CASE_MISMATCH}
    register: listed
  - name: skipped by its condition
    action: list_users
    when: listed.status == 'skipped'
  - name: one rename per finding
    action: rename_user
    for_each: {findings: [CASE_MISMATCH], severity: blocker}
    params: {UserName: "{{ item.evidence.local_username }}", NewName: "{{ item.subject }}"}
    register: renames
  - name: loop over a list
    action: list_users
    loop: "{{ vars.jc_users }}"
    params: {Name: "{{ item }}"}
  - name: second diagnose reuses the facts (nothing changed in check mode)
    action: diagnose
    when: renames.changed == false and count(renames.results) == 1 and facts.blockers >= 1
"""


def _play(text: str, fleet: LabFleet, settings: ConnectionSettings, *, check_mode: bool) -> HostReport:
    endpoint = fleet.endpoints[0]
    host = fleet.hosts[0]
    target = HostTarget(
        endpoint.hostname, address=endpoint.address, port=endpoint.port, vars={"jc_users": list(host.jc_users)}
    )
    playbook = parse_playbook(text, "semantics.yml")
    with HostChannel(target, settings) as channel:
        return run_playbook_on_host(playbook, channel, PlayOptions(check_mode=check_mode, run_id="t-1"))


def test_when_register_and_loops_on_a_lab_host(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], lab_settings: ConnectionSettings
) -> None:
    fleet, _ = lab_fleet("case")
    report = _play(SEMANTICS, fleet, lab_settings, check_mode=True)
    rows = [(step.name, result.status) for step, result in report.results]
    assert rows == [
        ("first diagnose", "ok"),
        ("listed only when a CASE_MISMATCH was found", "ok"),
        ("skipped by its condition", "skipped"),
        ("one rename per finding [CASE_MISMATCH Jonathan]", "changed"),  # check mode: would change
        ("loop over a list [Jonathan]", "ok"),  # inventory vars override the playbook's vars
        ("second diagnose reuses the facts (nothing changed in check mode)", "ok"),
    ]
    rename_step, _ = report.results[3]
    assert rename_step.whatif and rename_step.rendered.parameters["NewName"] == "Jonathan"
    assert rename_step.rendered.parameters["RunId"] == "t-1"
    assert skip_reason(report.results[2][1]) == "condition is false: listed.status == 'skipped'"
    # Nothing changed: the lab account still has its old name, and the two diagnoses read facts once.
    assert readback.account(fleet.hosts[0], "Jonathan").name == "jonathan"  # type: ignore[union-attr]
    assert report.results[0][1] is report.results[5][1]
    assert report.status == "changed"


def test_a_failed_step_stops_its_host_unless_it_continues_on_error(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], lab_settings: ConnectionSettings
) -> None:
    fleet, _ = lab_fleet("case")
    text = (
        "name: stops\nsteps:\n"
        "  - action: rename_user\n    params: {UserName: no-such-user, NewName: x}\n"
        "  - action: list_users\n"
    )
    report = _play(text, fleet, lab_settings, check_mode=False)
    assert [r.status for _, r in report.results] == ["failed", "skipped"]
    assert skip_reason(report.results[1][1]) == "not run: step 1 (rename_user) failed"
    report = _play(text.replace("x}\n", "x}\n    continue_on_error: true\n"), fleet, lab_settings, check_mode=False)
    assert [r.status for _, r in report.results] == ["failed", "ok"]
    assert report.status == "failed"


def test_undefined_value_fails_the_step_with_its_name(
    lab_fleet: Callable[..., tuple[LabFleet, Path]], lab_settings: ConnectionSettings
) -> None:
    fleet, _ = lab_fleet("case")
    text = "name: undefined\nsteps:\n  - action: list_users\n    params: {Name: '{{ vars.missing }}'}\n"
    report = _play(text, fleet, lab_settings, check_mode=True)
    (_, result), *_ = report.results
    assert result.status == "failed" and result.error is not None
    assert result.error.category == "invalid_input" and "vars.missing }}' is undefined" in result.error.message
