"""Issue 14: ``jcfix diagnose`` streams: no host's report or diagnosis outlives its turn, and the output,
printed from the spooled parts in the fleet's order, is what the whole list would have printed."""

from __future__ import annotations

import gc
import io
import json
import sqlite3
import sys
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from toolkit.cli import diagnose_view
from toolkit.cli.diagnose_view import StreamedDiagnoses, print_diagnoses, write_csv
from toolkit.exitcodes import ExitCode
from toolkit.models import HostReport, Step
from toolkit.report import ReportOptions
from toolkit.results import ErrorInfo, ResultDocument
from toolkit.services import diagnose as diagnose_service
from toolkit.services import run_action
from toolkit.settings import ConnectionSettings
from toolkit.transport.base import HostTarget

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "facts"))
from factsupport import account, host_facts

HOSTS = 240
SAMPLE_EVERY = 40


@dataclass
class FakeFleet:
    """A :class:`~toolkit.services.run_action.Fleet` whose hosts never connect (run_fleet is replaced)."""

    targets: list[HostTarget]
    reports: ReportOptions
    forks: int = 8
    settings: ConnectionSettings = field(default_factory=ConnectionSettings)

    def with_password(self) -> ConnectionSettings:
        return self.settings


def _report(target: HostTarget, step: Step, n: int) -> HostReport:
    """Host ``n``: every third one unreachable, the others with a Hello PIN (a blocker) on one in two."""
    if n % 3 == 0:
        error = ErrorInfo(category="unreachable", message=f"refused {n}")
        result: ResultDocument[Any] = ResultDocument(
            schema=1, action="collect_facts", status="failed", changed=False, error=error
        )
    else:
        user = account(f"user{n}", hello_pin=bool(n % 2))
        result = ResultDocument(schema=1, action="collect_facts", status="ok", changed=False, data=host_facts(user))
    return HostReport(target, [(step, result)])


@pytest.fixture
def fleet(tmp_path: Path) -> FakeFleet:
    targets = [HostTarget(name=f"pc-{n:04d}", vars={"jc_users": [f"user{n}"]}) for n in range(HOSTS)]
    options = ReportOptions(junit=tmp_path / "r.xml", html=tmp_path / "r.html", history=tmp_path / "h.sqlite3")
    return FakeFleet(targets, options)


class Tracker:
    """Every report and diagnosis made, weakly; how many were alive at each sample."""

    def __init__(self) -> None:
        self.made: list[weakref.ref[object]] = []
        self.alive: list[int] = []

    def add(self, item: object) -> None:
        self.made.append(weakref.ref(item))

    def sample(self) -> None:
        gc.collect()
        self.alive.append(sum(ref() is not None for ref in self.made))


def _fake_run_fleet(tracker: Tracker):  # type: ignore[no-untyped-def]
    def run_fleet(
        planned: Sequence[tuple[HostTarget, Sequence[Step]]], settings: Any, **_: Any
    ) -> Iterator[HostReport]:
        # Finishing order is the reverse of the fleet's, so the output's order proves the spool sorts.
        for n, (target, steps) in reversed(list(enumerate(planned))):
            if n % SAMPLE_EVERY == 0:
                tracker.sample()
            report = _report(target, steps[0], n)
            tracker.add(report)
            yield report

    return run_fleet


