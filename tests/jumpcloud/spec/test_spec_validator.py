"""The spec validator itself: for each check, one example the spec accepts and one it refuses.

Examples use the real subset (``jumpcloud_spec_subset.json``), so they also pin what JumpCloud's documents
say about the operations jcfix calls (cited by operationId).
"""

from __future__ import annotations

from typing import Any

import pytest
from spec_validator import Problem, Spec

USER = "5f3e9c1b2a4d6e8f0a1b2c3d"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec.load(extra_fields={("systemuserreturn", "systemUsername")})


def checks(problems: list[Problem]) -> list[str]:
    return [p.check for p in problems]


def test_path_exists_or_not(spec: Spec) -> None:
    assert spec.check_request("GET", f"/api/systemusers/{USER}", {}, None) == []
    assert checks(spec.check_request("GET", "/api/systemusrs", {}, None)) == ["path"]
    # basePath matters: v2 paths are not v1 paths.
    assert checks(spec.check_request("GET", f"/api/systems/{USER}/users", {}, None)) == ["path"]


def test_method_exists_or_not(spec: Spec) -> None:
    assert spec.check_request("POST", f"/api/systemusers/{USER}/unlock", {}, None) == []  # User_Unlock
    (problem,) = spec.check_request("PATCH", f"/api/systemusers/{USER}", {}, None)
    assert problem.check == "method" and "GET, PUT" in problem.message


def test_literal_segment_beats_a_parameter(spec: Spec) -> None:
    # /systemusers/reactivate is not /systemusers/{id} (which has no POST): a method problem, not a match.
    assert checks(spec.check_request("POST", "/api/systemusers/reactivate", {}, {})) == ["method"]
    op, _ = spec.find("GET", "/api/commandresults")
    assert op is not None and op.spec["operationId"] == "CommandResult_List"


def test_unknown_query_parameter(spec: Spec) -> None:
    assert spec.check_request("GET", "/api/systemusers", {"filter": ["username:$eq:alice"], "limit": ["5"]}, None) == []
    (problem,) = spec.check_request("GET", "/api/systemusers", {"per_page": ["5"]}, None)
    assert problem.check == "parameter" and "per_page" in problem.message


def test_a_body_where_the_operation_takes_none(spec: Spec) -> None:
    assert spec.check_request("POST", f"/api/systemusers/{USER}/unlock", {}, {}) == []
    assert checks(spec.check_request("POST", f"/api/systemusers/{USER}/unlock", {}, {"x": 1})) == ["parameter"]


def test_query_parameter_types(spec: Spec) -> None:
    assert spec.check_request("GET", "/api/systems", {"limit": ["100"], "skip": ["200"]}, None) == []
    assert checks(spec.check_request("GET", "/api/systems", {"limit": ["ten"]}, None)) == ["type"]
    assert checks(spec.check_request("GET", "/api/systems", {"limit": ["1", "2"]}, None)) == ["parameter"]


def test_required_query_parameter_and_array_limits(spec: Spec) -> None:
    path = "/api/v2/bulk/userstates/eventlist/next"  # NextScheduledBulkUserState_Get: users required, <= 100
    assert spec.check_request("GET", path, {"users": ["a,b"], "limit": ["100"], "skip": ["0"]}, None) == []
    assert checks(spec.check_request("GET", path, {}, None)) == ["required"]
    many = ",".join(f"u{i}" for i in range(101))
    assert checks(spec.check_request("GET", path, {"users": [many]}, None)) == ["limit"]
    assert checks(spec.check_request("GET", path, {"users": ["a"], "skip": ["-1"]}, None)) == ["limit"]


def test_query_enum(spec: Spec) -> None:
    path = f"/api/v2/systems/{USER}/associations"  # SystemAssociation_Get: targets required, an enum
    assert spec.check_request("GET", path, {"targets": ["user"]}, None) == []
    assert checks(spec.check_request("GET", path, {"targets": ["users"]}, None)) == ["enum"]


def test_body_enum_and_type(spec: Spec) -> None:
    path = f"/api/systemusers/{USER}"  # User_Set: systemuserput.state is ACTIVATED or SUSPENDED only
    assert spec.check_request("PUT", path, {}, {"state": "ACTIVATED", "suspended": False}) == []
    assert checks(spec.check_request("PUT", path, {}, {"state": "STAGED"})) == ["enum"]
    assert checks(spec.check_request("PUT", path, {}, {"suspended": "no"})) == ["type"]
    assert checks(spec.check_request("PUT", path, {}, {"unix_uid": 0})) == ["limit"]
    assert checks(spec.check_request("PUT", path, {}, {"unix_uid": True})) == ["type"]  # JSON true is not 1


