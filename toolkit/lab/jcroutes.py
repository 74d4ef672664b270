"""The JumpCloud API stand-in's routes: each endpoint jcfix calls, answered from the lab organisation.

Request and response shapes follow JumpCloud's published specs (research §6): v1 lists are
``{totalCount, results}`` pages (default 10, at most 100), v2 lists are bare arrays (the spec declares no
``X-Total-Count`` header, so none is sent). Queries are read as strictly as :mod:`toolkit.lab.jcquery` says.
:class:`toolkit.lab.jcapi.JumpCloudLab` serves them over HTTP.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from toolkit.lab.jcdirectory import LabDirectory, object_id
from toolkit.lab.jcfixroutes import register_fix_routes
from toolkit.lab.jcquery import QueryError, error, search_filtered, v1_filtered, window, with_fields

Answer = tuple[int, Any, dict[str, str]]


class Routes:
    """Maps ``(method, path)`` to a handler over the directory."""

    def __init__(self, directory: LabDirectory) -> None:
        self.d = directory
        self.table: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = []
        add = self._add
        add("GET", r"/api/systemusers", self.list_users)
        add("POST", r"/api/search/systemusers", self.search_users)
        add("GET", r"/api/systemusers/(\w+)", self.get_user)
        add("PUT", r"/api/systemusers/(\w+)", self.put_user)
        add("POST", r"/api/systemusers/(\w+)/state/activate", self.activate)
        add("POST", r"/api/systemusers/reactivate", self.reactivate)
        add("GET", r"/api/systems", self.list_systems)
        add("GET", r"/api/systems/(\w+)", self.get_system)
        add("POST", r"/api/search/systems", self.search_systems)
        add("GET", r"/api/v2/systems/(\w+)/users", self.system_users)
        add("GET", r"/api/v2/bulk/userstates/eventlist/next", self.next_events)
        add("POST", r"/api/commands", self.create_command)
        add("GET", r"/api/commands/(\w+)", self.get_command)
        add("DELETE", r"/api/commands/(\w+)", self.delete_command)
        add("POST", r"/api/v2/commands/(\w+)/associations", self.associate_command)
        add("POST", r"/api/runCommand", self.run_command)
        add("GET", r"/api/commands/(\w+)/results", self.command_results)
        add("GET", r"/api/commandresults", self.list_results)
        add("GET", r"/api/commandresults/(\w+)", self.get_result)
        add("GET", r"/api/organizations", self.list_organizations)
        add("DELETE", r"/api/commandresults/(\w+)", self.delete_result)
        register_fix_routes(self)

    def _add(self, method: str, pattern: str, handler: Callable[..., Answer]) -> None:
        self.table.append((method, re.compile(pattern + "$"), handler))

    def dispatch(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        for route_method, pattern, handler in self.table:
            match = pattern.match(path)
            if match and route_method == method:
                try:
                    return handler(*match.groups(), query=query, body=body)
                except QueryError as exc:
                    return exc.status, error(exc.status, exc.message), {}
        if any(p.match(path) for _, p, _ in self.table):
            return 405, error(405, "Method Not Allowed"), {}
        return 404, error(404, "Not Found"), {}

    # ---- paging helpers ---------------------------------------------------------------------------

    @staticmethod
    def _window(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
        return window(items, query)

    def _v1_list(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> Answer:
        ordered = sorted(v1_filtered(items, query), key=lambda item: item["_id"])
        return 200, {"totalCount": len(ordered), "results": self._window(ordered, query)}, {}

    # ---- users ------------------------------------------------------------------------------------

    def list_users(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            return self._v1_list([dict(u) for u in self.d.users.values()], query)

    def search_users(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        """``POST /search/systemusers`` (``User_Search``): filter, fields, limit and skip in the body."""
        body = body if isinstance(body, dict) else {}
        with self.d.lock:
            found = search_filtered([dict(u) for u in self.d.users.values()], body)
        found.sort(key=lambda item: item["_id"])
        page = window(found, {k: [str(body[k])] for k in ("limit", "skip") if k in body})
        return 200, {"totalCount": len(found), "results": [with_fields(u, body.get("fields")) for u in page]}, {}

    def get_user(self, user_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            user = self.d.users.get(user_id)
            return (200, dict(user), {}) if user else (404, error(404, "Not Found"), {})

    def put_user(self, user_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        status, answer = self.d.update_user(user_id, body or {})
        return status, answer, {}

    def activate(self, user_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        status, answer = self.d.activate(user_id, (body or {}).get("email", True))
        return status, answer, {}

    def reactivate(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        ids = [str(m.get("_id")) for m in (body or {}).get("models", [])]
        status, answer = self.d.send_activation(ids)
        return status, answer, {}

    def next_events(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        """``NextScheduledBulkUserState_Get``: the next event per state per user, paged by limit/skip."""
        if "users" not in query:
            return 400, error(400, "users is required"), {}
        wanted = [u for text in query["users"] for u in text.split(",") if u]
        if len(wanted) > 100:
            return 400, error(400, "users is limited to 100 items"), {}
        with self.d.lock:
            events = [e for u in dict.fromkeys(wanted) for e in self.d.next_events(u)]
        return 200, {"events_count": len(events), "results": window(events, query)}, {}

    # ---- systems ----------------------------------------------------------------------------------

    def list_systems(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            return self._v1_list([dict(s) for s in self.d.systems.values()], query)

    def get_system(self, system_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            system = self.d.systems.get(system_id)
            return (200, dict(system), {}) if system else (404, error(404, "Not Found"), {})

    def search_systems(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        clauses = ((body or {}).get("filter") or {}).get("or") or []
        names = {str(c.get("hostname")) for c in clauses if isinstance(c, dict) and "hostname" in c}
        with self.d.lock:
            found = [dict(s) for s in self.d.systems.values() if s["hostname"] in names]
        return 200, {"totalCount": len(found), "results": found}, {}

    def system_users(self, system_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            if system_id not in self.d.systems:
                return 404, error(404, "Not Found"), {}
            ids = sorted(self.d.bindings.get(system_id, set()))
        items = [
            {"id": uid, "type": "user", "compiledAttributes": {}, "paths": [[{"to": {"id": uid, "type": "user"}}]]}
            for uid in ids
        ]
        return 200, self._window(items, query), {}

    # ---- commands ---------------------------------------------------------------------------------

    def create_command(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        body = body or {}
        missing = [k for k in ("name", "command", "commandType") if not body.get(k)]
        if missing:
            return 400, error(400, f"missing {', '.join(missing)}"), {}
        with self.d.lock:
            command_id = object_id("command", f"{body['name']}-{time.monotonic_ns()}")
            command = {"_id": command_id, "organization": self.d.org_id, **body}
            self.d.commands[command_id] = command
            self.d.command_systems[command_id] = set()
        return 200, dict(command), {}

    def get_command(self, command_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            command = self.d.commands.get(command_id)
            return (200, dict(command), {}) if command else (404, error(404, "Not Found"), {})

    def delete_command(self, command_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            command = self.d.commands.get(command_id)
        if command is None or not self.d.delete_command(command_id):
            return 404, error(404, "Not Found"), {}
        return 200, dict(command), {}

    def associate_command(self, command_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        body = body or {}
        with self.d.lock:
            if command_id not in self.d.commands:
                return 404, error(404, "Not Found"), {}
            if body.get("type") != "system" or body.get("id") not in self.d.systems:
                return 400, error(400, "unknown system"), {}
            bound = self.d.command_systems[command_id]
            if body.get("op") == "add":
                bound.add(body["id"])
            elif body.get("op") == "remove":
                bound.discard(body["id"])
            else:
                return 400, error(400, "op must be add or remove"), {}
        return 204, None, {}

    def run_command(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        body = body or {}
        status, answer = self.d.run_command(str(body.get("_id", "")), body.get("systemIds"))
        return status, answer, {}

    def command_results(self, command_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            if command_id not in self.d.commands:
                return 404, error(404, "Not Found"), {}
            found = [by_command_id(r) for r in self.d.results.values() if r["workflowId"] == command_id]
        return 200, found, {}

    def list_results(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        """``CommandResult_List``: a v1 page of ``commandresultslist`` items (output and error cut to 40)."""
        with self.d.lock:
            items = [list_item(r) for r in self.d.results.values()]
        return self._v1_list(items, query)

    def list_organizations(self, *, query: dict[str, list[str]], body: Any) -> Answer:
        """``/organizations``: the one lab organisation (the route that refuses ``x-org-id``)."""
        return self._v1_list([{"_id": self.d.org_id, "displayName": "jcfix lab"}], query)

    def get_result(self, result_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            result = self.d.results.get(result_id)
            return (200, dict(result), {}) if result else (404, error(404, "Not Found"), {})

    def delete_result(self, result_id: str, *, query: dict[str, list[str]], body: Any) -> Answer:
        with self.d.lock:
            result = self.d.results.pop(result_id, None)
        return (200, result, {}) if result else (404, error(404, "Not Found"), {})


def by_command_id(result: dict[str, Any]) -> dict[str, Any]:
    """A result as ``commandresultbycommandid``: no ``systemId`` (only ``system``, the device's name)."""
    return {k: v for k, v in result.items() if k != "systemId"}


def list_item(result: dict[str, Any]) -> dict[str, Any]:
    """A result as an item of ``commandresultslist``: output and error truncated to 40 characters."""
    response = result.get("response") or {}
    data = response.get("data") or {}
    keep = ("_id", "command", "name", "requestTime", "responseTime", "sudo", "system", "systemId", "user", "workflowId")
    item = {k: result[k] for k in keep if k in result}
    item["exitCode"] = data.get("exitCode")
    item["response"] = {
        "data": {"exitCode": data.get("exitCode"), "output": str(data.get("output") or "")[:40]},
        "error": str(response.get("error") or "")[:40],
    }
    return item
