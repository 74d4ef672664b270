"""Multi-tenant admins: the stand-in answers ``x-org-id`` as the spec says, and jcfix's messages say why.

Facts (TheJumpCloud/jcapi-powershell, MIT licence, SwaggerSpecs/JumpCloud.SDK.V1.json, info
"Multi-Tenant Portal Headers"): 400 malformed ID, 401 ID not included for a multi-tenant admin, 403 ID
included on an unsupported route, 404 organisation not found. JumpCloud's module leaves the header off
``/api/organizations`` (TheJumpCloud/support, Private/NestedFunctions/Invoke-JCApi.ps1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jc_support import jc_lab

from toolkit.jumpcloud import api
from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudConfig, JumpCloudError, load_config
from toolkit.lab.jcapi import JumpCloudLab
from toolkit.lab.scenarios import load_hosts
from toolkit.secrets import Secret

OTHER_ORG = "5f0c0000000000000000ffff"


@pytest.fixture
def lab() -> Iterator[JumpCloudLab]:
    with JumpCloudLab.for_hosts(load_hosts("jumpcloud"), "jumpcloud") as running:
        running.directory.multi_tenant = True
        yield running


def client_for(lab: JumpCloudLab, org_id: str | None) -> JumpCloudClient:
    config = JumpCloudConfig(base_url=lab.url, api_key=Secret(lab.api_key), org_id=org_id)
    return JumpCloudClient(config, sleep=lambda s: None)


def failure(lab: JumpCloudLab, org_id: str | None, path: str = "/api/systemusers") -> JumpCloudError:
    with client_for(lab, org_id) as client, pytest.raises(JumpCloudError) as caught:
        client.get(path)
    return caught.value


def test_a_multi_tenant_key_without_org_id_gets_401_and_the_hint_names_the_org_id(lab: JumpCloudLab) -> None:
    error = failure(lab, None)
    assert error.status == 401 and error.kind == "auth"
    assert "multi-tenant" in error.message and "JCFIX_JC_ORG_ID" in error.message


def test_with_the_org_id_a_401_is_about_the_key_only(lab: JumpCloudLab) -> None:
    with client_for(lab, lab.directory.org_id) as client:
        assert api.lookup_user(client, "alice").username == "alice"
    config = JumpCloudConfig(base_url=lab.url, api_key=Secret("not-the-key"), org_id=lab.directory.org_id)
    with JumpCloudClient(config, sleep=lambda s: None) as client, pytest.raises(JumpCloudError) as caught:
        client.get("/api/systemusers")
    assert caught.value.status == 401 and "multi-tenant" not in caught.value.message


def test_an_unknown_org_is_404_and_said_so_not_a_missing_object(lab: JumpCloudLab) -> None:
    error = failure(lab, OTHER_ORG)
    assert error.status == 404 and error.kind == "auth"
    assert f"no organisation '{OTHER_ORG}'" in error.message and "JCFIX_JC_ORG_ID" in error.message


def test_a_malformed_org_id_is_400_with_the_reason_and_refused_before_any_call(lab: JumpCloudLab) -> None:
    error = failure(lab, "org-123")
    assert error.status == 400 and "24 hex characters" in error.message
    seen = len(lab.seen)
    with pytest.raises(JumpCloudError) as caught:
        load_config(environ={"JCFIX_JC_API_KEY": "k", "JCFIX_JC_URL": lab.url, "JCFIX_JC_ORG_ID": "org-123"})
    assert caught.value.exit_code == 2 and len(lab.seen) == seen


def test_403_means_the_header_went_to_a_route_that_does_not_take_it(lab: JumpCloudLab) -> None:
    error = failure(lab, lab.directory.org_id, "/api/organizations")
    assert error.status == 403 and error.kind == "forbidden"
    assert "route that does not take it" in error.message


def test_the_lab_env_carries_the_org_id_for_a_multi_tenant_scenario(tmp_path: Path) -> None:
    with jc_lab("jumpcloud", tmp_path) as running:
        running.api.directory.multi_tenant = True
        result = running.jcfix("diagnose", *running.winrm(), "--jc-api", "-o", "json", "--limit", "lab-jc-staged")
        assert result.returncode not in (2, 3) and not result.stderr, result.stderr
        assert all(r.org_id == running.api.directory.org_id for r in running.api.seen)
        args = ("diagnose", *running.winrm(), "--jc-api", "--limit", "lab-jc-staged")
        without = running.jcfix(*args, JCFIX_JC_ORG_ID="")
        assert without.returncode == 3 and "multi-tenant" in without.stderr


def test_a_scenario_makes_the_key_multi_tenant() -> None:
    from toolkit.lab.jcdirectory import JumpCloudScenario, LabDirectory

    hosts = load_hosts("jumpcloud")
    with JumpCloudLab(LabDirectory.build(hosts, JumpCloudScenario(multi_tenant=True))) as running:
        assert running.env()["JCFIX_JC_ORG_ID"] == running.directory.org_id
        assert failure(running, None).status == 401
    with JumpCloudLab(LabDirectory.build(hosts, JumpCloudScenario())) as single:
        assert "JCFIX_JC_ORG_ID" not in single.env()
        with client_for(single, None) as client:
            assert client.get("/api/systemusers")["totalCount"] >= 0
