"""Check HTTP requests and answers against the JumpCloud spec subset (``jumpcloud_spec_subset.json``).

A small JSON-Schema-like validator for what Swagger 2.0 uses there (``jsonschema`` is not installed in the
project's venv): ``type`` (with ``x-nullable``), ``properties``/``required``, ``enum``, ``items``,
``minItems``/``maxItems``, ``minimum``, ``maxLength``, ``format: date-time``, ``allOf`` and ``$ref``, plus
what JumpCloud's documents leave to the operation: the path, the method, query parameter names, types and
collection formats, the body, the declared status codes and response headers.

Properties a schema does not declare are reported (check ``undeclared``) unless the schema allows
``additionalProperties`` or ``(schema name, field)`` is in ``extra_fields`` (the off-spec list): the spec's
objects are open, but a field jcfix sends or reads that the spec lacks must be listed with its source.
``extra_types`` likewise accepts another JSON type for ``(schema name, field)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUBSET = Path(__file__).resolve().parent / "jumpcloud_spec_subset.json"
# Headers any HTTP answer may carry; the stand-in's own routes add only what the API would.
GENERIC_HEADERS = frozenset({"content-type", "content-length", "date", "server", "connection"})
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


@dataclass(frozen=True)
class Problem:
    """One way a request or answer departs from the spec.

    Attributes:
        check: ``path``, ``method``, ``parameter``, ``required``, ``type``, ``enum``, ``limit``, ``format``,
            ``undeclared``, ``status`` or ``header``.
        where: the operation and a JSON-pointer-like location (``PUT /api/systemusers/{id} body/state``).
        message: what is wrong, with what the spec says.
        schema: the definition (or, for inline schemas, the operationId) the location belongs to.
    """

    check: str
    where: str
    message: str
    schema: str = ""

    def __str__(self) -> str:
        return f"[{self.check}] {self.where}: {self.message}"


@dataclass(frozen=True)
class Operation:
    """One operation of the subset: ``GET /api/systemusers/{id}`` and its spec."""

    api: str
    method: str
    template: str  # the full path: basePath + the spec's path
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"

    def params(self, where: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.spec["parameters"] if p["in"] == where}


class Spec:
    """The subset, with look-ups by concrete path and the request and response checks."""

    def __init__(
        self,
        document: Mapping[str, Any],
        extra_fields: Iterable[tuple[str, str]] = (),
        extra_types: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.document = document
        self.extra_fields = frozenset(extra_fields)
        self.extra_types = dict(extra_types or {})
        self.operations: list[Operation] = [
            Operation(name, method.upper(), api["basePath"] + path, op)
            for name, api in document["apis"].items()
            for path, methods in api["paths"].items()
            for method, op in methods.items()
        ]

    @classmethod
    def load(
        cls,
        path: Path = SUBSET,
        extra_fields: Iterable[tuple[str, str]] = (),
        extra_types: Mapping[tuple[str, str], str] | None = None,
    ) -> Spec:
        return cls(json.loads(path.read_text("utf-8")), extra_fields, extra_types)

    # ---- look-up ---------------------------------------------------------------------------------

    @staticmethod
    def matches(template: str, path: str) -> bool:
        """Whether concrete ``path`` fits ``template`` (``{name}`` is one non-empty segment)."""
        left, right = template.strip("/").split("/"), path.strip("/").split("/")
        return len(left) == len(right) and all(
            (t.startswith("{") and t.endswith("}") and bool(p)) or t == p for t, p in zip(left, right, strict=True)
        )

    def find(self, method: str, path: str) -> tuple[Operation | None, list[Problem]]:
        """The operation for ``method path``; else a ``path`` or ``method`` problem."""
        fitting = [op for op in self.operations if self.matches(op.template, path)]
        # A literal segment beats a parameter (``/systemusers/reactivate`` is not ``/systemusers/{id}``).
        fitting.sort(key=lambda op: op.template.count("{"))
        for op in fitting:
            if op.method == method.upper():
                return op, []
        where = f"{method} {path}"
        if fitting:
            allowed = sorted({op.method for op in fitting})
            return None, [Problem("method", where, f"the spec has {', '.join(allowed)} here, not {method}")]
        return None, [Problem("path", where, "no such path in the spec subset")]

    def resolve(self, api: str, schema: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """``schema`` with ``$ref`` followed, and the definition name when one was followed."""
        name = None
        while "$ref" in schema:
            name = str(schema["$ref"]).removeprefix("#/definitions/")
            schema = self.document["apis"][api]["definitions"][name]
        return dict(schema), name

    # ---- requests and answers --------------------------------------------------------------------

    def check_request(self, method: str, path: str, query: Mapping[str, list[str]], body: Any) -> list[Problem]:
        """Problems of one request: path, method, query parameters and body."""
        op, problems = self.find(method, path)
        if op is None:
            return problems
        problems.extend(self._check_query(op, query))
        if op.api == "v1" and query.get("filter") and "filter" in op.params("query"):
            problems.extend(self._check_v1_filter(op, query["filter"]))
        body_param = op.params("body").get("body") or next(iter(op.params("body").values()), None)
        if body_param is None:
            if body not in (None, {}):
                problems.append(Problem("parameter", f"{op.label} body", "the spec takes no body here"))
        elif body is None:
            if body_param.get("required"):
                problems.append(Problem("required", f"{op.label} body", "the spec requires a body"))
        else:
            owner = op.spec["operationId"]
            problems.extend(self.check_schema(op.api, body, body_param["schema"], f"{op.label} body", owner))
        return problems

    def check_response(
        self, method: str, path: str, status: int, body: Any, headers: Mapping[str, str]
    ) -> list[Problem]:
        """Problems of one answer: declared status, body schema and headers."""
        op, problems = self.find(method, path)
        if op is None:
            return problems
        where = f"{op.label} {status}"
        responses = op.spec["responses"]
        declared = responses.get(str(status), responses.get("default"))
        if declared is None:  # an empty declaration ({}: no schema) is still a declaration
            return [Problem("status", where, f"the spec declares {', '.join(sorted(responses))}, not {status}")]
        if status == 204 and body not in (None, b"", ""):
            problems.append(Problem("type", where, "204 has no body"))
        if "schema" in declared:
            owner = op.spec["operationId"]
            problems.extend(self.check_schema(op.api, body, declared["schema"], f"{where} body", owner))
        allowed = {name.lower() for name in declared.get("headers", {})} | GENERIC_HEADERS
        for name in headers:
            if name.lower() not in allowed:
                problems.append(Problem("header", where, f"header {name} is not declared by the spec"))
        return problems

    def _check_query(self, op: Operation, query: Mapping[str, list[str]]) -> list[Problem]:
        params = op.params("query")
        problems = [
            Problem("parameter", f"{op.label} query", f"unknown parameter {name!r} (the spec has {sorted(params)})")
            for name in query
            if name not in params
        ]
        for name, param in params.items():
            where = f"{op.label} query {name}"
            values = list(query.get(name, []))
            if not values:
                if param.get("required"):
                    problems.append(Problem("required", where, "required by the spec, not sent"))
                continue
            if param["type"] == "array":
                if param.get("collectionFormat", "csv") != "multi":
                    if len(values) > 1:
                        problems.append(Problem("parameter", where, "sent more than once; the spec takes csv"))
                    values = values[0].split(",")
                problems.extend(self._check_items(values, param, where))
            elif len(values) > 1:
                problems.append(Problem("parameter", where, f"sent {len(values)} times; the spec takes one"))
            else:
                problems.extend(self._check_scalar(values[0], param, where))
        return problems

    def _check_v1_filter(self, op: Operation, filters: list[str]) -> list[Problem]:
        """Each v1 ``filter`` is ``field:$operator:value`` on a field of the listed objects.

        The syntax is the V1 document's (``workflowInstanceId:$eq:...`` in ``CommandResult_Search``; V2's
        ``trait:filter:filter`` says "v1 operators differ from v2 operators", which have no ``$``).
        """
        listed = op.spec["responses"].get("200", {}).get("schema")
        schema, name = self.resolve(op.api, listed) if listed else ({}, None)
        items = schema.get("properties", {}).get("results", {}).get("items")
        item_schema, item_name = self.resolve(op.api, items) if items else (schema, name)
        declared = self._declared(op.api, item_schema)
        owner = item_name or name or op.spec["operationId"]
        problems = []
        for text in filters:
            where = f"{op.label} query filter {text!r}"
            field, _, rest = text.partition(":")
            operator = rest.partition(":")[0]
            if not field or not re.fullmatch(r"\$[a-z]+", operator) or rest.count(":") < 1:
                problems.append(Problem("format", where, "a v1 filter is field:$operator:value", owner))
            elif field not in declared and (owner, field) not in self.extra_fields:
                problems.append(Problem("undeclared", where, f"{field!r} is not declared in {owner}", owner))
        return problems

    def _check_items(self, values: list[str], param: Mapping[str, Any], where: str) -> list[Problem]:
        problems = []
        if "maxItems" in param and len(values) > param["maxItems"]:
            problems.append(Problem("limit", where, f"{len(values)} items; the spec allows {param['maxItems']}"))
        if "minItems" in param and len(values) < param["minItems"]:
            problems.append(Problem("limit", where, f"{len(values)} items; the spec needs {param['minItems']}"))
        for index, value in enumerate(values):
            problems.extend(self._check_scalar(value, param.get("items", {"type": "string"}), f"{where}/{index}"))
        return problems

    def _check_scalar(self, text: str, param: Mapping[str, Any], where: str) -> list[Problem]:
        """A query value (always text on the wire) against a scalar parameter."""
        kind = param.get("type", "string")
        value: Any = text
        if kind in ("integer", "number"):
            try:
                value = int(text) if kind == "integer" else float(text)
            except ValueError:
                return [Problem("type", where, f"{text!r} is not an {kind}")]
        elif kind == "boolean":
            if text not in ("true", "false"):
                return [Problem("type", where, f"{text!r} is not a boolean")]
            value = text == "true"
        return self._check_value_limits(value, param, where, "")

    # ---- schemas ---------------------------------------------------------------------------------

    def check_schema(
        self, api: str, value: Any, schema: Mapping[str, Any], where: str, owner: str, *, whole: bool = True
    ) -> list[Problem]:
        """Problems of ``value`` against ``schema``; ``owner`` names the enclosing definition.

        ``whole`` is False for one ``allOf`` part: only the whole schema knows every declared property.
        """
        schema, name = self.resolve(api, schema)
        owner = name or owner
        if value is None:
            ok = schema.get("x-nullable") or ("type" not in schema and "allOf" not in schema)
            return [] if ok else [Problem("type", where, "null where the spec has no x-nullable", owner)]
        problems: list[Problem] = []
        for part in schema.get("allOf", []):
            problems.extend(self.check_schema(api, value, part, where, owner, whole=False))
        kind = schema.get("type")
        if kind is not None and not _is_type(value, kind):
            return [*problems, Problem("type", where, f"{type(value).__name__} where the spec has {kind}", owner)]
        problems.extend(self._check_value_limits(value, schema, where, owner))
        if isinstance(value, dict):
            problems.extend(self._check_object(api, value, schema, where, owner, whole))
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                problems.extend(self.check_schema(api, item, schema["items"], f"{where}/{index}", owner))
        return problems

    def _check_object(
        self, api: str, value: dict[str, Any], schema: Mapping[str, Any], where: str, owner: str, whole: bool
    ) -> list[Problem]:
        problems = [
            Problem("required", f"{where}/{key}", "required by the spec, missing", owner)
            for key in schema.get("required", [])
            if key not in value
        ]
        properties = schema.get("properties", {})
        for key, item in value.items():
            if (owner, key) in self.extra_types and _is_type(item, self.extra_types[owner, key]):
                continue  # a wider type the off-spec list documents
            if key in properties:
                problems.extend(self.check_schema(api, item, properties[key], f"{where}/{key}", owner))
        if whole and not self._open(api, schema):
            declared = self._declared(api, schema)
            problems.extend(
                Problem("undeclared", f"{where}/{key}", f"{key!r} is not declared in {owner}", owner)
                for key in value
                if key not in declared and (owner, key) not in self.extra_fields
            )
        return problems

    def _open(self, api: str, schema: Mapping[str, Any]) -> bool:
        """Whether the schema (or one of its ``allOf`` parts) allows any property."""
        if schema.get("additionalProperties") not in (None, False):
            return True
        return any(self._open(api, self.resolve(api, part)[0]) for part in schema.get("allOf", []))

    def _declared(self, api: str, schema: Mapping[str, Any]) -> set[str]:
        names = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            names |= self._declared(api, self.resolve(api, part)[0])
        return names

    @staticmethod
    def _check_value_limits(value: Any, schema: Mapping[str, Any], where: str, owner: str) -> list[Problem]:
        problems = []
        if "enum" in schema and value not in schema["enum"]:
            problems.append(Problem("enum", where, f"{value!r} is not one of {schema['enum']}", owner))
        if "minimum" in schema and isinstance(value, (int, float)) and value < schema["minimum"]:
            problems.append(Problem("limit", where, f"{value} is below the minimum {schema['minimum']}", owner))
        if "maxLength" in schema and isinstance(value, str) and len(value) > schema["maxLength"]:
            problems.append(Problem("limit", where, f"longer than {schema['maxLength']}", owner))
        if schema.get("format") == "date-time" and isinstance(value, str) and not DATE_TIME.match(value):
            problems.append(Problem("format", where, f"{value!r} is not an RFC 3339 date-time", owner))
        return problems


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False  # JSON true is not 1
    return isinstance(value, JSON_TYPES.get(kind, (object,)))
