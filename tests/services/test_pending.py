"""Pending is remembered (issue 13, item 6): after ``fix remove-pin`` returns ``pending``, ``diagnose`` says
so, from the run history, and suggests no second fix; a later diagnosis without the finding ends it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jc_support import JcLab, jc_lab, json_out

from toolkit.exitcodes import ExitCode
from toolkit.history import RunRow, StepRow
from toolkit.lab import events
from toolkit.results import Finding
from toolkit.services.pending import PendingIndex


def diagnose(lab: JcLab, *extra: str, inventory: Path | None = None) -> tuple[int, dict[str, Any]]:
    args = ("--inventory", str(inventory or lab.inventory), "--http", "--auth", "basic", "--no-jc-api")
    result = lab.jcfix("diagnose", *args, "-o", "json", *extra)
    (host,) = json_out(result)["hosts"]
    return result.returncode, host


def pin_finding(host: dict[str, Any]) -> dict[str, Any] | None:
    return next((f for f in host["findings"] if f["code"] == "HELLO_PIN_SET"), None)


def bare_inventory(lab: JcLab) -> Path:
    document = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
    for entry in document["hosts"].values():
        entry.pop("jc_users", None)
    bare = lab.inventory.with_name("bare.yaml")
    bare.write_text(yaml.safe_dump(document), encoding="utf-8")
    return bare


def test_a_pending_pin_removal_is_shown_until_the_pin_is_gone(tmp_path: Path) -> None:
    with jc_lab("pin", tmp_path) as lab:
        checked = lab.jcfix("fix", "remove-pin", *lab.winrm(), "--user", "pat", "--check", "--run-id", "pin-check")
        assert checked.returncode in (ExitCode.OK, ExitCode.CHANGED), checked.stdout + checked.stderr
        _, host = diagnose(lab)
        assert host["pending"] == [] and (pin_finding(host) or {}).get("fix")  # a --check run changes nothing

        fixed = lab.jcfix("fix", "remove-pin", *lab.winrm(), "--user", "pat", "--run-id", "pin-1")
        assert "pending" in fixed.stdout, fixed.stdout + fixed.stderr
        code, host = diagnose(lab)
        assert code == ExitCode.BLOCKERS  # still a blocker: the PIN is there until pat signs out
        finding = pin_finding(host)
        assert finding is not None and finding["fix"] is None  # no second fix suggested
        (entry,) = host["pending"]
        assert entry["code"] == "HELLO_PIN_SET" and entry["subject"] == "pat" and entry["run_id"] == "pin-1"
        assert "sign in" in entry["waiting_for"] and "sign out" in entry["waiting_for"]
        # Without expected users (account-level checks) the same pending fix is found by the local account.
        _, bare = diagnose(lab, inventory=bare_inventory(lab))
        assert [(p["code"], p["subject"], p["run_id"]) for p in bare["pending"]] == [("HELLO_PIN_SET", None, "pin-1")]
        assert (pin_finding(bare) or {"fix": "missing"})["fix"] is None

        pc = lab.host("lab-pin")
        events.sign_in(pc, "pat")  # the task runs certutil; the PIN goes at sign-out
        events.sign_out(pc, "pat")
        code, host = diagnose(lab)
        assert code == ExitCode.OK and pin_finding(host) is None and host["pending"] == []

        # A PIN set up again later is a new blocker: the old run no longer stands for it.
        events.reenrol_pin(pc, "pat")
        code, host = diagnose(lab)
        assert code == ExitCode.BLOCKERS and host["pending"] == []
        assert "remove-pin" in (pin_finding(host) or {}).get("fix", "")


def test_a_second_run_of_the_fix_that_finds_nothing_to_do_ends_it(tmp_path: Path) -> None:
    with jc_lab("pin", tmp_path) as lab:
        lab.jcfix("fix", "remove-pin", *lab.winrm(), "--user", "pat", "--run-id", "pin-1")
        pc = lab.host("lab-pin")
        events.sign_in(pc, "pat")
        events.sign_out(pc, "pat")
        again = lab.jcfix("fix", "remove-pin", *lab.winrm(), "--user", "pat", "--run-id", "pin-2")
        # No PIN left: the fix only removes its leftover sign-in tasks, and is done (changed, not pending).
        status = next(line.split()[1] for line in again.stdout.splitlines() if line.startswith("status"))
        assert status == "changed", again.stdout + again.stderr
        events.reenrol_pin(pc, "pat")  # no diagnosis in between: the fix's own ok ended the pending state
        _, host = diagnose(lab)
        assert host["pending"] == [] and "remove-pin" in (pin_finding(host) or {}).get("fix", "")


def _step(status: str, user: str = "pat", notes: list[str] | None = None) -> StepRow:
    document = {"data": {"notes": notes or []}}
    return StepRow("pc-1", 0, "remove_pin", "remove_pin", False, status, True, None, None, {"UserName": user}, document)


def test_the_declared_remedy_ties_a_pending_step_to_its_finding() -> None:
    """Without a lab: remove_pin's remedy (HELLO_PIN_SET, UserName from evidence.local_username) decides."""
    run = RunRow(
        seq=1,
        run_id="pin-1",
        command="fix remove-pin",
        playbook=None,
        user="admin",
        started="2026-11-30T10:00:00+00:00",
        ended=None,
        check_mode=False,
        planned_hosts=1,
        parameters={},
        counts=None,
        interrupted=None,
        exit_code=None,
        stopped_reason=None,
    )
    index = PendingIndex()
    index._step(run, "pc-1", _step("pending", notes=["PIN markers seen: ngc_pin", "waiting for 'pat' to sign out"]))
    pin = Finding("HELLO_PIN_SET", "blocker", "pin", subject="Pat", evidence={"local_username": "pat"}, fix="jcfix x")
    other = Finding("HELLO_PIN_SET", "blocker", "pin", evidence={"local_username": "quinn"}, fix="jcfix y")
    msa = Finding("MSA_LINKED", "blocker", "msa", evidence={"local_username": "pat"}, fix="jcfix z")
    shown, pending = index.apply("pc-1", [pin, other, msa])
    assert [f.fix for f in shown] == [None, "jcfix y", "jcfix z"]
    assert pending == [
        {"code": "HELLO_PIN_SET", "subject": "Pat", "run_id": "pin-1", "waiting_for": "waiting for 'pat' to sign out"}
    ]
    assert index.apply("pc-2", [pin])[1] == []  # another host
    index._step(run, "pc-1", _step("failed"))  # a failed re-run leaves it pending
    assert index.apply("pc-1", [pin])[1]
    index._step(run, "pc-1", _step("ok"))  # done
    assert index.apply("pc-1", [pin]) == ([pin], [])
