"""The JumpCloud-side fixes' parts without a lab: request shapes (V1/V2 spec, ``TheJumpCloud/jcapi-powershell``
@ 82c20c1, MIT), the journal's "already sent" signal, the stand-in's fix routes and the history rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.history import History
from toolkit.jumpcloud import journal, writes
from toolkit.jumpcloud.fix_common import FixOutcome
from toolkit.jumpcloud.fix_history import JC_AUTH, JC_HOST, FixRunRecord, is_jumpcloud_run
from toolkit.lab.jcdirectory import JcScenarioUser, LabDirectory
from toolkit.lab.jcroutes import Routes

SYSTEM = "6a0000000000000000000007"


def test_requests_follow_the_spec_shapes() -> None:
    # SystemAssociation_Set: GraphOperation-System, id and op required, type user.
    add = writes.association_request(SYSTEM, "u1", "add")
    assert (add.method, add.path, add.operation) == (
        "POST",
        f"/api/v2/systems/{SYSTEM}/associations",
        "SystemAssociation_Set",
    )
    assert add.body == {"op": "add", "type": "user", "id": "u1"}
    assert writes.association_request(SYSTEM, "u1", "remove").body["op"] == "remove"
    with pytest.raises(ValueError):
        writes.association_request(SYSTEM, "u1", "update")
    # User_Set: systemuserput.state is ACTIVATED or SUSPENDED, never STAGED.
    assert writes.state_request("u1", "SUSPENDED").body == {"state": "SUSPENDED"}
    with pytest.raises(ValueError):
        writes.state_request("u1", "STAGED")
    unlock = writes.unlock_request("u1")
    assert (unlock.method, unlock.path, unlock.body) == ("POST", "/api/systemusers/u1/unlock", None)
    listing = writes.direct_users_request(SYSTEM)
    assert listing.target() == f"/api/v2/systems/{SYSTEM}/associations?targets=user"
    assert add.lines()[-1] == '  body: {"op": "add", "type": "user", "id": "u1"}'


def test_last_change_finds_the_latest_applied_send_in_any_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(journal.JOURNAL_ENV, str(tmp_path))
    assert journal.last_change("activation_email", "u1") is None
    first = journal.record("run-a", {"change": "activation_email", "user_id": "u1", "undoable": False})
    assert journal.last_change("activation_email", "u1") is None  # planned, never confirmed: not a send
    journal.settle("run-a", first, "applied")
    failed = journal.record("run-b", {"change": "activation_email", "user_id": "u1", "undoable": False})
    journal.settle("run-b", failed, "failed")
    journal.record("run-c", {"change": "activation_email", "user_id": "u2", "undoable": False})
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    found = journal.last_change("activation_email", "u1")
    assert found is not None and found["run_id"] == "run-a" and found["outcome"] == "applied"
    document = json.loads((tmp_path / "run-a.json").read_text(encoding="utf-8"))
    assert document["entries"][0]["settled"] >= document["entries"][0]["at"]


@pytest.fixture
def routes() -> Routes:
    directory = LabDirectory(auto_sync=False)
    directory.add_user(JcScenarioUser(username="ursula"))
    directory.systems[SYSTEM] = {"_id": SYSTEM, "hostname": "lab-jc-unbound", "active": True}
    directory.bindings[SYSTEM] = set()
    return Routes(directory)


def test_stand_in_associations_answer_as_the_spec_says(routes: Routes) -> None:
    user_id = routes.d.user_id("ursula")
    path = f"/api/v2/systems/{SYSTEM}/associations"
    assert routes.dispatch("GET", path, {}, None)[0] == 400  # targets is required
    assert routes.dispatch("GET", path, {"targets": ["user"]}, None)[:2] == (200, [])
    assert routes.dispatch("POST", path, {}, {"op": "add", "type": "user"})[0] == 400  # id is required
    assert routes.dispatch("POST", path, {}, {"op": "link", "type": "user", "id": user_id})[0] == 400
    assert routes.dispatch("POST", path, {}, {"op": "add", "type": "device", "id": user_id})[0] == 400
    assert routes.dispatch("POST", "/api/v2/systems/ffffffffffffffffffffffff/associations", {}, {})[0] == 400
    unknown = {"op": "add", "type": "user", "id": user_id}
    assert routes.dispatch("POST", "/api/v2/systems/ffffffffffffffffffffffff/associations", {}, unknown)[0] == 404
    assert routes.dispatch("POST", path, {}, {"op": "add", "type": "user", "id": user_id}) == (204, None, {})
    status, body, headers = routes.dispatch("GET", path, {"targets": ["user"]}, None)
    assert status == 200 and headers == {}  # the spec declares no X-Total-Count
    assert body == [{"to": {"id": user_id, "type": "user"}}]
    assert routes.dispatch("POST", path, {}, {"op": "remove", "type": "user", "id": user_id})[0] == 204
    assert routes.d.bindings[SYSTEM] == set()


def test_stand_in_unlock(routes: Routes) -> None:
    user_id = routes.d.user_id("ursula")
    routes.d.users[user_id]["account_locked"] = True
    assert routes.dispatch("POST", f"/api/systemusers/{user_id}/unlock", {}, None) == (200, None, {})
    assert routes.d.users[user_id]["account_locked"] is False
    assert routes.dispatch("POST", "/api/systemusers/ffffffffffffffffffffffff/unlock", {}, None)[0] == 404


def test_a_fix_run_is_recorded_like_a_device_run(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite"
    applied = FixOutcome("jc-bind", "ursula", "r1", False, status="changed")
    FixRunRecord("r1", check=False, base_url="https://console.jumpcloud.com", parameters={}, history=history).record(
        [applied], 5
    )
    checked = FixOutcome("jc-bind", "ursula", "r2", True, status="changed")
    FixRunRecord("r2", check=True, base_url="http://127.0.0.1:8", parameters={}, history=history).record([checked], 5)
    with History(history) as db:
        (run,) = db.attempts("r1")
        (host,) = db.hosts(run.seq)
        assert (host.host, host.auth, host.address, host.port, host.scheme) == (
            JC_HOST,
            JC_AUTH,
            "console.jumpcloud.com",
            443,
            "https",
        )
        assert host.touched and run.exit_code == 5 and run.counts == {**run.counts, "changed": 1}
        (step,) = db.steps(run.seq, JC_HOST)
        assert step.action == "jc_bind" and step.document["jc_user"] == "ursula"
        (check_run,) = db.attempts("r2")
        assert not next(iter(db.hosts(check_run.seq))).touched  # a check run changes nothing
    assert is_jumpcloud_run("r1", history) and not is_jumpcloud_run("nope", history)
