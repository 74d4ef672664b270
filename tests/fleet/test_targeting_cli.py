"""Issue 13 item 10 on the CLI: --where (fresh or --from-run), --limit @RUN:failed, and their errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

Jcfix = Callable[..., subprocess.CompletedProcess[str]]


def _headers(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The hosts a --dry-run would run on, from its ``# ==== HOST (...)`` headers."""
    assert result.returncode == 0, result.stderr
    return [line.split()[2] for line in result.stdout.splitlines() if line.startswith("# ==== ")]


def test_where_and_retry_failed(lab_fleet: Any, jcfix: Jcfix, tmp_path: Path) -> None:
    _, lab_inventory = lab_fleet("mixed")
    document = yaml.safe_load(lab_inventory.read_text(encoding="utf-8"))
    # A host nothing listens for: unreachable in every run.
    document["hosts"]["lab-dead"] = {"address": "127.0.0.1", "port": 9, "scheme": "http", "auth": "basic"}
    inventory = tmp_path / "with-dead.yaml"
    inventory.write_text(yaml.safe_dump(document), encoding="utf-8")
    inv = str(inventory)

    fixed = jcfix("fix", "remove-pin", "-i", inv, "--where", "finding=HELLO_PIN_SET", "--user", "pat", "--check",
                  "-o", "json")  # fmt: skip
    assert [h["host"] for h in json.loads(fixed.stdout)] == ["lab-pin"], fixed.stderr
    assert "--where finding=HELLO_PIN_SET: 1 of 13 hosts, by a fresh diagnosis" in fixed.stderr
    assert "not judged by a fresh diagnosis: lab-dead" in fixed.stderr

    diagnosed = jcfix("diagnose", "-i", inv, "-o", "json")
    assert diagnosed.returncode == 4, diagnosed.stderr
    blocked = sorted(h["host"] for h in json.loads(diagnosed.stdout)["hosts"] if h["blockers"])
    (run_id,) = (
        sqlite3.connect(tmp_path / "history.db").execute("SELECT run_id FROM runs ORDER BY seq DESC LIMIT 1").fetchone()
    )

    from_run = jcfix("users", "list", "-i", inv, "--where", "severity=blocker", "--from-run", run_id, "--dry-run")
    assert sorted(_headers(from_run)) == blocked and "lab-msa" in blocked
    msa = jcfix("users", "list", "-i", inv, "--where", "finding=MSA_LINKED", "--where", "severity=blocker",
                "--from-run", run_id, "--dry-run")  # fmt: skip
    assert _headers(msa) == ["lab-msa"]
    assert _headers(jcfix("users", "list", "-i", inv, "--limit", f"@{run_id}:failed", "--dry-run")) == ["lab-dead"]

    for args, message in (
        (["--limit", "@no-such-run:failed"], "run no-such-run is not in the run history"),
        (["--where", "finding=MSA_LINKED", "--from-run", "no-such-run"], "run no-such-run is not in the run history"),
        (["--where", "colour=red"], "--where 'colour=red': expected finding=CODE or severity=LEVEL"),
        (["--from-run", run_id], "give --where too"),
        (["--where", "finding=MSA_LINKED"], "needs --from-run RUN"),  # with --dry-run: a fresh one would connect
        (["--limit", "lab-mas"], "did you mean lab-msa"),
    ):
        result = jcfix("users", "list", "-i", inv, *args, "--dry-run")
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.startswith("jcfix: error: ") and message in result.stderr, result.stderr
        assert result.stdout == ""