def _stream(fleet: FakeFleet, output: str, tracker: Tracker, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(run_action, "run_fleet", _fake_run_fleet(tracker))
    users_for = {t.name: list(t.vars["jc_users"]) for t in fleet.targets}
    streamed = StreamedDiagnoses(output, {t.name: i for i, t in enumerate(fleet.targets)})

    def on_host(report: HostReport, diagnosis: diagnose_service.Diagnosis) -> None:
        tracker.add(diagnosis)
        streamed.add(diagnose_service.diagnosis_document(diagnosis, report), report)

    stream = io.StringIO()
    try:
        code = diagnose_service.diagnose_stream(fleet, users_for, on_host, jc_api=False)
        streamed.write(stream, lambda: Console(file=stream, width=80, color_system=None))
    finally:
        streamed.close()
    return code, stream.getvalue()


def test_no_host_is_kept_while_the_fleet_runs(fleet: FakeFleet, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = Tracker()
    code, _ = _stream(fleet, "json", tracker, monkeypatch)
    assert code == ExitCode.UNREACHABLE
    assert len(tracker.alive) == HOSTS // SAMPLE_EVERY
    # Kept: at most the host in hand (its report and diagnosis); the old list kept every one finished.
    assert max(tracker.alive) <= 2, tracker.alive
    with sqlite3.connect(fleet.reports.history or "") as db:
        assert db.execute("SELECT COUNT(*) FROM hosts").fetchone()[0] == HOSTS
        assert db.execute("SELECT exit_code FROM runs").fetchone()[0] == ExitCode.UNREACHABLE


@pytest.mark.parametrize("output", ["json", "csv", "table"])
def test_streamed_output_is_what_the_whole_list_prints(
    fleet: FakeFleet, output: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diagnose_view, "CHUNK_HOSTS", 7)  # the table is laid out in many parts
    code, text = _stream(fleet, output, Tracker(), monkeypatch)
    diagnosed = diagnose_service.diagnose_fleet(fleet, {t.name: list(t.vars["jc_users"]) for t in fleet.targets})
    assert code == diagnose_service.exit_code(diagnosed)
    documents = [diagnose_service.diagnosis_document(d, r) for r, d in diagnosed]
    assert [d["host"] for d in documents] == [t.name for t in fleet.targets]
    expected = io.StringIO()
    if output == "json":
        json.dump({"schema": 1, "hosts": documents}, expected, indent=2)
        expected.write("\n")
    elif output == "csv":
        write_csv(documents, expected)
    else:
        print_diagnoses(documents, [r for r, _ in diagnosed], Console(file=expected, width=80, color_system=None))
    assert text == expected.getvalue()
    assert "HELLO_PIN_SET" in text and "pc-0000" in text


@pytest.mark.parametrize("width", [40, 80, 100, 400])
def test_the_table_laid_out_in_parts_matches_one_layout(width: int) -> None:
    from toolkit.cli.layout import layout_rows

    documents = [
        {
            "host": f"pc-{n}",
            "error": None,
            "jc_users": ["a"],
            "findings": [
                {
                    "code": "C" * (n % 9 + 3),
                    "severity": "blocker",
                    "subject": "u" * n,
                    "message": "word " * n,
                    "fix": "jcfix fix x --user " + "y" * n,
                }
            ],
            "notes": ["a note"] if n % 2 else [],
        }
        for n in range(1, 12)
    ]
    rows = [row for d in documents for row in diagnose_view._rows(d)]
    cols = diagnose_view.columns()
    whole = layout_rows(cols, rows, width)
    from rich.cells import cell_len

    from toolkit.cli.layout import as_text

    natural = [
        max([cell_len(c.header)] + [cell_len(as_text(r.cells[i]).plain) for r in rows]) for i, c in enumerate(cols)
    ]
    lay = diagnose_view.fixed_layout(cols, natural, width)
    parts = lay(rows[:3], True) + lay(rows[3:4], False) + lay(rows[4:], False)
    assert [t.plain for t in parts] == [t.plain for t in whole]


def test_an_empty_fleet_prints_the_same_json(tmp_path: Path) -> None:
    streamed = StreamedDiagnoses("json", {})
    stream = io.StringIO()
    streamed.write(stream, lambda: Console(file=stream))
    streamed.close()
    assert json.loads(stream.getvalue()) == {"schema": 1, "hosts": []}
    assert stream.getvalue() == json.dumps({"schema": 1, "hosts": []}, indent=2) + "\n"
