"""The JumpCloud-side fixes end to end through the CLI against the stand-in, on the ``jumpcloud`` lab:
``jc-unlock`` (lab-jc-locked/lou), ``jc-bind`` (lab-jc-unbound/ursula), ``jc-activate --reactivate-suspended``
(lab-jc-suspended/sam) and ``jc-activate`` without re-sending a pending activation email (lab-jc-nopw/newhire):
dry run, check, apply, second apply ``ok``, ``jcfix runs list/show`` and ``jcfix undo --run-id``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jc_support import JcLab, jc_lab, json_out

from toolkit.history import History
from toolkit.lab import readback


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[JcLab]:
    with jc_lab("jumpcloud", tmp_path) as running:
        yield running


def outcome(result: Any) -> dict[str, Any]:
    """The one fix outcome of a JSON envelope (``hosts[0]`` is the ``jumpcloud`` API)."""
    document = json_out(result)
    assert document["schema"] == 1 and document["hosts"][0]["host"] == "jumpcloud", document
    (only,) = document["hosts"][0]["results"]
    return dict(only)


def codes_on(lab: JcLab, host: str) -> set[tuple[str, str | None]]:
    result = lab.jcfix("diagnose", *lab.winrm(), "--limit", host, "--output", "json")
    return {(f["code"], f["subject"]) for h in json_out(result)["hosts"] for f in h["findings"]}


def listed_every_user(lab: JcLab) -> bool:
    """Whether any request listed users without the v1 ``filter`` (the fixes look one user up)."""
    return any(r.method == "GET" and r.path == "/api/systemusers" and "filter" not in r.query for r in lab.api.seen)


def writes_seen(lab: JcLab) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in lab.api.seen if r.method != "GET"]


def run_rows(lab: JcLab, run_id: str) -> list[tuple[bool, str, bool, str]]:
    """``(check_mode, host, touched, step status)`` of each attempt of ``run_id``, read from the history file."""
    with History(lab.journal / "history.sqlite") as db:
        rows = []
        for run in db.attempts(run_id):
            (host,) = db.hosts(run.seq)
            (step,) = db.steps(run.seq, host.host)
            rows.append((run.check_mode, host.host, host.touched, step.status))
        return rows


def test_unlock_dry_run_check_apply_again_history_and_undo(lab: JcLab) -> None:
    user_id = lab.api.directory.user_id("lou")
    args = ("fix", "jc-unlock", "--jc-user", "lou")  # one run id per run: a run id names one run

    dry = lab.jcfix(*args, "--run-id", "unlock-d", "--dry-run", JCFIX_JC_API_KEY="")  # no key needed: nothing is sent
    assert dry.returncode == 0 and lab.api.seen == [], dry.stderr
    assert "POST /api/systemusers/{id of lou}/unlock" in dry.stdout
    assert "GET /api/systemusers?filter=username%3A%24eq%3Alou" in dry.stdout
    assert all(len(line) <= 80 for line in dry.stdout.splitlines())

    check = lab.jcfix(*args, "--run-id", "unlock-c", "--check", "-o", "json")
    assert check.returncode == 5 and outcome(check)["status"] == "changed" and outcome(check)["check_mode"]
    assert lab.api.directory.users[user_id]["account_locked"] is True and writes_seen(lab) == []

    apply = lab.jcfix(*args, "--run-id", "unlock-1", "-o", "json")
    assert apply.returncode == 5, apply.stderr
    assert outcome(apply)["after"]["account_locked"] is False
    assert lab.api.directory.users[user_id]["account_locked"] is False
    assert writes_seen(lab) == [("POST", f"/api/systemusers/{user_id}/unlock")]
    (entry,) = json.loads((lab.journal / "unlock-1.json").read_text())["entries"]
    assert entry["change"] == "unlock" and entry["outcome"] == "applied" and entry["undoable"] is False

    again = lab.jcfix(*args, "--run-id", "unlock-2", "-o", "json")
    assert again.returncode == 0 and outcome(again)["status"] == "ok"
    assert len(writes_seen(lab)) == 1  # the second apply sent nothing
    reused = lab.jcfix(*args, "--run-id", "unlock-1")
    assert reused.returncode == 2 and "unlock-1" in reused.stderr  # a run id names one run

    assert run_rows(lab, "unlock-c") == [(True, "jumpcloud", False, "changed")]
    assert run_rows(lab, "unlock-1") == [(False, "jumpcloud", True, "changed")]
    assert run_rows(lab, "unlock-2") == [(False, "jumpcloud", False, "ok")]
    listed = lab.jcfix("runs", "list")
    rows = [line.strip("│┃ ").split() for line in listed.stdout.splitlines()]
    found = {rid: sum(row[:1] == [rid] for row in rows) for rid in ("unlock-c", "unlock-1", "unlock-2")}
    assert listed.returncode == 0 and found == {"unlock-c": 1, "unlock-1": 1, "unlock-2": 1}, listed.stdout
    shown = lab.jcfix("runs", "show", "unlock-1")
    assert shown.returncode == 0 and "jumpcloud" in shown.stdout and "jc-unlock lou" in shown.stdout

    undo = lab.jcfix("undo", "--run-id", "unlock-1", "-o", "json")
    assert undo.returncode == 0, undo.stderr
    assert outcome(undo)["status"] == "skipped" and "no call that locks" in outcome(undo)["notes"][0]
    assert lab.api.directory.users[user_id]["account_locked"] is False
    assert not listed_every_user(lab)


def test_bind_check_apply_provisions_again_ok_and_undo_unbinds(lab: JcLab) -> None:
    key = lab.host("lab-jc-unbound").agent.system_key
    user_id = lab.api.directory.user_id("ursula")
    args = ("fix", "jc-bind", "--jc-user", "ursula", "--system-id", key, "-o", "json")
    assert ("NOT_BOUND_TO_DEVICE", "ursula") in codes_on(lab, "lab-jc-unbound")

    dry = lab.jcfix(*args[:-2], "--dry-run")
    assert dry.returncode == 0 and writes_seen(lab) == []
    assert f"POST /api/v2/systems/{key}/associations" in dry.stdout
    assert '"op": "add", "type": "user", "id": "{id of ursula}"' in dry.stdout

    check = lab.jcfix(*args, "--check")
    assert check.returncode == 5 and outcome(check)["planned"] and user_id not in lab.api.directory.bindings[key]

    apply = lab.jcfix(*args, "--run-id", "bind-1")
    assert apply.returncode == 5 and outcome(apply)["after"]["bound"] is True, apply.stdout + apply.stderr
    assert user_id in lab.api.directory.bindings[key]
    lab.agent_sync("lab-jc-unbound")  # the agent's next check-in, now rather than in a few seconds
    found = codes_on(lab, "lab-jc-unbound")
    assert ("PROVISIONED", "ursula") in found and ("NOT_BOUND_TO_DEVICE", "ursula") not in found
    assert readback.account(lab.host("lab-jc-unbound"), "ursula") is not None

    again = lab.jcfix(*args)
    assert again.returncode == 0 and outcome(again)["status"] == "ok"
    assert writes_seen(lab).count(("POST", f"/api/v2/systems/{key}/associations")) == 1

    undo = lab.jcfix("undo", "--run-id", "bind-1", "-o", "json")
    assert undo.returncode == 5 and outcome(undo)["after"] == {"device": "lab-jc-unbound", "bound_directly": False}
    assert user_id not in lab.api.directory.bindings[key]
    assert ("NOT_BOUND_TO_DEVICE", "ursula") in codes_on(lab, "lab-jc-unbound")
    undo_again = lab.jcfix("fix", "jc-undo", "--run-id", "bind-1", "-o", "json")  # the alias
    assert undo_again.returncode == 0 and outcome(undo_again)["notes"] == ["already unbound from lab-jc-unbound"]


def test_bind_undo_leaves_a_binding_this_run_did_not_add(lab: JcLab) -> None:
    key = lab.host("lab-jc-unbound").agent.system_key
    user_id = lab.api.directory.user_id("ursula")
    assert lab.jcfix("fix", "jc-bind", "--jc-user", "ursula", "--system-id", key, "--run-id", "a").returncode == 5
    # A later run finds the binding there: it adds nothing, so undoing it removes nothing.
    assert lab.jcfix("fix", "jc-bind", "--jc-user", "ursula", "--system-id", key, "--run-id", "b").returncode == 0
    nothing = lab.jcfix("undo", "--run-id", "b")
    assert nothing.returncode == 2 and "run b changed nothing in JumpCloud" in nothing.stderr
    assert user_id in lab.api.directory.bindings[key]


def test_bind_bad_system_key_is_refused_before_anything_connects(lab: JcLab) -> None:
    result = lab.jcfix("fix", "jc-bind", "--jc-user", "ursula", "--system-id", "lab-jc-unbound")
    assert result.returncode == 2 and lab.api.seen == []
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("jcfix: ")
    unknown = lab.jcfix(
        "fix", "jc-bind", "--jc-user", "ursula", "--system-id", "6a00000000000000000000ff", "-o", "json"
    )
    assert unknown.returncode == 3 and "no device with systemKey" in outcome(unknown)["error"]["message"]


def test_suspended_user_only_with_the_flag_then_undo_suspends_again(lab: JcLab) -> None:
    user_id = lab.api.directory.user_id("sam")
    base = ("fix", "jc-activate", "--jc-user", "sam", "-o", "json")
    refused = lab.jcfix(*base)
    assert refused.returncode == 3 and "--reactivate-suspended" in outcome(refused)["error"]["message"]
    args = (*base, "--reactivate-suspended")
    check = lab.jcfix(*args, "--check")
    assert check.returncode == 5 and "sign in again everywhere JumpCloud manages" in outcome(check)["planned"][0]
    assert lab.api.directory.users[user_id]["state"] == "SUSPENDED"

    apply = lab.jcfix(*args, "--run-id", "sam-1")
    assert apply.returncode == 5 and outcome(apply)["after"]["state"] == "ACTIVATED", apply.stdout + apply.stderr
    assert lab.api.directory.users[user_id]["state"] == "ACTIVATED"
    assert ("JC_USER_SUSPENDED", "sam") not in codes_on(lab, "lab-jc-suspended")
    # At its next check-in the agent enables the managed account again (the lab's model: see jcdirectory).
    lab.agent_sync("lab-jc-suspended")
    assert readback.account(lab.host("lab-jc-suspended"), "sam").enabled  # type: ignore[union-attr]
    assert ("ACCOUNT_DISABLED", "sam") not in codes_on(lab, "lab-jc-suspended")
    again = lab.jcfix(*args)
    assert again.returncode == 0 and outcome(again)["status"] == "ok"

    undo = lab.jcfix("undo", "--run-id", "sam-1", "--check", "-o", "json")
    assert undo.returncode == 5 and lab.api.directory.users[user_id]["state"] == "ACTIVATED"
    undo = lab.jcfix("undo", "--run-id", "sam-1", "-o", "json")
    assert undo.returncode == 5 and outcome(undo)["after"]["state"] == "SUSPENDED"
    assert lab.api.directory.users[user_id]["state"] == "SUSPENDED"
    assert ("JC_USER_SUSPENDED", "sam") in codes_on(lab, "lab-jc-suspended")
    undo_again = lab.jcfix("undo", "--run-id", "sam-1", "-o", "json")
    assert undo_again.returncode == 0 and outcome(undo_again)["notes"] == ["already SUSPENDED"]


def test_undo_does_not_suspend_a_user_changed_since(lab: JcLab) -> None:
    user_id = lab.api.directory.user_id("sam")
    args = ("fix", "jc-activate", "--jc-user", "sam", "--reactivate-suspended", "--run-id", "sam-2")
    assert lab.jcfix(*args).returncode == 5
    lab.api.directory.users[user_id]["state"] = "STAGED"  # someone changed it since (the lab allows it)
    undo = lab.jcfix("undo", "--run-id", "sam-2", "-o", "json")
    assert undo.returncode == 3 and "not ACTIVATED as this run left them" in outcome(undo)["error"]["message"]
    assert lab.api.directory.users[user_id]["state"] == "STAGED"


def test_activation_email_is_not_sent_again_while_pending_unless_resend(lab: JcLab) -> None:
    args = ("fix", "jc-activate", "--jc-user", "newhire", "-o", "json")
    first = lab.jcfix(*args, "--run-id", "nopw-1")
    assert first.returncode == 5 and outcome(first)["status"] == "pending"
    assert lab.api.directory.emails == [("activation", "newhire")]

    second = lab.jcfix(*args, "--run-id", "nopw-2")
    assert second.returncode == 0 and outcome(second)["status"] == "ok", second.stdout
    assert "run nopw-1" in outcome(second)["notes"][0] and "--resend" in outcome(second)["notes"][0]
    check = lab.jcfix(*args, "--check")
    assert check.returncode == 0 and outcome(check)["planned"] == []
    assert lab.api.directory.emails == [("activation", "newhire")]  # not sent again

    resent = lab.jcfix(*args, "--resend", "--run-id", "nopw-3")
    assert resent.returncode == 5 and outcome(resent)["planned"] == [
        "send the activation email again: the user sets their own password"
    ]
    assert lab.api.directory.emails == [("activation", "newhire")] * 2

    undo = lab.jcfix("undo", "--run-id", "nopw-1", "-o", "json")
    assert undo.returncode == 0 and outcome(undo)["status"] == "skipped"
    assert "cannot undo activation_email" in outcome(undo)["notes"][0]

    lab.api.directory.set_password_from_email("newhire")
    done = lab.jcfix(*args)
    assert done.returncode == 0 and outcome(done)["notes"] == ["already Active with a password"]


def test_dry_runs_of_activate_and_undo_send_nothing(lab: JcLab) -> None:
    dry = lab.jcfix("fix", "jc-activate", "--jc-user", "sam", "--reactivate-suspended", "--dry-run", "-o", "json")
    assert dry.returncode == 0 and lab.api.seen == []
    plan = json_out(dry)["dry_run"]
    assert {"method": "PUT", "path": "/api/systemusers/{id of sam}", "operation": "User_Set"}.items() <= plan["writes"][
        0
    ].items()
    assert plan["writes"][0]["body"] == {"state": "ACTIVATED"}
    assert (
        lab.jcfix("fix", "jc-activate", "--jc-user", "sam", "--reactivate-suspended", "--run-id", "s").returncode == 5
    )
    sent = len(lab.api.seen)
    undo = lab.jcfix("undo", "--run-id", "s", "--dry-run")
    assert undo.returncode == 0 and len(lab.api.seen) == sent
    assert "PUT /api/systemusers/" in undo.stdout and '"state": "SUSPENDED"' in undo.stdout
