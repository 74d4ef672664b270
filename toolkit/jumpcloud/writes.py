"""The JumpCloud API calls the JumpCloud-side fixes make: unlock, bind and unbind, state, and what they read.

Every call is first built as an :class:`ApiRequest` (method, path, query, body: never a secret), so
``--dry-run`` prints exactly what :func:`send` would send. Facts, from JumpCloud's published OpenAPI
documents (``TheJumpCloud/jcapi-powershell`` @ 82c20c1, ``SwaggerSpecs/JumpCloud.SDK.V1.json`` and
``V2.json``; the v1 base path is ``/api/``, v2 ``/api/v2/``):

* ``POST /systemusers/{id}/unlock`` (operationId ``User_Unlock``): no body, answers 200.
* ``PUT /systemusers/{id}`` (``User_Set``): body ``systemuserput``, whose ``state`` is ``ACTIVATED`` or
  ``SUSPENDED`` (``STAGED`` is not settable: a user cannot be put back to Staged).
* ``POST /v2/systems/{system_id}/associations`` (``SystemAssociation_Set``): body ``GraphOperation-System``,
  ``{"op": "add"|"remove"|"update", "type": "user", "id": <user id>}`` (``id`` and ``op`` required), answers
  204. The user side (``UserAssociation_Set``, ``type: system``) is the same edge; the system side is used
  because the fix starts from the device's systemKey.
* ``GET /v2/systems/{system_id}/associations?targets=user`` (``SystemAssociation_Get``, ``targets``
  required): the direct associations only, as ``GraphConnection`` items ``{"to": {"id", "type"}, ...}``.
  Bindings through user groups are not among them, and are not this fix's to remove.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

from toolkit.jumpcloud.client import JumpCloudClient

SETTABLE_STATES = ("ACTIVATED", "SUSPENDED")  # systemuserput.state (User_Set)


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request to JumpCloud, as ``--dry-run`` prints it and :func:`send` sends it.

    Attributes:
        method, path: e.g. ``POST`` and ``/api/systemusers/{id}/unlock`` (the full path, base included).
        operation: the spec's operationId, for the reader.
        body: the JSON body, or None for none.
        query: query parameters.
    """

    method: str
    path: str
    operation: str
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)

    def target(self) -> str:
        """``path?query`` as sent (encoded as httpx encodes it), a dry run's ``{id of NAME}`` left readable."""
        if not self.query:
            return self.path
        encoded = urlencode(self.query)
        for value in self.query.values():
            for placeholder in re.findall(r"\{[^{}]*\}", value):
                encoded = encoded.replace(quote_plus(placeholder), placeholder)
        return f"{self.path}?{encoded}"

    def lines(self) -> list[str]:
        """The request as text: ``METHOD path?query`` (encoded as sent), the spec's operation, the body if any."""
        lines = [f"{self.method} {self.target()}", f"  spec: {self.operation}"]
        if self.body is not None:
            lines.append("  body: " + json.dumps(self.body, separators=(", ", ": ")))
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.target(), "operation": self.operation, "body": self.body}


def send(client: JumpCloudClient, request: ApiRequest) -> Any:
    """Send ``request``; the answer's JSON, or None when it has no body (204)."""
    response = client.request(
        request.method,
        request.path,
        params=request.query or None,
        # A POST without a body sends {} as client.post does (the client always says Content-Type JSON).
        json=request.body if request.body is not None else ({} if request.method in ("POST", "PUT") else None),
    )
    return response.json() if response.content else None


# ---- requests --------------------------------------------------------------------------------------


def unlock_request(user_id: str) -> ApiRequest:
    """``POST /api/systemusers/{id}/unlock`` (``User_Unlock``)."""
    return ApiRequest("POST", f"/api/systemusers/{user_id}/unlock", "User_Unlock")


def state_request(user_id: str, state: str) -> ApiRequest:
    """``PUT /api/systemusers/{id}`` with only ``state`` (``User_Set``)."""
    if state not in SETTABLE_STATES:
        raise ValueError(f"state must be one of {', '.join(SETTABLE_STATES)}, not {state!r}")
    return ApiRequest("PUT", f"/api/systemusers/{user_id}", "User_Set", body={"state": state})


def association_request(system_id: str, user_id: str, op: str) -> ApiRequest:
    """``POST /api/v2/systems/{id}/associations`` ``{op, type: user, id}`` (``SystemAssociation_Set``)."""
    if op not in ("add", "remove"):
        raise ValueError(f"op must be add or remove, not {op!r}")
    return ApiRequest(
        "POST",
        f"/api/v2/systems/{system_id}/associations",
        "SystemAssociation_Set",
        body={"op": op, "type": "user", "id": user_id},
    )


def direct_users_request(system_id: str) -> ApiRequest:
    """``GET /api/v2/systems/{id}/associations?targets=user`` (``SystemAssociation_Get``)."""
    return ApiRequest(
        "GET", f"/api/v2/systems/{system_id}/associations", "SystemAssociation_Get", query={"targets": "user"}
    )


# ---- calls ---------------------------------------------------------------------------------------------


def unlock(client: JumpCloudClient, user_id: str) -> None:
    send(client, unlock_request(user_id))


def set_state(client: JumpCloudClient, user_id: str, state: str) -> None:
    send(client, state_request(user_id, state))


def bind(client: JumpCloudClient, system_id: str, user_id: str) -> None:
    send(client, association_request(system_id, user_id, "add"))


def unbind(client: JumpCloudClient, system_id: str, user_id: str) -> None:
    send(client, association_request(system_id, user_id, "remove"))


def direct_user_ids(client: JumpCloudClient, system_id: str) -> set[str]:
    """The users bound to the device directly (not through a group), every page read."""
    request = direct_users_request(system_id)
    found: set[str] = set()
    for item in client.v2_list(request.path, targets=request.query["targets"]):
        target = item.get("to") or {}
        if target.get("type") == "user" and target.get("id"):
            found.add(str(target["id"]))
    return found
