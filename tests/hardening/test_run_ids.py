"""Run ids (issue 15 item 8): ``--run-id`` names one run. An id the run history already holds is refused
before anything connects (exit 2, one line naming the earlier run's date and command), since ``jcfix undo``
and the backups on the hosts are keyed by it; an empty or malformed id is refused, never replaced.
``jcfix undo --run-id`` names an earlier run and is not refused; files holding one id twice stay readable.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hardening_support import ConnectionRecorder, bad_input_problems, base_environment, run_here

from toolkit.actions._fixbase import RUN_ID_RE, check_run_id
from toolkit.errors import UsageError
from toolkit.history import History, HistoryRecorder
from toolkit.recorder import RunMeta, RunSummary

STARTED = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)
EARLIER = "jcfix fix rename -i fleet.yml --user 'john smith' --to john.smith --run-id r-used"
BAD_IDS = ["", " ", "r 1", "r_1", "r-1\n", "r\x1b[2J", "x" * 65, "ré"]


def _history_with(path: Path, run_id: str = "r-used", *, check_mode: bool = False, touched: bool = True) -> Path:
    """A history holding one finished run ``run_id`` that changed one host (``touched``)."""
    recorder = HistoryRecorder(path)
    recorder.start(RunMeta(run_id, EARLIER, None, "tester", STARTED, check_mode, 1))
    host = {"host": "pc-1", "status": "changed" if touched else "failed", "reason": None, "touched": int(touched)}
    reach = {"address": "pc-1", "port": 5986, "scheme": "https", "auth": "negotiate", "ca_cert": None}
    recorder.rows_done({**host, "changed": int(touched), **reach}, [])
    recorder.finish(RunSummary({"changed": 1}, False, STARTED, 5))
    return path


@pytest.fixture
def listener() -> Iterator[ConnectionRecorder]:
    recorder = ConnectionRecorder()
    yield recorder
    recorder.close()


# ---- the rule itself ---------------------------------------------------------------------------------------


def test_no_run_id_gives_a_new_valid_one(tmp_path: Path) -> None:
    history = _history_with(tmp_path / "h.sqlite3")
    made = {check_run_id(None, history) for _ in range(5)}
    assert len(made) == 5 and all(RUN_ID_RE.match(rid) for rid in made)


@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_empty_or_malformed_run_id_is_refused_on_one_line(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UsageError) as refused:
        check_run_id(bad, tmp_path / "h.sqlite3")
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)
    assert str(refused.value).startswith("--run-id ")
    assert not (tmp_path / "h.sqlite3").exists()


def test_a_run_id_in_the_history_is_refused_naming_the_earlier_run(tmp_path: Path) -> None:
    history = _history_with(tmp_path / "h.sqlite3")
    with pytest.raises(UsageError) as refused:
        check_run_id("r-used", history)
    message = str(refused.value)
    assert "r-used" in message and "2026-10-01 09:00" in message and "jcfix fix rename" in message
    assert "\n" not in message and len(f"jcfix: error: {message}") <= 80
    assert check_run_id("r-new", history) == "r-new"  # a new id in the same file is fine


def test_even_a_check_run_owns_its_id(tmp_path: Path) -> None:
    # One id, one run: a check run is in the history under its id as much as an apply run.
    history = _history_with(tmp_path / "h.sqlite3", check_mode=True, touched=False)
    with pytest.raises(UsageError, match="r-used"):
        check_run_id("r-used", history)


def test_checking_a_run_id_does_not_create_the_history(tmp_path: Path) -> None:
    assert check_run_id("r-1", tmp_path / "none" / "h.sqlite3") == "r-1"
    assert not (tmp_path / "none").exists()


def test_an_old_file_with_one_id_twice_stays_readable(tmp_path: Path) -> None:
    path = _history_with(_history_with(tmp_path / "h.sqlite3"))  # as jcfix before this change allowed
    with History(path) as history:
        assert [r.run_id for r in history.attempts("r-used")] == ["r-used", "r-used"]
    with pytest.raises(UsageError):
        check_run_id("r-used", path)


# ---- the commands -------------------------------------------------------------------------------------------


def _fix(port: int, *extra: str) -> list[str]:
    host = ["-H", f"127.0.0.1:{port}", "--http", "--connect-timeout", "2"]
    return ["fix", "rename", "--user", "john smith", "--to", "john.smith", *host, *extra]


def _play(port: int, *extra: str) -> list[str]:
    host = ["-H", f"127.0.0.1:{port}", "--http", "--connect-timeout", "2"]
    return ["play", "takeover-readiness", *host, *extra]


@pytest.mark.parametrize("command", [_fix, _play], ids=["fix", "play"])
@pytest.mark.parametrize("bad", ["", "r 1", "x" * 65])
def test_a_bad_run_id_is_refused_before_connecting(
    tmp_path: Path, listener: ConnectionRecorder, command: object, bad: str
) -> None:
    args = command(listener.port, "--run-id", bad)  # type: ignore[operator]
    outcome = run_here(args, base_environment(tmp_path))
    assert bad_input_problems(outcome) == [] and "--run-id" in outcome.stderr, outcome
    assert listener.count == 0


@pytest.mark.parametrize("command", [_fix, _play], ids=["fix", "play"])
@pytest.mark.parametrize("mode", [[], ["--dry-run"], ["--where", "severity=blocker"]])
def test_a_taken_run_id_is_refused_before_connecting(
    tmp_path: Path, listener: ConnectionRecorder, command: object, mode: list[str]
) -> None:
    history = _history_with(tmp_path / "h.sqlite3")
    args = command(listener.port, "--run-id", "r-used", "--history", str(history), *mode)  # type: ignore[operator]
    outcome = run_here(args, base_environment(tmp_path))
    assert bad_input_problems(outcome) == [], outcome
    assert all(part in outcome.stderr for part in ("r-used", "2026-10-01 09:00", "jcfix fix rename")), outcome
    assert listener.count == 0  # not even --where's diagnosis pass
    with History(history) as read:
        assert len(read.runs(10)) == 1  # nothing recorded either


def test_undo_still_names_an_earlier_run(tmp_path: Path, listener: ConnectionRecorder) -> None:
    history = _history_with(tmp_path / "h.sqlite3")
    host = ["-H", f"127.0.0.1:{listener.port}", "--http", "--dry-run", "--history", str(history)]
    outcome = run_here(["undo", "--run-id", "r-used", *host], base_environment(tmp_path))
    assert outcome.code == 0 and outcome.stderr == "" and "127.0.0.1" in outcome.stdout, outcome


@pytest.mark.parametrize("run_id", ["r-used", ""])
def test_a_jumpcloud_fix_refuses_a_taken_or_empty_run_id(tmp_path: Path, run_id: str) -> None:
    history = _history_with(tmp_path / "h.sqlite3")
    env = {**base_environment(tmp_path), "JCFIX_HISTORY": str(history)}
    outcome = run_here(["fix", "jc-unlock", "--jc-user", "x", "--run-id", run_id, "--dry-run"], env)
    assert bad_input_problems(outcome) == [] and "--run-id" in outcome.stderr, outcome
