"""The stand-in's routes for the JumpCloud-side fixes (unlock, bind/unbind), in the published specs' shapes.

Registered by :class:`toolkit.lab.jcroutes.Routes`; kept apart so the fixes' endpoints live beside each other.
Facts (``TheJumpCloud/jcapi-powershell`` @ 82c20c1, ``SwaggerSpecs/JumpCloud.SDK.V1.json`` / ``V2.json``):

* ``POST /api/systemusers/{id}/unlock`` (``User_Unlock``): no body; 200 with no declared schema.
* ``GET /api/v2/systems/{system_id}/associations`` (``SystemAssociation_Get``): ``targets`` is required, one of
  command, policy, policy_group, user, user_group; the answer is an array of ``GraphConnection``
  (``{"to": {"id", "type"}}``, ``to`` required, ``attributes`` an object when present), direct associations
  only, paged by ``limit``/``skip``; no ``X-Total-Count`` is declared, so none is sent.
* ``POST /api/v2/systems/{system_id}/associations`` (``SystemAssociation_Set``): body ``GraphOperation-System``
  (``id`` and ``op`` required, ``op`` add/remove/update, ``type`` required, one of the targets above); 204.

The lab models only user targets (the others are answered 400 as not modelled). What the service does
with an ``add`` of an edge that exists, or a ``remove`` of one that does not, is not in the spec: the
stand-in answers both 204 and changes nothing (jcfix reads first and sends neither).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.lab.jcquery import error

if TYPE_CHECKING:
    from toolkit.lab.jcroutes import Answer, Routes

SYSTEM_TARGETS = ("command", "policy", "policy_group", "user", "user_group")  # GraphOperation-System.type
GRAPH_OPS = ("add", "remove", "update")  # GraphOperation.op


def _bad(message: str) -> Answer:
    return 400, error(400, message), {}


def register_fix_routes(routes: Routes) -> None:
    """Add the fixes' endpoints to ``routes``."""
    directory = routes.d

    def unlock(user_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with directory.lock:
            if user_id not in directory.users:
                return 404, error(404, "Not Found"), {}
        status, answer = directory.update_user(user_id, {"account_locked": False})
        return (200, None, {}) if status == 200 else (status, answer, {})

    def list_associations(system_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        targets = query.get("targets", [""])[0]
        if targets not in SYSTEM_TARGETS:
            return _bad(f"targets is required, one of {', '.join(SYSTEM_TARGETS)}")
        with directory.lock:
            if system_id not in directory.systems:
                return 404, error(404, "Not Found"), {}
            ids = sorted(directory.bindings.get(system_id, set())) if targets == "user" else []
        # GraphConnection: ``to`` required; ``attributes`` is an object, not nullable: left out when there are none.
        items = [{"to": {"id": uid, "type": "user"}} for uid in ids]
        return 200, routes._window(items, query), {}

    def change_association(system_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        operation = body if isinstance(body, dict) else {}
        missing = [k for k in ("id", "op", "type") if not operation.get(k)]
        if missing:
            return _bad(f"missing required {', '.join(missing)}")
        if operation["op"] not in GRAPH_OPS:
            return _bad(f"op must be one of {', '.join(GRAPH_OPS)}")
        if operation["type"] not in SYSTEM_TARGETS:
            return _bad(f"type must be one of {', '.join(SYSTEM_TARGETS)}")
        if operation["type"] != "user":
            return _bad(f"the lab models only user associations, not {operation['type']}")
        with directory.lock:
            if system_id not in directory.systems:
                return 404, error(404, "Not Found"), {}
            if operation["id"] not in directory.users:
                return 404, error(404, "Not Found"), {}
            bound = directory.bindings.setdefault(system_id, set())
            if operation["op"] == "add":
                bound.add(operation["id"])
            elif operation["op"] == "remove":
                bound.discard(operation["id"])
        directory._changed()  # the agents check in after a binding change, as after any other
        return 204, None, {}

    routes._add("POST", r"/api/systemusers/(\w+)/unlock", unlock)
    routes._add("GET", r"/api/v2/systems/(\w+)/associations", list_associations)
    routes._add("POST", r"/api/v2/systems/(\w+)/associations", change_association)
