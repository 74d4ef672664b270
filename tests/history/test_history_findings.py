"""Each step's diagnosis is stored with it (history schema 3): ``jcfix runs show RUN --format`` rebuilds the
reports with exactly the findings the run showed, and ``--where ... --from-run RUN`` judges by them.

The ``case`` lab host expects JumpCloud user ``Jonathan`` (inventory ``jc_users``) and has local ``jonathan``:
``CASE_MISMATCH`` needs those expected users, which the history does not keep, so only a stored diagnosis
can bring it back. A run recorded before schema 3 (no stored diagnosis) still exports, as before: the
rules run again without expected users.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from e2e_support import run_jcfix
from typer.testing import CliRunner

from toolkit.cli.app import app
from toolkit.exitcodes import ExitCode
from toolkit.history import History
from toolkit.services.targeting import parse_where, recorded_findings, where_from_run
from toolkit.transport.base import HostTarget

FORMATS = ("csv", "json", "junit", "html")


@pytest.fixture(scope="module")
def case_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A ``jcfix diagnose`` of the ``case`` lab host, recorded in a history file: (file, run id)."""
    from toolkit.lab.fleet import LabFleet, write_inventory

    tmp = tmp_path_factory.mktemp("case-run")
    db = tmp / "h.sqlite3"
    with LabFleet.from_scenario("case") as fleet:
        inventory = tmp / "case.yaml"
        write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
        shown = run_jcfix("diagnose", "-i", str(inventory), "-o", "json", "--history", str(db))
    assert shown.returncode == ExitCode.BLOCKERS, shown.stderr
    assert "CASE_MISMATCH" in shown.stdout  # what the run showed
    with History(db) as history:
        return db, history.runs(1)[0].run_id


def _export(db: Path, run_id: str, fmt: str) -> str:
    result = CliRunner().invoke(app, ["runs", "show", run_id, "--history", str(db), "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


def _copy(db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.sqlite3"
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    return copy


def test_the_diagnosis_is_stored_with_its_step(case_run: tuple[Path, str]) -> None:
    db, run_id = case_run
    with History(db) as history:
        (run,) = history.attempts(run_id)
        (step,) = history.steps(run.seq, "lab-case")
    assert step.action == "collect_facts" and step.findings is not None
    (case,) = [f for f in step.findings if f.code == "CASE_MISMATCH"]
    assert case.severity == "blocker" and case.subject == "Jonathan"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_export_shows_the_findings_the_run_showed(case_run: tuple[Path, str], fmt: str) -> None:
    db, run_id = case_run
    assert "CASE_MISMATCH" in _export(db, run_id, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_run_without_a_stored_diagnosis_still_exports(case_run: tuple[Path, str], tmp_path: Path, fmt: str) -> None:
    # As a file from before schema 3 reads once migrated: every steps.findings NULL.
    db = _copy(case_run[0], tmp_path)
    with closing(sqlite3.connect(db)) as edit, edit:
        edit.execute("UPDATE steps SET findings = NULL")
    exported = _export(db, case_run[1], fmt)
    assert "lab-case" in exported and "CASE_MISMATCH" not in exported  # the rules again, no expected users


def test_from_run_judges_by_the_stored_diagnosis(case_run: tuple[Path, str], tmp_path: Path) -> None:
    db, run_id = case_run
    # The inventory no longer expects Jonathan here: only the stored diagnosis knows the case mismatch.
    target = HostTarget("lab-case", address="127.0.0.1")
    codes = {f.code for f in recorded_findings(db, run_id, [target])["lab-case"]}
    assert "CASE_MISMATCH" in codes
    found = where_from_run([target], parse_where(["finding=CASE_MISMATCH"]), db, run_id)
    assert [t.name for t in found.targets] == ["lab-case"] and found.undiagnosed == []
    older = _copy(db, tmp_path)
    with closing(sqlite3.connect(older)) as edit, edit:
        edit.execute("UPDATE steps SET findings = NULL")
    assert "CASE_MISMATCH" not in {f.code for f in recorded_findings(older, run_id, [target])["lab-case"]}


def test_a_stored_diagnosis_that_no_longer_reads_falls_back(case_run: tuple[Path, str], tmp_path: Path) -> None:
    db = _copy(case_run[0], tmp_path)
    with closing(sqlite3.connect(db)) as edit, edit:
        edit.execute("UPDATE steps SET findings = ?", (json.dumps([{"code": "X", "severity": "fatal"}]),))
    with History(db) as history:
        (run,) = history.attempts(case_run[1])
        (step,) = history.steps(run.seq, "lab-case")
    assert step.findings is None
    assert "lab-case" in _export(db, case_run[1], "csv")


def test_a_facts_step_with_a_file_too_large_to_store_keeps_its_findings(
    case_run: tuple[Path, str], tmp_path: Path
) -> None:
    # The history leaves out raw files over STORED_RAW_LIMIT (base64 None, base64_omitted_chars): the
    # document must still read as facts, or no report would show the stored diagnosis.
    db = _copy(case_run[0], tmp_path)
    with closing(sqlite3.connect(db)) as edit, edit:
        (stored,) = edit.execute("SELECT document FROM steps WHERE host = 'lab-case'").fetchone()
        document = json.loads(stored)
        document["data"]["agent"]["files"]["log_tail"] |= {"present": True, "base64": None}
        document["data"]["agent"]["files"]["log_tail"]["base64_omitted_chars"] = 300_000
        edit.execute("UPDATE steps SET document = ? WHERE host = 'lab-case'", (json.dumps(document),))
    assert "CASE_MISMATCH" in _export(db, case_run[1], "csv")
