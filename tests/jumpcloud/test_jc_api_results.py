"""``--via jumpcloud`` finds its result as ``Get-JCCommandResult -ByCommandID`` does, in the spec's shapes.

Facts (TheJumpCloud/jcapi-powershell, MIT licence, SwaggerSpecs/JumpCloud.SDK.V1.json):
``CommandResultByCommandID_Get`` returns ``commandresultbycommandid`` items (``system``, no ``systemId``);
``CommandResult_List`` returns ``{totalCount, results}`` whose items have ``systemId`` and ``workflowId``
and output cut to 40 characters, ``limit`` limited to 100; ``CommandResult_Get`` returns ``commandresult``.
JumpCloud's module lists ``/api/commandresults``, keeps ``workflowId`` = the command, then reads each by id
(TheJumpCloud/support, PowerShell/JumpCloud Module/Public/Commands/CommandResults/Get-JCCommandResult.ps1).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from jc_support import JcLab, jc_lab, json_out

# Property names of the three schemas, copied from the V1 spec's definitions (source above).
BY_COMMAND_ID = {
    "_id", "command", "files", "name", "organization", "requestTime", "response", "responseTime", "sudo",
    "system", "user", "workflowId", "workflowInstanceId",
}  # fmt: skip
LIST_ITEM = {
    "_id", "command", "exitCode", "name", "requestTime", "response", "responseTime", "sudo", "system",
    "systemId", "user", "workflowId",
}  # fmt: skip
RESULT = BY_COMMAND_ID | {"systemId"}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[JcLab]:
    with jc_lab("jumpcloud", tmp_path) as running:
        yield running


def other_results(lab: JcLab, count: int) -> None:
    """``count`` results of other commands in the organisation (the list is the whole org's)."""
    for index in range(count):
        result_id = secrets.token_hex(12)
        lab.api.directory.results[result_id] = {
            "_id": result_id,
            "name": f"other {index}",
            "command": "hostname",
            "system": "lab-jc-ok",
            "systemId": "6a0000000000000000000001",
            "organization": lab.api.directory.org_id,
            "requestTime": "2026-01-01T00:00:00.000Z",
            "responseTime": "2026-01-01T00:00:01.000Z",
            "user": "000000000000000000000000",
            "sudo": False,
            "files": [],
            "workflowId": secrets.token_hex(12),
            "workflowInstanceId": secrets.token_hex(12),
            "response": {"id": "r", "error": "", "data": {"output": "x" * 100, "exitCode": 0}},
        }


def test_the_result_is_found_through_the_org_wide_list_page_by_page(lab: JcLab) -> None:
    other_results(lab, 150)
    result = lab.jcfix("users", "list", "--host", "lab-jc-ok", "--via", "jumpcloud", "-o", "json")
    assert result.returncode == 0, result.stderr
    (host,) = json_out(result)
    assert host["status"] == "ok" and any(u["name"] == "alice" for u in host["results"][0]["data"]["users"])
    listed = lab.api.requests_to("GET", "/api/commandresults")
    assert {tuple(r.query["skip"]) for r in listed} >= {("0",), ("100",)}
    assert all(r.query["limit"] == ["100"] for r in listed)
    assert lab.api.requests_to("GET", r"/api/commandresults/\w+")  # the whole output, read by id
    assert not lab.api.requests_to("GET", r"/api/commands/\w+/results")
    # Only the run's own result and command were deleted.
    assert len(lab.api.directory.results) == 150 and lab.api.directory.commands == {}


def test_each_endpoint_answers_in_its_schema(lab: JcLab) -> None:
    from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudConfig
    from toolkit.secrets import Secret

    other_results(lab, 1)
    [(result_id, stored)] = lab.api.directory.results.items()
    command_id = stored["workflowId"]
    lab.api.directory.commands[command_id] = {"_id": command_id, "name": "other", "command": "hostname"}
    config = JumpCloudConfig(base_url=lab.api.url, api_key=Secret(lab.api.api_key))
    with JumpCloudClient(config) as client:
        [by_command] = client.get(f"/api/commands/{command_id}/results")
        page = client.get("/api/commandresults", limit=100, skip=0)
        whole = client.get(f"/api/commandresults/{result_id}")
    assert set(by_command) <= BY_COMMAND_ID and "systemId" not in by_command and by_command["system"] == "lab-jc-ok"
    [item] = page["results"]
    assert set(page) == {"totalCount", "results"} and set(item) <= LIST_ITEM
    assert item["systemId"] == "6a0000000000000000000001" and len(item["response"]["data"]["output"]) == 40
    assert set(whole) <= RESULT and whole["response"]["data"]["output"] == "x" * 100
