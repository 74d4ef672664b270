"""Issue 13 item 7: ``--serial`` shows its batches, canary first, with the batch number on each host line."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e_support import run_jcfix


def test_serial_prints_each_batch_and_numbers_each_host(start_lab: Callable[..., Any], tmp_path: Path) -> None:
    lab = start_lab("mixed")
    args = ("play", "takeover-readiness", "--plain", "-i", str(lab.inventory), "--serial", "1,50%")
    result = run_jcfix(*args, env={"JCFIX_HISTORY": str(tmp_path / "history.sqlite3")})
    out = result.stdout
    assert result.returncode == 6, out + result.stderr  # blockers found
    assert "12 hosts, 3 batches" in out
    headings = re.findall(r"^batch (\d) of 3(?: \(canary\))?: (\d+) hosts?$", out, re.MULTILINE)
    assert headings == [("1", "1"), ("2", "6"), ("3", "5")], out
    assert "batch 1 of 3 (canary): 1 host\n#1 lab-" in out  # the canary's heading, then its one host
    run_part, recap = out.split("RECAP", 1)
    numbered = re.findall(r"^#(\d) (lab-[\w-]+): ", run_part, re.MULTILINE)
    assert len(numbered) == 12 and [int(n) for n, _ in numbered] == sorted(int(n) for n, _ in numbered)
    # Each host's batch again in the recap, after its status.
    batch_of = dict((host, n) for n, host in numbered)
    for line in recap.splitlines():
        if line.startswith("lab-"):
            host, _status, batch = line.split()[:3]
            assert batch == f"#{batch_of[host]}", line
