"""Users by name through the v1 ``filter`` (no listing of every user), and the organisation's password policy.

Facts (TheJumpCloud/jcapi-powershell, MIT licence, SwaggerSpecs/JumpCloud.SDK.V1.json): ``User_List`` takes
``filter`` (``field:$eq:value``, the operator form of the ``CommandResult_Search`` example); ``User_Search``
takes a body ``filter``; errors are the ``Error`` object ``{code, message, status}``. The case-insensitive
``$regex`` is what JumpCloud's ADMU sends (TheJumpCloud/jumpcloud-ADMU, Test-JumpCloudUsername.ps1).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from toolkit.jumpcloud import api
from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudConfig, JumpCloudError
from toolkit.lab.jcapi import JumpCloudLab
from toolkit.lab.jcdirectory import JcScenarioUser
from toolkit.lab.scenarios import load_hosts
from toolkit.secrets import Secret


@pytest.fixture
def lab() -> Iterator[JumpCloudLab]:
    with JumpCloudLab.for_hosts(load_hosts("jumpcloud"), "jumpcloud") as running:
        for index in range(150):  # more than one page: listing every user would show in lab.seen
            running.directory.add_user(JcScenarioUser(username=f"bulk{index:03d}"))
        running.directory.add_user(JcScenarioUser(username="Jonathan"))
        running.directory.add_user(JcScenarioUser(username="jonathan.smith"))
        yield running


def client_for(lab: JumpCloudLab) -> JumpCloudClient:
    return JumpCloudClient(JumpCloudConfig(base_url=lab.url, api_key=Secret(lab.api_key)), sleep=lambda s: None)


def test_an_exact_name_is_one_filtered_call(lab: JumpCloudLab) -> None:
    with client_for(lab) as client:
        exact, near = api.user_by_username(client, "Jonathan")
    assert exact is not None and exact.username == "Jonathan" and near == []
    [call] = lab.requests_to("GET", "/api/systemusers")
    assert call.query["filter"] == ["username:$eq:Jonathan"]
    assert not lab.requests_to("POST", "/api/search/systemusers")


def test_case_only_matches_come_from_an_anchored_case_insensitive_search(lab: JumpCloudLab) -> None:
    with client_for(lab) as client:
        exact, near = api.user_by_username(client, "JONATHAN")
        missing, none_near = api.user_by_username(client, "jonathan.")  # "." is literal, not "any character"
    assert exact is None and [u.username for u in near] == ["Jonathan"]  # not jonathan.smith: anchored
    assert missing is None and none_near == []
    assert all(r.query.get("filter") for r in lab.requests_to("GET", "/api/systemusers"))
    assert len(lab.requests_to("POST", "/api/search/systemusers")) == 2


def test_lookup_user_uses_the_filter_and_names_a_case_only_match(lab: JumpCloudLab) -> None:
    with client_for(lab) as client:
        assert api.lookup_user(client, "bulk149").username == "bulk149"
        with pytest.raises(JumpCloudError, match="did you mean 'Jonathan'"):
            api.lookup_user(client, "jonathan")
        with pytest.raises(JumpCloudError) as caught:
            api.lookup_user(client, "nobody")
    assert caught.value.kind == "not_found"
    # No unfiltered list of the organisation's users was read.
    assert all(r.query.get("filter") for r in lab.requests_to("GET", "/api/systemusers"))


def test_the_stand_in_filters_case_sensitively_and_refuses_unknown_operators(lab: JumpCloudLab) -> None:
    with client_for(lab) as client:
        assert client.get("/api/systemusers", filter="username:$eq:jonathan")["results"] == []
        with pytest.raises(JumpCloudError, match="HTTP 400"):
            client.get("/api/systemusers", filter="username:like:jonathan")


def test_a_password_shorter_than_the_policy_is_refused_with_the_error_shape(lab: JumpCloudLab) -> None:
    user_id = lab.directory.user_id("Jonathan")
    with client_for(lab) as client:
        answer = client._http.put(
            f"/api/systemusers/{user_id}", json={"password": "x"}, headers={"x-api-key": lab.api_key}
        )
        assert answer.status_code == 400
        body = answer.json()
        assert set(body) == {"code", "message", "status"} and body["code"] == 400 and "password" in body["message"]
        with pytest.raises(JumpCloudError, match=r"HTTP 400 .*at least 8 characters"):
            api.update_user(client, user_id, {"password": "short"})
        assert api.update_user(client, user_id, {"password": "long enough 1!"}).activated
