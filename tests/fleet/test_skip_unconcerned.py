"""Issue 13 item 9: fleet-wide fix and undo skip the hosts they do not concern; real failures still count.

Before: ``jcfix fix rename -i INV --user jonathan`` failed every host without that account, and
``jcfix undo -i INV --run-id RUN`` failed every host the run never touched (exit 3 for both).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from toolkit.actions import get_action
from toolkit.models import Step
from toolkit.results import ResultDocument, failed
from toolkit.runner import HostReport
from toolkit.services.apply_fix import MissingAccountReview, nearest_names
from toolkit.transport.base import HostTarget

Jcfix = Callable[..., subprocess.CompletedProcess[str]]
LIMIT = "lab-case,lab-msa,lab-pin"


def _hosts(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert result.stdout.strip(), result.stderr
    return {host["host"]: host for host in json.loads(result.stdout)}


def test_fix_and_undo_skip_hosts_they_do_not_concern(lab_fleet: Any, jcfix: Jcfix, tmp_path: Path) -> None:
    _, inventory = lab_fleet("mixed")
    renamed = jcfix(
        "fix", "rename", "-i", str(inventory), "-l", LIMIT, "--user", "jonathan", "--to", "Jonathan",
        "--run-id", "r-skip", "-o", "json",
    )  # fmt: skip
    hosts = _hosts(renamed)
    assert hosts["lab-case"]["status"] == "changed"
    assert hosts["lab-msa"]["status"] == hosts["lab-pin"]["status"] == "skipped"
    assert renamed.returncode == 5, renamed.stderr  # changed; no host failed
    history = sqlite3.connect(tmp_path / "history.db")
    reasons = dict(history.execute("SELECT host, reason FROM hosts WHERE status = 'skipped'").fetchall())
    assert set(reasons) == {"lab-msa", "lab-pin"}
    assert all("no local account 'jonathan'" in reason for reason in reasons.values())

    # No host has the account (a typo): a failure, not a skip, with the nearest local username beside it.
    typo = jcfix("fix", "rename", "-i", str(inventory), "-l", "lab-msa", "--user", "mraia", "--to", "m", "--check")
    assert typo.returncode == 3, typo.stderr
    assert "no local account named 'mraia' (did you mean maria?)" in typo.stdout

    undone = jcfix("undo", "-i", str(inventory), "-l", LIMIT, "--run-id", "r-skip", "-o", "json")
    hosts = _hosts(undone)
    assert hosts["lab-case"]["status"] == "changed"
    assert hosts["lab-msa"]["status"] == hosts["lab-pin"]["status"] == "skipped"
    assert hosts["lab-msa"]["results"] == []  # decided from the history: never connected to
    assert undone.returncode == 5, undone.stderr
    preview = jcfix("undo", "-i", str(inventory), "-l", LIMIT, "--run-id", "r-skip", "--dry-run")
    assert "# ==== lab-msa: skipped" in preview.stdout and "# ==== lab-pin: skipped" in preview.stdout
    assert "# ==== lab-case (" in preview.stdout


def test_a_refusal_on_a_host_that_has_the_account_still_fails(lab_fleet: Any, jcfix: Jcfix) -> None:
    _, inventory = lab_fleet("mixed")
    # lab-case has 'jonathan'; renaming it onto another account's name is refused there: a real failure.
    result = jcfix(
        "fix", "rename", "-i", str(inventory), "-l", "lab-case", "--user", "jonathan", "--to", "Administrator",
        "-o", "json",
    )  # fmt: skip
    assert _hosts(result)["lab-case"]["status"] == "failed"
    assert result.returncode == 3, result.stderr


def test_held_only_for_a_refusal_before_any_account_was_read() -> None:
    action = get_action("rename_user")
    step = Step(action, action.render({"UserName": "jonathan", "NewName": "Jonathan", "RunId": "r-1"}))
    refused = failed("rename_user", "invalid_input", "whatever the message says")
    report = HostReport(HostTarget("pc-1"), [(step, refused)])
    assert MissingAccountReview().held(report)
    unreachable = HostReport(HostTarget("pc-1"), [(step, failed("rename_user", "unreachable", "refused"))])
    assert not MissingAccountReview().held(unreachable)


def test_nearest_names_are_case_folded() -> None:
    assert nearest_names("JONATAN", ["Jonathan", "maria", "Administrator"]) == ["Jonathan"]
    assert nearest_names("zzz", ["Jonathan", "maria"]) == []


def _listed(names: list[str]) -> Any:
    from toolkit.actions.list_users import ListUsersData, LocalUser
    from toolkit.results import ResultDocument

    users = [
        LocalUser(
            name=n, full_name="", sid=f"S-1-5-21-1-{i}", enabled=True, principal_source="Local", last_logon=None,
            profile_path=None, profile_loaded=False, description="",
        )
        for i, n in enumerate(names)
    ]  # fmt: skip
    data = ListUsersData(computer_name="PC-1", source="Get-LocalUser", users=users)
    return ResultDocument[ListUsersData](schema=1, action="list_users", status="ok", changed=False, data=data)


def test_decided_from_the_hosts_accounts(monkeypatch: Any) -> None:
    """A held refusal is skipped only when the host's own account list lacks the account."""
    action = get_action("rename_user")
    step = Step(action, action.render({"UserName": "Jonathan", "NewName": "jon", "RunId": "r-1"}))
    held = [HostReport(HostTarget(name), [(step, failed("rename_user", "invalid_input", "x"))]) for name in ("a", "b")]
    accounts = {"a": ["jonathan", "maria"], "b": ["Jonathon", "maria"]}
    list_step = Step(get_action("list_users"), get_action("list_users").render({}))

    def fake_run_fleet(plan: Any, settings: Any, forks: int = 32) -> Any:
        for target, _ in plan:
            yield HostReport(target, [(list_step, _listed(accounts[target.name]))])

    monkeypatch.setattr("toolkit.runner.run_fleet", fake_run_fleet)
    from toolkit.settings import ConnectionSettings

    alone = MissingAccountReview().decide(held, [], ConnectionSettings(), 4)
    assert alone == {}  # no host of the run had the account: both stay failures
    assert [r.status for r in held] == ["failed", "failed"]
    assert held[1].results[0][1].error is not None
    assert held[1].results[0][1].error.message == "x (did you mean Jonathon?)"
    found = ResultDocument[BaseModel](schema=1, action="rename_user", status="changed", changed=True, data=None)
    found._partial_data = {"sid": "S-1-5-21-1-9"}
    other = HostReport(HostTarget("c"), [(step, found)])
    reasons = MissingAccountReview().decide(held, [other], ConnectionSettings(), 4)
    assert reasons == {"b": "no local account 'Jonathan' on this host (did you mean Jonathon?)"}
