"""Issue 13 item 1: a play over the faults lab (hung, refused, broken hosts) keeps stderr to jcfix's own lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e_support import run_jcfix

# pypsrp logs a whole traceback at ERROR for each retried request to the hung host: without --debug,
# toolkit/cli/app.py sends library records nowhere.


def test_faults_play_prints_no_library_lines_on_stderr(start_lab: Callable[..., Any], tmp_path: Path) -> None:
    lab = start_lab("faults")
    # Short per-host bounds so the hung host fails (and is retried) within the test's time.
    result = run_jcfix(
        *("play", "takeover-readiness", "--plain", "-i", str(lab.inventory), "--retries", "1"),
        *("--deadline", "8", "--operation-timeout", "2", "--read-timeout", "4", "--connect-timeout", "2"),
        env={"JCFIX_HISTORY": str(tmp_path / "history.sqlite3")},
        timeout=240,
    )
    assert "fault-hang" in result.stdout, result.stdout[-2000:] + result.stderr
    assert "unreachable" in result.stdout
    lines = result.stderr.splitlines()
    noisy = [line for line in lines if line.startswith(("INFO", "DEBUG", "WARNING")) or "Traceback" in line]
    assert noisy == [], result.stderr[-3000:]
    assert [line for line in lines if not line.startswith("jcfix")] == [], result.stderr[-3000:]
