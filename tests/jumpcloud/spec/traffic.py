"""Record the stand-in's traffic, and find statically which endpoints jcfix's code calls.

:func:`recording` wraps :meth:`toolkit.lab.jcroutes.Routes.dispatch` (the stand-in is not edited): every
request that reached a route, with the route's answer (requests the HTTP layer refused first, a bad key or
an injected fault, never reach a route). :func:`jcfix_calls` reads jcfix's source (outside ``toolkit/lab``)
for ``client.get/post/put/delete/v1_list/v2_list("/api/...")`` calls and for ``X("METHOD", "/api/...", ...)``
calls (``client.request``, request descriptions such as ``ApiRequest("PUT", path, "User_Set")``).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from toolkit.lab import jcroutes

TOOLKIT = Path(jcroutes.__file__).resolve().parents[1]
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})
CALL_METHODS = {"get": "GET", "v1_list": "GET", "v2_list": "GET", "post": "POST", "put": "PUT", "delete": "DELETE"}


@dataclass(frozen=True)
class Exchange:
    """One request the stand-in routed, and its answer."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    answer: Any
    headers: dict[str, str]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@contextmanager
def recording() -> Iterator[list[Exchange]]:
    """Every ``Routes.dispatch`` call while the block runs (any stand-in in this process)."""
    seen: list[Exchange] = []
    original = jcroutes.Routes.dispatch

    def dispatch(self: jcroutes.Routes, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        kept = copy.deepcopy((query, body))  # before a handler could change them
        status, answer, headers = original(self, method, path, query, body)
        seen.append(Exchange(method, path, *kept, status, copy.deepcopy(answer), dict(headers)))
        return status, answer, headers

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jcroutes.Routes, "dispatch", dispatch)
        yield seen


def _template(node: ast.expr) -> str | None:
    """``"/api/x"`` or ``f"/api/x/{y}"`` as a template (``/api/x/{}``); None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values)
    else:
        return None
    return text if text.startswith("/api/") else None


@dataclass(frozen=True)
class Call:
    """An API call in jcfix's source: ``client.get("/api/x")``, ``ApiRequest("PUT", f"/api/x/{i}", "User_Set")``."""

    method: str
    template: str  # every f-string field is ``{}``
    where: str  # file:line
    operation_id: str | None  # what the source says the operation is, when it says

    def __str__(self) -> str:
        return f"{self.method} {self.template} ({self.where})"


def _call(node: ast.Call) -> tuple[str, str, str | None] | None:
    """``(METHOD, template, operationId)`` when ``node`` is an API call or request description."""
    args = node.args
    if len(args) > 1 and isinstance(args[0], ast.Constant) and str(args[0].value).upper() in HTTP_METHODS:
        # request("GET", path) and descriptions such as ApiRequest("PUT", path, "User_Set", ...)
        template = _template(args[1])
        third = args[2] if len(args) > 2 else None
        op = str(third.value) if isinstance(third, ast.Constant) and isinstance(third.value, str) else None
        return (str(args[0].value).upper(), template, op) if template else None
    if isinstance(node.func, ast.Attribute) and node.func.attr in CALL_METHODS and args:
        template = _template(args[0])
        return (CALL_METHODS[node.func.attr], template, None) if template else None
    return None


def jcfix_calls(root: Path = TOOLKIT) -> set[Call]:
    """Every API call in jcfix's source (the lab excepted), as :class:`Call`."""
    found: set[Call] = set()
    for source in sorted(root.rglob("*.py")):
        if "lab" in source.relative_to(root).parts:
            continue
        tree = ast.parse(source.read_text("utf-8"))
        for node in ast.walk(tree):
            found_call = _call(node) if isinstance(node, ast.Call) else None
            if found_call is not None:
                method, template, op = found_call
                found.add(Call(method, template, f"{source.relative_to(root.parent)}:{node.lineno}", op))
    return found
