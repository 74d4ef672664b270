"""``jcfix verify provisioned`` reads managedUsers.json through the decided facts: every user of a shared device."""

from __future__ import annotations

from factsupport import account, host_facts, sample

from toolkit.actions import get_action
from toolkit.facts import HostFacts
from toolkit.results import ResultDocument
from toolkit.runner import HostReport, Step
from toolkit.services.verify import HostProgress, UserProgress, update
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget


def _report(facts: HostFacts) -> HostReport:
    action = get_action("collect_facts")
    step = Step(action, RenderedScript(action.name, action.version, "# not rendered"))
    result = ResultDocument[HostFacts](schema=1, action="collect_facts", status="ok", changed=False, data=facts)
    return HostReport(HostTarget("pc-shared"), [(step, result)])


def test_every_managed_user_of_a_shared_device_is_taken_over() -> None:
    progress = HostProgress("pc-shared", [UserProgress("alice"), UserProgress("bob"), UserProgress("carol")])
    users = (account("alice", 1001), account("bob", 1002), account("carol", 1003))
    before = host_facts(*users, managed_users=b"[]")
    update(progress, _report(before))
    assert [u.describe() for u in progress.users] == ["account exists; the agent does not manage it yet"] * 3
    # The agent took over alice and bob (a two-user file as PowerShell 5.1 lays it out): both done, carol not.
    update(progress, _report(host_facts(*users, managed_users=sample("managed_users_several_ps51.json"))))
    assert [u.describe() for u in progress.users] == [
        "taken over",
        "taken over",
        "account exists; the agent does not manage it yet",
    ]
    assert not progress.done


def test_an_unreadable_file_shows_in_the_last_diagnosis() -> None:
    progress = HostProgress("pc-shared", [UserProgress("alice")])
    update(progress, _report(host_facts(account("alice"), managed_users=sample("managed_users_invalid.json"))))
    assert not progress.users[0].managed
    assert any("AGENT_FILES_UNREADABLE" in line for line in progress.findings)
