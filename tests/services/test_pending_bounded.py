"""Issue 14: pending fixes are found without reading every host of every recent run (a 10,000-host fleet
diagnosed daily), and a fix whose sign-in task expired is no longer pending."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from toolkit.history import connect
from toolkit.history import read as history_read
from toolkit.results import Finding
from toolkit.services.pending import PendingIndex

HOSTS = 150
PIN = Finding("HELLO_PIN_SET", "blocker", "pin", subject="pat", evidence={"local_username": "pat"}, fix="jcfix x")


class Writer:
    """Runs written straight into a history file, as the recorder lays them out."""

    def __init__(self, path: Path) -> None:
        self.db = connect(path)

    def run(self, run_id: str, started: str, hosts: list[tuple[str, str, str, str, dict[str, Any]]]) -> None:
        """One run; each host: (name, host status, action, step status, step parameters)."""
        counts: dict[str, int] = {}
        for _, status, *_rest in hosts:
            counts[status] = counts.get(status, 0) + 1
        with self.db:
            seq = self.db.execute(
                "INSERT INTO runs (run_id, command, user, started, ended, check_mode, planned_hosts, parameters,"
                " counts) VALUES (?, 'jcfix', 'tester', ?, ?, 0, ?, '{}', ?)",
                (run_id, started, started, len(hosts), json.dumps(counts)),
            ).lastrowid
            for position, (name, status, action, step_status, params) in enumerate(hosts):
                self.db.execute(
                    "INSERT INTO hosts (run_seq, position, host, status, touched, changed, address, port, scheme,"
                    " auth, finished) VALUES (?, ?, ?, ?, 0, 0, '127.0.0.1', 5985, 'http', 'basic', ?)",
                    (seq, position, name, status, started),
                )
                document = {"data": {"notes": ["waiting for 'pat' to sign out"]}, "status": step_status}
                self.db.execute(
                    "INSERT INTO steps (run_seq, host, position, name, action, whatif, status, changed, parameters,"
                    " document) VALUES (?, ?, 0, ?, ?, 0, ?, 0, ?, ?)",
                    (seq, name, action, action, step_status, json.dumps(params), json.dumps(document)),
                )

    def diagnose(self, run_id: str, started: str) -> None:
        """A diagnosis of every host, one of which failed (so the run's counts say a host may hold one)."""
        hosts = [(f"pc-{n}", "ok", "collect_facts", "ok", {}) for n in range(HOSTS)]
        hosts[7] = ("pc-7", "failed", "collect_facts", "failed", {})
        self.run(run_id, started, hosts)


@pytest.fixture
def writer(tmp_path: Path) -> Writer:
    return Writer(tmp_path / "h.sqlite3")


def test_pending_is_found_from_the_fix_steps_not_from_every_host(
    tmp_path: Path, writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer.diagnose("d-1", "2026-11-28T09:00:00+00:00")
    writer.run(
        "pin-1", "2026-11-28T10:00:00+00:00", [("pc-1", "pending", "remove_pin", "pending", {"UserName": "pat"})]
    )
    writer.diagnose("d-2", "2026-11-29T09:00:00+00:00")
    writer.diagnose("d-3", "2026-11-30T09:00:00+00:00")
    writer.db.close()
    decoded: list[str] = []
    real_step, real_host = history_read.StepRow, history_read.HostRow.from_row

    def counted_step(*args: Any, **kwargs: Any) -> Any:
        decoded.append("step")
        return real_step(*args, **kwargs)

    def counted_host(row: Any) -> Any:
        decoded.append("host")
        return real_host(row)

    monkeypatch.setattr(history_read, "StepRow", counted_step)
    monkeypatch.setattr(history_read.HostRow, "from_row", counted_host)
    now = __import__("datetime").datetime.fromisoformat("2026-11-30T12:00:00+00:00")
    index = PendingIndex.read(tmp_path / "h.sqlite3", [f"pc-{n}" for n in range(HOSTS)], now=now)
    # The facts stored here are empty (not readable), so no diagnosis ends it: pc-1 still waits.
    assert index.apply("pc-1", [PIN])[1][0]["run_id"] == "pin-1"
    assert index.apply("pc-2", [PIN])[1] == []
    # Read: the fix step and pc-1's two later diagnoses; never the 450 hosts of the three diagnoses.
    assert len(decoded) <= 3, decoded


@pytest.mark.parametrize(
    ("params", "now", "waiting"),
    [
        ({"UserName": "pat"}, "2026-11-14T09:59:00+00:00", True),  # the default 14 days: not yet
        ({"UserName": "pat"}, "2026-11-15T10:01:00+00:00", False),  # expired: nothing waits on the host
        ({"UserName": "pat", "ExpireDays": 3}, "2026-11-04T09:00:00+00:00", True),
        ({"UserName": "pat", "ExpireDays": 3}, "2026-11-04T11:00:00+00:00", False),
    ],
)
def test_a_fix_whose_task_expired_is_no_longer_pending(
    tmp_path: Path, writer: Writer, params: dict[str, Any], now: str, waiting: bool
) -> None:
    from datetime import datetime

    writer.run("pin-1", "2026-11-01T10:00:00+00:00", [("pc-1", "pending", "remove_pin", "pending", params)])
    writer.db.close()
    index = PendingIndex.read(tmp_path / "h.sqlite3", ["pc-1"], now=datetime.fromisoformat(now))
    shown, pending = index.apply("pc-1", [PIN])
    assert bool(pending) is waiting
    assert (shown[0].fix is None) is waiting  # an expired one gets its fix suggested again
