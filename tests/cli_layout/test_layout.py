"""Issue 13 item 2: output laid out for the real width; codes, usernames, SIDs and commands never split."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from toolkit.actions import get_action
from toolkit.actions.list_users import ListUsersData
from toolkit.cli import output, users
from toolkit.cli.diagnose_view import print_diagnoses
from toolkit.cli.layout import Column, Row, layout_rows
from toolkit.results import ResultDocument
from toolkit.runner import HostReport, Step
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget

SID = "S-1-5-21-1004336348-1177238915-682003330-1001"
FIX = "jcfix fix rename -i /srv/jcfix/inventories/berlin.yaml --limit pc-berlin-0042 --user jonathan --to Jonathan"
MSA_FIX = "jcfix fix convert-msa -i /srv/jcfix/inventories/berlin-office.yaml --limit pc-berlin-0042 --user maria"


def finding(code: str, subject: str | None, message: str, fix: str | None, severity: str = "blocker") -> dict[str, Any]:
    return {"code": code, "severity": severity, "message": message, "subject": subject, "evidence": {}, "fix": fix}


def documents() -> list[dict[str, Any]]:
    long_message = (
        "Local account 'jonathan' differs from JumpCloud user 'Jonathan' only in letter case; the agent matches "
        "case-sensitively and will not take it over."
    )
    return [
        {
            "host": "pc-berlin-0042",
            "status": "ok",
            "error": None,
            "jc_users": ["Jonathan", "maria"],
            "blockers": 2,
            "findings": [
                finding("CASE_MISMATCH", "Jonathan", long_message, FIX),
                finding("MSA_LINKED", "maria", "Local account 'maria' is linked to a Microsoft account.", MSA_FIX),
                finding("HELLO_PIN_SET", "maria", "Local account 'maria' has a Windows Hello PIN.", "jcfix fix x"),
                finding("LOCALACCOUNTS_UNAVAILABLE", None, "No LocalAccounts module: WMI read.", None, "warning"),
            ],
            "notes": ["no JumpCloud usernames were given: name matching was not checked"],
            "pending": [
                {"code": "HELLO_PIN_SET", "subject": "maria", "run_id": "20261130T1200Z-abc123",
                 "waiting_for": "'maria' to sign in and out"}
            ],
        },
        {"host": "pc-ready", "status": "ok", "error": None, "jc_users": ["alice"], "blockers": 0, "findings": []},
    ]


def render(width: int, draw: Any) -> str:
    out = Console(width=width, file=io.StringIO(), color_system=None, soft_wrap=True)  # as output.console()
    draw(out)
    return out.file.getvalue()  # type: ignore[attr-defined]


def assert_whole(text: str, values: list[str]) -> None:
    """Each value appears whole on one line (a value split over lines is not found in any single line)."""
    lines = text.splitlines()
    for value in values:
        assert any(value in line for line in lines), f"{value!r} split or missing in:\n{text}"


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_diagnose_never_splits_codes_names_or_commands(width: int) -> None:
    text = render(width, lambda out: print_diagnoses(documents(), [], out))
    assert_whole(text, ["CASE_MISMATCH", "MSA_LINKED", "LOCALACCOUNTS_UNAVAILABLE", "pc-berlin-0042", "Jonathan"])
    assert_whole(text, [FIX, MSA_FIX, "maria", "pc-ready"])
    # A line longer than the width holds exactly one long value (a command), alone after its label.
    for line in text.splitlines():
        if len(line) > width:
            assert line.strip() in (f"Fix: {FIX}", f"Fix: {MSA_FIX}"), line
    # notes and pending: the pending blocker shows its run instead of a second fix
    assert_whole(text, ["note: no JumpCloud usernames were given", "fix pending (run 20261130T1200Z-abc123)"])
    assert "jcfix fix x" not in text
    assert "2 hosts: 2 ok; 1 with blockers" in text


def test_diagnose_narrow_form_is_one_finding_per_line_and_wide_form_aligns() -> None:
    narrow = render(80, lambda out: print_diagnoses(documents(), [], out)).splitlines()
    assert "pc-berlin-0042  blocker  CASE_MISMATCH  Jonathan" in narrow
    assert any(line.startswith("pc-berlin-0042  warning  LOCALACCOUNTS_UNAVAILABLE") for line in narrow)
    wide = render(120, lambda out: print_diagnoses(documents(), [], out)).splitlines()
    assert wide[0].split() == ["Host", "Severity", "Code", "JumpCloud", "user", "What", "is", "wrong"]
    assert f"  Fix: {FIX}" in wide
    code_at = wide[0].index("Code")
    blockers = [line for line in wide if " blocker " in line[:30]]
    assert [line[code_at:].split()[0] for line in blockers] == ["CASE_MISMATCH", "MSA_LINKED", "HELLO_PIN_SET"]


def users_report() -> HostReport:
    data = ListUsersData.model_validate(
        {
            "computer_name": "PC-BERLIN-0042",
            "source": "Get-LocalUser",
            "users": [
                {"name": "Administrator", "full_name": "", "sid": SID[:-4] + "500", "enabled": False,
                 "principal_source": "Local", "last_logon": None, "profile_path": None, "profile_loaded": False,
                 "description": "Built-in account for administering the computer/domain"},
                {"name": "jonathan.reyes-longname", "full_name": "Jonathan Reyes", "sid": SID, "enabled": True,
                 "principal_source": "MicrosoftAccount", "last_logon": "2025-01-12T07:45:00Z",
                 "profile_path": "C:\\Users\\jonathan.reyes-longname", "profile_loaded": True, "description": ""},
            ],
        }
    )
    action = get_action("list_users")
    result = ResultDocument[ListUsersData](schema=1, action="list_users", status="ok", changed=False, data=data)
    step = Step(action, RenderedScript(action.name, action.version, "# not rendered"))
    return HostReport(HostTarget("pc-berlin-0042"), [(step, result)])


@pytest.mark.parametrize("width", [80, 120])
def test_users_list_never_splits_names_or_sids(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def draw(out: Console) -> None:
        monkeypatch.setattr(users, "console", lambda: out)
        users._print([users_report()])

    text = render(width, draw)
    assert_whole(text, ["Administrator", "jonathan.reyes-longname", SID, SID[:-4] + "500", "MicrosoftAccount"])
    assert_whole(text, ["C:\\Users\\jonathan.reyes-longname", "pc-berlin-0042 via Get-LocalUser"])
    assert all(len(line) <= width for line in text.splitlines() if SID[:20] not in line)


def test_change_table_keeps_long_values_whole_at_80_columns() -> None:
    backup = "C:\\ProgramData\\jcfix\\backups\\20261130T120000Z-abc123\\rename-S-1-5-21-1004336348-1177238915-1001.json"
    table = output.change_table(
        status="changed", check_mode=False, planned=["rename 'jonathan' to 'Jonathan'"],
        before={"name": "jonathan"}, after={"name": "Jonathan"}, backups=[backup], title="pc-1: rename (run R)",
    )
    text = render(80, lambda out: out.print(table))
    assert_whole(text, [backup, "rename 'jonathan' to 'Jonathan'", "pc-1: rename (run R)"])
    assert "after (read back)" in text


def test_layout_forms_pick_the_widest_that_fits() -> None:
    columns = [Column("Name"), Column("SID", "long"), Column("Note", "text")]
    rows = [Row(["Administrator", SID, "built in"])]
    assert [t.plain for t in layout_rows(columns, rows, 200)][1].split() == ["Administrator", SID, "built", "in"]
    assert [t.plain for t in layout_rows(columns, rows, 60)][2] == f"  SID: {SID}"
    compact = [t.plain for t in layout_rows(columns, rows, 30)]
    assert compact == ["Administrator", f"    SID: {SID}", "    Note: built in"]


def test_piped_console_uses_columns_not_a_fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "97")
    assert output.console().width == 97
    monkeypatch.setenv("COLUMNS", "80")
    assert output.console().width == 80
