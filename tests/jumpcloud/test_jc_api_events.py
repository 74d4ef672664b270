"""Scheduled state changes: every page of ``eventlist/next``, for Staged and Suspended users.

Facts (TheJumpCloud/jcapi-powershell, MIT licence, SwaggerSpecs/JumpCloud.SDK.V2.json,
``NextScheduledBulkUserState_Get``): ``users`` at most 100; ``limit`` default 10, limited to 100; ``skip``;
``events_count`` larger than the page means more calls; at most one event per state per user.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from toolkit.jumpcloud import api
from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudConfig
from toolkit.jumpcloud.facts import read_facts
from toolkit.lab.jcapi import JumpCloudLab
from toolkit.lab.jcdirectory import JcScenarioUser, iso, now_utc, object_id
from toolkit.lab.scenarios import load_hosts
from toolkit.secrets import Secret

EVENTS = "/api/v2/bulk/userstates/eventlist/next"


@pytest.fixture
def lab() -> Iterator[JumpCloudLab]:
    with JumpCloudLab.for_hosts(load_hosts("jumpcloud"), "jumpcloud") as running:
        yield running


def client_for(lab: JumpCloudLab) -> JumpCloudClient:
    return JumpCloudClient(JumpCloudConfig(base_url=lab.url, api_key=Secret(lab.api_key)), sleep=lambda s: None)


def add_suspension(lab: JumpCloudLab, user_id: str, days: float) -> None:
    """A second scheduled event (SUSPENDED) for ``user_id``: the endpoint returns one per state."""
    lab.directory.scheduled.setdefault(user_id, []).append(
        {
            "scheduledDate": iso(now_utc() + timedelta(days=days)),
            "scheduledJobId": object_id("job", f"suspend-{user_id}"),
            "state": "SUSPENDED",
            "systemUserId": user_id,
        }
    )


def test_more_than_a_page_of_events_is_read_page_by_page(lab: JumpCloudLab) -> None:
    ids = []
    for index in range(130):
        user_id = lab.directory.add_user(JcScenarioUser(username=f"hire{index:03d}", state="STAGED", start_in_days=3))
        add_suspension(lab, user_id, 90)
        ids.append(user_id)
    with client_for(lab) as client:
        default_page = client.get(EVENTS, users=",".join(ids[:100]))
        events = api.scheduled_states(client, ids)
    # The stand-in pages as the spec says: 10 by default, events_count the whole.
    assert default_page["events_count"] == 200 and len(default_page["results"]) == 10
    assert len(events) == 260 and {(e.user_id, e.state) for e in events} == {
        (u, s) for u in ids for s in ("ACTIVATED", "SUSPENDED")
    }
    calls = lab.requests_to("GET", EVENTS)[1:]
    assert [(len(c.query["users"][0].split(",")), c.query["skip"]) for c in calls] == [
        (100, ["0"]),
        (100, ["100"]),
        (30, ["0"]),
    ]
    assert all(c.query["limit"] == ["100"] for c in calls)


def test_only_the_next_event_of_each_state_is_returned(lab: JumpCloudLab) -> None:
    user_id = lab.directory.add_user(JcScenarioUser(username="late", state="STAGED", start_in_days=10))
    lab.directory.scheduled[user_id].append({**lab.directory.scheduled[user_id][0], "scheduledDate": iso(now_utc())})
    with client_for(lab) as client:
        [event] = api.scheduled_states(client, [user_id])
    assert event.at() is not None and event.at() <= now_utc()  # the earlier of the two activations


def test_a_suspended_users_scheduled_reactivation_is_read(lab: JumpCloudLab) -> None:
    lab.directory.add_user(JcScenarioUser(username="onleave", state="SUSPENDED", start_in_days=5))
    lab.directory.add_user(JcScenarioUser(username="starter", state="STAGED", start_in_days=2))
    with client_for(lab) as client:
        facts = read_facts(client, [])
    by_name = {u.username: u.id for u in facts.users}
    assert [e.state for e in facts.scheduled[by_name["onleave"]]] == ["ACTIVATED"]
    assert [e.state for e in facts.scheduled[by_name["starter"]]] == ["ACTIVATED"]


def test_the_diagnosis_reader_reads_suspended_users_start_dates_too(
    lab: JumpCloudLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolkit.jumpcloud.diagnosis import JumpCloudReader

    lab.directory.add_user(JcScenarioUser(username="onleave", state="SUSPENDED", start_in_days=5))
    monkeypatch.setenv("JCFIX_JC_API_KEY", lab.api_key)
    monkeypatch.setenv("JCFIX_JC_URL", lab.url)
    with JumpCloudReader(enabled=True) as reader:
        facts = reader.facts_for(None)
    assert facts is not None
    onleave = next(u for u in facts.users if u.username == "onleave")
    assert [e.state for e in facts.scheduled[onleave.id]] == ["ACTIVATED"]
