"""Issue 13 item 11: ``jcfix diagnose --output csv``: one row per finding, one row per host without findings,
proper quoting, control characters escaped."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e_support import run_jcfix

from toolkit.cli.diagnose_view import CSV_HEADER, write_csv


def finding(code: str, subject: str | None, message: str, fix: str | None) -> dict[str, Any]:
    return {"code": code, "severity": "blocker", "message": message, "subject": subject, "evidence": {}, "fix": fix}


def test_csv_rows_quote_and_escape() -> None:
    documents = [
        {
            "host": "pc-1",
            "error": None,
            "findings": [
                finding("CASE_MISMATCH", "Jonathan", 'differs, in "case"\nonly', "jcfix fix rename --user 'a b'"),
                finding("HELLO_PIN_SET", "pat", "a PIN\x1b[31m", "jcfix fix remove-pin --host pc-1 --user pat"),
            ],
            "pending": [{"code": "HELLO_PIN_SET", "subject": "pat", "run_id": "R1", "waiting_for": "pat to sign out"}],
        },
        {"host": "pc-2", "error": None, "findings": []},
        {"host": "pc-3", "error": {"category": "unreachable", "message": "refused, twice"}, "findings": []},
    ]
    stream = io.StringIO()
    write_csv(documents, stream)
    text = stream.getvalue()
    assert "\x1b" not in text and "\\x1b[31m" in text and "\\x0aonly" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(CSV_HEADER)
    assert rows[1] == ["pc-1", "blocker", "CASE_MISMATCH", "Jonathan", 'differs, in "case"\\x0aonly',
                       "jcfix fix rename --user 'a b'"]
    assert rows[2][2] == "HELLO_PIN_SET" and rows[2][5] == "fix pending (run R1): waiting for pat to sign out"
    assert rows[3] == ["pc-2", "", "", "", "nothing found", ""]
    assert rows[4] == ["pc-3", "error", "unreachable", "", "refused, twice", ""]
    assert len(rows) == 5


def test_diagnose_output_csv_on_the_lab(start_lab: Callable[..., Any], tmp_path: Path) -> None:
    lab = start_lab("mixed")
    history = {"JCFIX_HISTORY": str(tmp_path / "history.sqlite3")}  # no other run's pending fixes
    result = run_jcfix("diagnose", "-i", str(lab.inventory), "--output", "csv", env=history)
    assert result.returncode == 6, result.stderr  # blockers
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    hosts = {h.hostname for h in lab.fleet.hosts}
    assert {row["host"] for row in rows} == hosts
    case = [row for row in rows if row["code"] == "CASE_MISMATCH"]
    assert len(case) == 1 and case[0]["host"] == "lab-case" and case[0]["fix"].startswith("jcfix fix rename ")
    space = next(row for row in rows if row["code"] == "USERNAME_HAS_SPACE")
    assert "'john smith'" in space["fix"]  # a value with a space stays one CSV field, shell-quoted inside
    assert result.stderr == ""
