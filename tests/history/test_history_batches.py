"""Issue 14: the run history commits hosts in batches (time or count, whichever first), always at the run's
end, and at exit when the run's end was never reached; a reader sees only committed hosts."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from toolkit.actions import get_action
from toolkit.history import HistoryRecorder, store
from toolkit.models import HostReport
from toolkit.report.recorders import run_meta, run_summary
from toolkit.results import ResultDocument
from toolkit.services.run_action import plan_action
from toolkit.transport.base import HostTarget

REPO = Path(__file__).resolve().parents[2]


def reports(count: int) -> list[HostReport]:
    targets = [HostTarget(name=f"pc-{n}", address="127.0.0.1", port=5985, scheme="http") for n in range(count)]
    step = plan_action(targets, get_action("collect_facts")).steps[targets[0].name][0]
    result: ResultDocument[object] = ResultDocument(schema=1, action="collect_facts", status="ok", changed=False)
    return [HostReport(t, [(step, result)]) for t in targets]


def committed(path: Path) -> int:
    """Hosts another reader (another jcfix) sees in the file."""
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM hosts").fetchone()[0])


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(store, "time", fake)
    return fake


def test_hosts_are_committed_every_n_hosts_and_at_the_end(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "COMMIT_EVERY_HOSTS", 5)
    path = tmp_path / "h.sqlite3"
    recorder = HistoryRecorder(path)
    recorder.start(run_meta("R1", hosts=12, check_mode=False))
    seen = []
    for report in reports(12):
        recorder.host_done(report)
        seen.append(committed(path))
    assert seen == [0, 0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10]
    recorder.finish(run_summary({"ok": 12}, exit_code=0))
    assert committed(path) == 12


def test_a_batch_older_than_the_interval_is_committed(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "h.sqlite3"
    recorder = HistoryRecorder(path)
    recorder.start(run_meta("R1", hosts=4, check_mode=False))
    first, second, third, fourth = reports(4)
    recorder.host_done(first)
    clock.now += store.COMMIT_EVERY_S / 2
    recorder.host_done(second)
    assert committed(path) == 0  # both within the interval: one batch, not yet committed
    clock.now += store.COMMIT_EVERY_S / 2
    recorder.host_done(third)
    assert committed(path) == 3  # the batch's first host is now an interval old
    recorder.host_done(fourth)
    recorder.flush()
    assert committed(path) == 4
    recorder.finish(run_summary({"ok": 4}, exit_code=0))


def test_an_exit_before_the_run_ends_keeps_the_recorded_hosts(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    script = f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_history_batches import reports
        from toolkit.history import HistoryRecorder
        from toolkit.report.recorders import run_meta
        recorder = HistoryRecorder(__import__("pathlib").Path({str(path)!r}))
        recorder.start(run_meta("R1", hosts=3, check_mode=False))
        for report in reports(3):
            recorder.host_done(report)
        raise RuntimeError("an error above the run: finish() never called")
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "finish() never called" in done.stderr
    assert committed(path) == 3
