"""The README's first command: ``jcfix demo`` runs the whole job on a built-in lab."""

from __future__ import annotations

from e2e_support import run_jcfix


def test_demo_diagnoses_fixes_verifies_and_undoes() -> None:
    result = run_jcfix("demo", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    steps = [
        "$ jcfix diagnose",
        "CASE_MISMATCH",
        "12 hosts: 12 ok; 8 with blockers",
        "--dry-run",
        "would change",
        "after (read back)",
        "already named 'Jonathan'",
        "TAKEOVER_READY",
        "pending",
        "tasks run at sign-in: remove-pin-",
        "PIN still on the host: no",
        "nothing to do: no PIN registered",
        "renamed 'Jonathan' back to 'jonathan'",
    ]
    at = 0
    for step in steps:  # each in turn, after the one before: the demo's order is the story
        found = out.find(step, at)
        assert found >= 0, f"{step!r} missing after position {at}"
        at = found + len(step)
    assert "Traceback" not in out + result.stderr
    # stderr carries only jcfix's own lines without --debug: no library logging (pypsrp's INFO lines).
    foreign = [line for line in result.stderr.splitlines() if not line.startswith("jcfix")]
    assert foreign == []
