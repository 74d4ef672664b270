"""Issue 13 item 10 (and the --limit part of item 8): --where, --from-run, --limit @RUN:kind, did you mean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from toolkit.actions import get_action
from toolkit.errors import UsageError
from toolkit.history import HistoryRecorder
from toolkit.inventory import apply_limit
from toolkit.models import HostReport, Step
from toolkit.report.recorders import run_meta, run_summary
from toolkit.results import Finding, ResultDocument, failed
from toolkit.services.targeting import (
    Condition,
    parse_where,
    recorded_findings,
    run_hosts,
    run_resolver,
    selected,
    where_from_run,
)
from toolkit.transport.base import HostTarget

STEP = Step(get_action("list_users"), get_action("list_users").render({}))


def _document(status: Any = "ok", changed: bool = False, findings: tuple[Finding, ...] = ()) -> ResultDocument[Any]:
    return ResultDocument[BaseModel](
        schema=1, action="list_users", status=status, changed=changed, findings=list(findings)
    )


def _record(path: Path, run_id: str, reports: list[HostReport]) -> None:
    recorder = HistoryRecorder(path)
    recorder.start(run_meta(run_id, hosts=len(reports), check_mode=False, command="jcfix test"))
    for report in reports:
        recorder.host_done(report)
    recorder.finish(run_summary({}, exit_code=0))


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.db"
    msa = Finding("MSA_LINKED", "blocker", "linked")
    _record(
        path,
        "r1",
        [
            HostReport(HostTarget("pc-1"), [(STEP, _document(findings=(msa,)))]),
            HostReport(HostTarget("pc-2"), [(STEP, failed("list_users", "unreachable", "refused"))]),
            HostReport(HostTarget("pc-3"), [(STEP, _document("changed", True))]),
            HostReport(HostTarget("pc-4"), [(STEP, failed("list_users", "invalid_input", "no"))]),
            HostReport(HostTarget("pc-5"), [(STEP, _document(findings=(Finding("PIN", "warning", "pin"),)))]),
        ],
    )
    # A second attempt under the same run id: pc-2 now answered, so it is no longer "failed".
    _record(path, "r1", [HostReport(HostTarget("pc-2"), [(STEP, _document())])])
    return path


TARGETS = [HostTarget(f"pc-{i}", vars={"group_names": ["berlin"] if i < 4 else ["paris"]}) for i in range(1, 7)]


def test_run_selections(history: Path) -> None:
    assert run_hosts(history, "r1", "failed") == {"pc-4"}
    assert run_hosts(history, "r1", "changed") == {"pc-3"}
    assert run_hosts(history, "r1", "all") == {"pc-1", "pc-2", "pc-3", "pc-4", "pc-5"}


def test_limit_at_run_combines_with_other_patterns(history: Path) -> None:
    resolve = run_resolver(history)
    assert [t.name for t in apply_limit(TARGETS, "@r1:all,!paris", resolve)] == ["pc-1", "pc-2", "pc-3"]
    assert [t.name for t in apply_limit(TARGETS, "@r1:failed,pc-6", resolve)] == ["pc-4", "pc-6"]
    assert [t.name for t in apply_limit(TARGETS, "!@r1:all", resolve)] == ["pc-6"]


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("@nope:failed", "run nope is not in the run history"),
        ("@r1:broken", "one of failed, changed, all"),
        ("@r1", "write @RUN:failed"),
    ],
)
def test_limit_at_run_errors(history: Path, limit: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        apply_limit(TARGETS, limit, run_resolver(history))


def test_limit_at_run_with_no_such_host_says_so(history: Path) -> None:
    with pytest.raises(UsageError, match="the run has no such host in this inventory"):
        apply_limit(TARGETS[:3], "@r1:failed", run_resolver(history))


def test_limit_that_matches_nothing_names_the_nearest() -> None:
    with pytest.raises(UsageError, match=r"; did you mean berlin\?$"):
        apply_limit(TARGETS, "berlni")
    with pytest.raises(UsageError, match=r"matches none of the 6 hosts$"):
        apply_limit(TARGETS, "zzzzzz")


@pytest.mark.parametrize(
    "expression", ["MSA_LINKED", "finding", "finding=", "code=MSA_LINKED", "severity=fatal", "finding=MSA LINKED"]
)
def test_bad_where_expressions(expression: str) -> None:
    with pytest.raises(UsageError, match="--where"):
        parse_where([expression])


def test_where_conditions_hold_for_one_finding() -> None:
    conditions = parse_where(["finding=msa_*", "severity=BLOCKER"])
    assert conditions == [Condition("finding", "MSA_*"), Condition("severity", "blocker")]
    assert selected([Finding("MSA_LINKED", "blocker", "x")], conditions)
    # Each condition met, but by different findings: not selected (the conditions AND over one finding).
    assert not selected([Finding("MSA_LINKED", "warning", "x"), Finding("PIN", "blocker", "y")], conditions)


def test_where_from_run(history: Path) -> None:
    found = recorded_findings(history, "r1", TARGETS)
    assert [f.code for f in found["pc-1"]] == ["MSA_LINKED"]
    result = where_from_run(TARGETS, parse_where(["finding=MSA_LINKED"]), history, "r1")
    assert [t.name for t in result.targets] == ["pc-1"]
    assert result.undiagnosed == ["pc-6"]  # not in that run
    assert [t.name for t in where_from_run(TARGETS, parse_where(["severity=warning"]), history, "r1").targets] == [
        "pc-5"
    ]
    with pytest.raises(UsageError, match="run r9 is not in the run history"):
        where_from_run(TARGETS, parse_where(["severity=warning"]), history, "r9")