def test_required_body_fields_through_allof_and_ref(spec: Spec) -> None:
    path = f"/api/v2/systems/{USER}/associations"  # GraphOperation-System: allOf GraphOperation {id, op}
    assert spec.check_request("POST", path, {}, {"op": "add", "type": "user", "id": USER}) == []
    missing = spec.check_request("POST", path, {}, {"op": "add", "type": "user"})
    assert checks(missing) == ["required"] and missing[0].where.endswith("body/id")
    assert checks(spec.check_request("POST", path, {}, {"op": "bind", "type": "user", "id": USER})) == ["enum"]


def test_undeclared_fields_unless_listed_or_open(spec: Spec) -> None:
    path = f"/api/systemusers/{USER}"
    (problem,) = spec.check_request("PUT", path, {}, {"systemUsername": "jonathan"})
    assert problem.check == "undeclared" and problem.schema == "systemuserput"
    listed = Spec(spec.document, extra_fields={("systemuserput", "systemUsername")})
    assert listed.check_request("PUT", path, {}, {"systemUsername": "jonathan"}) == []
    # GraphAttributes has additionalProperties: anything goes inside it.
    graph = f"/api/v2/systems/{USER}/associations"
    body = {"op": "add", "type": "user", "id": USER, "attributes": {"anything": 1}}
    assert spec.check_request("POST", graph, {}, body) == []
    assert checks(spec.check_request("POST", graph, {}, {**body, "extra": 1})) == ["undeclared"]


def user(**changes: Any) -> dict[str, Any]:
    return {"_id": USER, "username": "alice", "state": "ACTIVATED", "activated": True, **changes}


def test_response_body_and_nullability(spec: Spec) -> None:
    path = f"/api/systemusers/{USER}"
    assert spec.check_response("GET", path, 200, user(password_date=None, systemUsername="a"), {}) == []
    assert checks(spec.check_response("GET", path, 200, user(state="LOCKED"), {})) == ["enum"]
    assert checks(spec.check_response("GET", path, 200, user(username=None), {})) == ["type"]
    (problem,) = spec.check_response("GET", path, 200, user(localName="x"), {})
    assert problem.check == "undeclared" and problem.schema == "systemuserreturn"


def test_response_date_time_format(spec: Spec) -> None:
    path = f"/api/commandresults/{USER}"  # CommandResult_Get: requestTime is a date-time
    good = {"_id": USER, "systemId": USER, "requestTime": "2026-01-02T03:04:05.123Z"}
    assert spec.check_response("GET", path, 200, good, {}) == []
    assert checks(spec.check_response("GET", path, 200, {**good, "requestTime": "yesterday"}, {})) == ["format"]


def test_response_status_must_be_declared(spec: Spec) -> None:
    path = f"/api/v2/systems/{USER}/associations"  # SystemAssociation_Set answers 204
    assert spec.check_response("POST", path, 204, None, {}) == []
    assert checks(spec.check_response("POST", path, 200, {}, {})) == ["status"]
    assert checks(spec.check_response("POST", path, 204, {"id": 1}, {})) == ["type"]


def test_response_headers_must_be_declared(spec: Spec) -> None:
    path = f"/api/v2/systems/{USER}/users"  # SystemTraverseUser_Get declares no header
    item = {"id": USER, "type": "user", "paths": [[{"to": {"id": USER, "type": "user"}}]]}
    assert spec.check_response("GET", path, 200, [item], {"Content-Type": "application/json"}) == []
    assert checks(spec.check_response("GET", path, 200, [item], {"X-Total-Count": "1"})) == ["header"]
    assert checks(spec.check_response("GET", path, 200, [{**item, "type": "person"}], {})) == ["enum"]


def test_v1_filter_syntax_and_field(spec: Spec) -> None:
    ok = {"filter": ["username:$eq:alice", "systemUsername:$eq:jonathan"]}  # systemUsername: listed off-spec
    assert spec.check_request("GET", "/api/systemusers", ok, None) == []
    assert checks(spec.check_request("GET", "/api/systemusers", {"filter": ["username:eq:alice"]}, None)) == ["format"]
    (problem,) = spec.check_request("GET", "/api/systemusers", {"filter": ["nickname:$eq:al"]}, None)
    assert problem.check == "undeclared" and problem.schema == "systemuserreturn"
    assert checks(spec.check_request("GET", "/api/systems", {"filter": ["hostname:$eq:pc1"]}, None)) == []
