"""``jcfix fix jc-local-account`` and ``jc-activate``: check, apply, second apply ok, undo, and the lab device
provisioning the account afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jc_support import JcLab, jc_lab, json_out

from toolkit.lab import readback


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[JcLab]:
    # The agent checks in at once after each JumpCloud change: these tests read the device right after a fix
    # (tests/jumpcloud/test_jc_api_sync.py and the verify tests exercise the sync interval).
    with jc_lab("jumpcloud", tmp_path, agent_sync_s=0) as running:
        yield running


def one(result: Any) -> dict[str, Any]:
    """The one outcome in the JSON envelope (its one host is the ``jumpcloud`` API)."""
    (host,) = json_out(result)["hosts"]
    (outcome,) = host["results"]
    return dict(outcome)


def codes_on(lab: JcLab, host: str) -> set[tuple[str, str | None]]:
    result = lab.jcfix("diagnose", *lab.winrm(), "--limit", host, "--output", "json")
    return {(f["code"], f["subject"]) for h in json_out(result)["hosts"] for f in h["findings"]}


def test_local_account_check_apply_again_undo_and_takeover(lab: JcLab) -> None:
    user_id = lab.api.directory.user_id("Jonathan")
    args = ("fix", "jc-local-account", "--jc-user", "Jonathan", "--to", "jonathan", "-o", "json")
    check = lab.jcfix(*args, "--check")
    assert check.returncode == 5 and one(check)["check_mode"] and one(check)["status"] == "changed"
    assert "systemUsername" not in lab.api.directory.users[user_id]

    apply = lab.jcfix(*args, "--run-id", "run-1")
    outcome = one(apply)
    assert apply.returncode == 5 and outcome["status"] == "changed"
    assert outcome["after"]["systemUsername"] == "jonathan" == lab.api.directory.users[user_id]["systemUsername"]
    assert lab.jcfix(*args).returncode == 0 and one(lab.jcfix(*args))["status"] == "ok"

    # The lab agent checks in: the existing 'jonathan' account is taken over, the case mismatch is gone.
    found = codes_on(lab, "lab-jc-local")
    assert ("TAKEN_OVER", "Jonathan") in found and ("CASE_MISMATCH", "Jonathan") not in found
    assert "jonathan" in readback.managed_users(lab.host("lab-jc-local"))

    undo = lab.jcfix("fix", "jc-undo", "--run-id", "run-1", "-o", "json")
    assert undo.returncode == 5 and one(undo)["status"] == "changed"
    assert "systemUsername" not in lab.api.directory.users[user_id]
    again = lab.jcfix("fix", "jc-undo", "--run-id", "run-1", "-o", "json")
    assert again.returncode == 0 and one(again)["notes"] == ["already restored"]


def test_local_account_refuses_a_taken_or_invalid_name(lab: JcLab) -> None:
    taken = lab.jcfix("fix", "jc-local-account", "--jc-user", "Jonathan", "--to", "john.smith", "-o", "json")
    assert taken.returncode == 3 and "unique" in one(taken)["error"]["message"]
    sent = len(lab.api.seen)
    invalid = lab.jcfix("fix", "jc-local-account", "--jc-user", "Jonathan", "--to", "a/b", "-o", "json")
    # a name Windows refuses is bad input: refused before anything is sent (issue 15 item 3)
    assert invalid.returncode == 2 and "cannot be a Windows account name" in invalid.stderr
    assert len(lab.api.seen) == sent
    case = lab.jcfix("fix", "jc-local-account", "--jc-user", "jonathan", "--to", "jonathan", "-o", "json")
    assert "did you mean 'Jonathan'" in one(case)["error"]["message"]


def test_activate_without_password_sends_the_email_then_the_device_gets_the_account(lab: JcLab) -> None:
    args = ("fix", "jc-activate", "--jc-user", "newhire", "-o", "json")
    check = lab.jcfix(*args, "--check")
    assert check.returncode == 5 and one(check)["planned"] == [
        "send the activation email: the user sets their own password"
    ]
    assert lab.api.directory.emails == []
    apply = lab.jcfix(*args, "--run-id", "run-2")
    assert apply.returncode == 5 and one(apply)["status"] == "pending"
    assert lab.api.directory.emails == [("activation", "newhire")]
    assert readback.account(lab.host("lab-jc-nopw"), "newhire") is None

    lab.api.directory.set_password_from_email("newhire")  # the user follows the email
    found = codes_on(lab, "lab-jc-nopw")
    assert ("PROVISIONED", "newhire") in found and ("NO_INITIAL_PASSWORD", "newhire") not in found
    assert readback.account(lab.host("lab-jc-nopw"), "newhire").description == "Created by Jumpcloud"  # type: ignore[union-attr]
    assert one(lab.jcfix(*args))["status"] == "ok"


def test_activate_with_a_password_never_shows_it_and_cannot_be_undone(lab: JcLab) -> None:
    secret = "Initial-Pa55word-XYZ"
    args = ("fix", "jc-activate", "--jc-user", "newhire", "--set-password", "-o", "json")
    apply = lab.jcfix(*args, "--run-id", "run-3", JCFIX_JC_INITIAL_PASSWORD=secret)
    assert apply.returncode == 5 and one(apply)["status"] == "changed" and one(apply)["after"]["activated"]
    assert secret not in apply.stdout + apply.stderr
    assert secret not in "".join(p.read_text() for p in lab.journal.glob("*.json"))
    assert lab.jcfix(*args, JCFIX_JC_INITIAL_PASSWORD=secret).returncode == 0
    assert ("PROVISIONED", "newhire") in codes_on(lab, "lab-jc-nopw")
    undo = lab.jcfix("fix", "jc-undo", "--run-id", "run-3", "-o", "json")
    assert undo.returncode == 0 and one(undo)["status"] == "skipped" and "cannot undo" in one(undo)["notes"][0]


def test_future_start_date_waits_unless_activate_now(lab: JcLab) -> None:
    args = ("fix", "jc-activate", "--jc-user", "starter", "-o", "json")
    waiting = lab.jcfix(*args)
    assert waiting.returncode == 0 and one(waiting)["status"] == "skipped"
    assert "--activate-now" in one(waiting)["notes"][0]
    now = lab.jcfix(*args, "--activate-now")
    assert now.returncode == 5 and one(now)["after"]["state"] == "ACTIVATED"
    assert one(lab.jcfix(*args, "--activate-now"))["status"] == "ok"
    assert ("PROVISIONED", "starter") in codes_on(lab, "lab-jc-future")


def test_suspended_users_are_refused(lab: JcLab) -> None:
    result = lab.jcfix("fix", "jc-activate", "--jc-user", "sam", "-o", "json")
    assert result.returncode == 3 and "Suspended" in one(result)["error"]["message"]
