"""The API client against the lab stand-in: paging, 401/403/404, 429 with Retry-After, 500 then success,
timeouts, and the key never showing anywhere."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from toolkit.jumpcloud import api
from toolkit.jumpcloud.client import (
    REGION_URLS,
    JumpCloudClient,
    JumpCloudConfig,
    JumpCloudError,
    base_url_for,
    load_config,
)
from toolkit.lab.jcapi import InjectedFault, JumpCloudLab
from toolkit.lab.jcdirectory import JcScenarioUser, LabDirectory
from toolkit.lab.scenarios import load_hosts
from toolkit.secrets import Secret


@pytest.fixture
def lab() -> Iterator[JumpCloudLab]:
    with JumpCloudLab.for_hosts(load_hosts("jumpcloud"), "jumpcloud") as running:
        yield running


def client_for(lab: JumpCloudLab, *, key: str | None = None, sleeps: list[float] | None = None, **config: object):
    settings = JumpCloudConfig(base_url=lab.url, api_key=Secret(key or lab.api_key), **config)  # type: ignore[arg-type]
    return JumpCloudClient(settings, sleep=(sleeps.append if sleeps is not None else lambda s: None))


def test_users_page_through_several_pages_with_skip_and_total_count(lab: JumpCloudLab) -> None:
    for index in range(230):
        lab.directory.add_user(JcScenarioUser(username=f"bulk{index:03d}"))
    with client_for(lab) as client:
        users = api.list_users(client)
    assert len(users) == 241 and len({u.id for u in users}) == 241
    pages = lab.requests_to("GET", "/api/systemusers")
    assert [p.query["skip"] for p in pages] == [["0"], ["100"], ["200"]]
    assert all(p.query["limit"] == ["100"] and p.query["sort"] == ["_id"] for p in pages)


def test_v2_lists_page_without_x_total_count(lab: JumpCloudLab) -> None:
    """The spec declares no X-Total-Count on v2 lists: the stand-in sends none; a short page ends the list."""
    key = "6a000000000000000000000b"
    for index in range(6):
        lab.directory.bindings[key].add(lab.directory.add_user(JcScenarioUser(username=f"b{index}")))
    with client_for(lab) as client:
        first = client.request("GET", f"/api/v2/systems/{key}/users", params={"limit": 3, "skip": 0})
        assert "x-total-count" not in first.headers
        ids = list(client.v2_list(f"/api/v2/systems/{key}/users", page_size=3))
    assert len(ids) == len({i["id"] for i in ids}) == 8
    pages = lab.requests_to("GET", f"/api/v2/systems/{key}/users")[1:]
    assert [p.query["skip"] for p in pages] == [["0"], ["3"], ["6"]]  # 3 + 3 + 2: the short page is the last


def test_401_is_one_line_naming_the_variable_and_never_the_key(lab: JumpCloudLab) -> None:
    wrong = "wrong-key-ABCDEF-123456"
    with client_for(lab, key=wrong) as client, pytest.raises(JumpCloudError) as caught:
        api.list_users(client)
    assert caught.value.kind == "auth" and "JCFIX_JC_API_KEY" in caught.value.message
    assert "\n" not in caught.value.message and wrong not in str(caught.value) and wrong not in repr(client)


def test_403_names_the_role_and_the_org_id_is_sent_when_set(lab: JumpCloudLab) -> None:
    lab.faults.append(InjectedFault("GET", "/api/systemusers", status=403))
    with client_for(lab) as client, pytest.raises(JumpCloudError) as caught:
        api.list_users(client)
    # 403 is not "a multi-tenant admin needs x-org-id" (that is 401, V1 spec "Multi-Tenant Portal Headers").
    assert caught.value.kind == "forbidden" and "role" in caught.value.message
    assert "JCFIX_JC_ORG_ID" not in caught.value.message
    with client_for(lab, org_id=lab.directory.org_id) as client:
        api.list_users(client)
    assert lab.seen[-1].org_id == lab.directory.org_id


def test_404_system_is_none_and_404_user_is_one_line(lab: JumpCloudLab) -> None:
    with client_for(lab) as client:
        assert api.get_system(client, "000000000000000000000000") is None
        with pytest.raises(JumpCloudError) as caught:
            api.get_user(client, "000000000000000000000000")
    assert caught.value.kind == "not_found" and "HTTP 404" in caught.value.message


def test_429_waits_as_long_as_retry_after_then_succeeds(lab: JumpCloudLab) -> None:
    lab.faults.append(InjectedFault("GET", "/api/systemusers", status=429, headers={"Retry-After": "7"}, times=2))
    sleeps: list[float] = []
    with client_for(lab, sleeps=sleeps) as client:
        users = api.list_users(client)
    assert len(users) == 11 and sleeps == [7.0, 7.0]


def test_500_then_success_backs_off_and_gives_up_after_the_retries(lab: JumpCloudLab) -> None:
    lab.faults.append(InjectedFault("GET", "/api/systemusers", status=500, times=1))
    sleeps: list[float] = []
    with client_for(lab, sleeps=sleeps) as client:
        assert len(api.list_users(client)) == 11
    assert sleeps == [0.5]
    lab.faults.append(InjectedFault("GET", "/api/systemusers", status=503, times=10))
    sleeps.clear()
    with client_for(lab, sleeps=sleeps, retries=3) as client, pytest.raises(JumpCloudError) as caught:
        api.list_users(client)
    assert sleeps == [0.5, 1.0, 2.0] and caught.value.status == 503


def test_a_slow_answer_is_a_timeout_that_is_retried_then_reported(lab: JumpCloudLab) -> None:
    lab.faults.append(InjectedFault("GET", "/api/systemusers", delay_s=1.0, times=1))
    with client_for(lab, timeout=0.3) as client:
        assert len(api.list_users(client)) == 11  # the retry is answered in time
    lab.faults.append(InjectedFault("GET", "/api/systemusers", delay_s=1.0, times=5))
    with client_for(lab, timeout=0.3, retries=1) as client, pytest.raises(JumpCloudError) as caught:
        api.list_users(client)
    assert caught.value.kind == "unreachable" and caught.value.exit_code == 4 and "0.3s" in caught.value.message


def test_the_key_never_reaches_logs_reprs_or_error_text(lab: JumpCloudLab, caplog: pytest.LogCaptureFixture) -> None:
    key = lab.api_key
    lab.faults.append(InjectedFault("GET", "/api/systemusers", status=500, body={"message": f"echo {key}"}))
    with caplog.at_level(logging.DEBUG):
        with client_for(lab, retries=0) as client, pytest.raises(JumpCloudError) as caught:
            api.list_users(client)
        config = load_config(environ={"JCFIX_JC_API_KEY": key, "JCFIX_JC_URL": lab.url})
    assert "echo ******" in caught.value.message
    for text in (caplog.text, str(caught.value), repr(config), repr(client), str(config.api_key)):
        assert key not in text


def test_region_urls_and_explicit_url() -> None:
    assert base_url_for("EU", None) == REGION_URLS["eu"] == "https://console.eu.jumpcloud.com"
    assert base_url_for(None, None) == "https://console.jumpcloud.com"
    assert base_url_for("in", "http://127.0.0.1:9/") == "http://127.0.0.1:9"
    with pytest.raises(JumpCloudError, match="region must be one of"):
        base_url_for("mars", None)
    with pytest.raises(JumpCloudError, match="no JumpCloud API key"):
        load_config(environ={})


def test_the_guard_refuses_any_non_loopback_url() -> None:
    """The autouse fixture's guard: a client for the real (default region) URL cannot even be built here."""
    config = JumpCloudConfig(base_url=base_url_for(None, None), api_key=Secret("x"))
    with pytest.raises(AssertionError):
        JumpCloudClient(config)


def test_lab_directory_needs_the_key_for_every_endpoint(lab: JumpCloudLab) -> None:
    with client_for(lab, key="nope") as client, pytest.raises(JumpCloudError):
        client.get("/api/systems")
    assert all(not r.key_ok for r in lab.seen)
    assert isinstance(lab.directory, LabDirectory)
