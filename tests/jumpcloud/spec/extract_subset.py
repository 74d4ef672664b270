"""Extract the part of JumpCloud's published OpenAPI (Swagger 2.0) documents that jcfix and its stand-in use.

Reads ``SwaggerSpecs/JumpCloud.SDK.V1.json`` and ``V2.json`` of ``TheJumpCloud/jcapi-powershell`` (MIT) and
writes ``jumpcloud_spec_subset.json`` beside this file: for each operation in :data:`OPERATIONS`, its
parameters (path-level and operation-level merged, ``#/parameters/...`` references resolved inline) and its
responses, plus every definition those reference (transitively). Prose (descriptions, code samples,
examples) is dropped; everything a validator needs (types, required, enums, limits, ``x-nullable``) is kept.

Re-run after adding an operation to :data:`OPERATIONS` or to move to a newer spec::

    # from a git directory (what the fetch tool gives), at a commit (default HEAD):
    python tests/jumpcloud/spec/extract_subset.py --git-dir /work/.mirror/TheJumpCloud+jcapi-powershell/repo
    # or from two files already on disk:
    python tests/jumpcloud/spec/extract_subset.py --v1 JumpCloud.SDK.V1.json --v2 JumpCloud.SDK.V2.json

The output is deterministic (sorted keys), so a re-run with the same inputs changes nothing. Update
``SOURCE.md`` (commit) when the input changes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "jumpcloud_spec_subset.json"
REPOSITORY = "TheJumpCloud/jcapi-powershell"
SPEC_FILES = {"v1": "SwaggerSpecs/JumpCloud.SDK.V1.json", "v2": "SwaggerSpecs/JumpCloud.SDK.V2.json"}
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Keys that are prose or tooling only: nothing a request or an answer is checked against.
DROPPED_KEYS = frozenset(
    {"description", "summary", "x-codeSamples", "example", "examples", "title", "x-functionalities-tags", "tags"}
)

# (spec, METHOD, path as the spec writes it, under its basePath), and why it is here.
OPERATIONS: list[tuple[str, str, str, str]] = [
    ("v1", "GET", "/systemusers", "diagnose, jc-* fixes: users (filter for one user)"),
    ("v1", "POST", "/search/systemusers", "jc-* fixes: case-only matches of a username"),
    ("v1", "GET", "/systemusers/{id}", "fixes read a user back"),
    ("v1", "PUT", "/systemusers/{id}", "jc-local-account (systemUsername), jc-activate (password, state)"),
    ("v1", "POST", "/systemusers/{id}/state/activate", "jc-activate --activate-now"),
    ("v1", "POST", "/systemusers/{id}/unlock", "jc-unlock"),
    ("v1", "GET", "/organizations", "stand-in: the organisations a multi-tenant key sees"),
    ("v1", "GET", "/systems", "--inventory jumpcloud:"),
    ("v1", "GET", "/systems/{id}", "diagnose: the device of each systemKey"),
    ("v1", "POST", "/search/systems", "--via jumpcloud: device by hostname"),
    ("v1", "POST", "/commands", "--via jumpcloud: the command"),
    ("v1", "GET", "/commands/{id}", "stand-in"),
    ("v1", "DELETE", "/commands/{id}", "--via jumpcloud: clean-up"),
    ("v1", "POST", "/runCommand", "--via jumpcloud: run"),
    ("v1", "GET", "/commands/{id}/results", "--via jumpcloud (before issue 12 item 2)"),
    ("v1", "GET", "/commandresults", "--via jumpcloud: results of the workflow"),
    ("v1", "GET", "/commandresults/{id}", "--via jumpcloud: one result (has systemId)"),
    ("v1", "DELETE", "/commandresults/{id}", "--via jumpcloud: clean-up"),
    ("v2", "GET", "/systems/{system_id}/users", "diagnose: users bound to a device"),
    ("v2", "GET", "/bulk/userstates/eventlist/next", "diagnose, jc-activate: scheduled activation"),
    ("v2", "POST", "/commands/{command_id}/associations", "--via jumpcloud: target the device"),
    ("v2", "GET", "/systems/{system_id}/associations", "jc-bind: direct bindings of a device"),
    ("v2", "POST", "/systems/{system_id}/associations", "jc-bind / undo: bind or unbind a user"),
]


def load_specs(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two documents, and where they came from (``{repository, commit, files}``)."""
    if args.git_dir:
        commit = _git(args.git_dir, "rev-parse", args.commit).strip()
        specs = {name: json.loads(_git(args.git_dir, "show", f"{commit}:{path}")) for name, path in SPEC_FILES.items()}
        return specs, {"repository": REPOSITORY, "commit": commit, "files": SPEC_FILES}
    specs = {"v1": json.loads(Path(args.v1).read_text("utf-8")), "v2": json.loads(Path(args.v2).read_text("utf-8"))}
    return specs, {"repository": REPOSITORY, "commit": args.commit, "files": SPEC_FILES}


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True).stdout


def _clean(node: Any, *, names: bool = False) -> Any:
    """``node`` without prose keys, recursively; ``names``: the keys are property names, all kept."""
    if isinstance(node, dict):
        return {
            k: _clean(v, names=k == "properties" and not names)
            for k, v in node.items()
            if names or k not in DROPPED_KEYS  # a property may be called "description"
        }
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    """Names of the definitions ``node`` references directly."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref.removeprefix("#/definitions/"))
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _parameters(doc: dict[str, Any], path_item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """Path-level then operation-level parameters, references resolved; an operation's own one wins."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        param = raw
        if "$ref" in raw:
            param = doc["parameters"][raw["$ref"].split("/")[-1]]
        merged[(param["in"], param["name"])] = _clean(param)
    return list(merged.values())


def extract(doc: dict[str, Any], wanted: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The subset of one document: ``{basePath, paths, definitions}``."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, use in wanted:
        path_item = doc["paths"][path]
        operation = path_item.get(method.lower())
        if operation is None:
            raise SystemExit(f"the spec has no {method} {path}")
        paths.setdefault(path, {})[method.lower()] = {
            "operationId": operation.get("operationId"),
            "x-jcfix-use": use,
            "consumes": operation.get("consumes", doc.get("consumes", [])),
            "parameters": _parameters(doc, path_item, operation),
            "responses": _clean(operation.get("responses", {})),
        }
    definitions: dict[str, Any] = {}
    todo = sorted(_refs(paths))
    while todo:
        name = todo.pop()
        if name in definitions:
            continue
        definitions[name] = _clean(doc["definitions"][name])
        todo.extend(sorted(_refs(definitions[name]) - set(definitions)))
    return {"basePath": doc["basePath"].rstrip("/"), "paths": paths, "definitions": definitions}


def main(argv: list[str] | None = None) -> int:
    """Write the subset; exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--git-dir", help="a git directory of TheJumpCloud/jcapi-powershell")
    source.add_argument("--v1", help="JumpCloud.SDK.V1.json on disk (needs --v2 and --commit)")
    parser.add_argument("--v2")
    parser.add_argument("--commit", default="HEAD", help="the commit to read (or that the files come from)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if args.v1 and not args.v2:
        parser.error("--v1 needs --v2")
    specs, origin = load_specs(args)
    subset = {
        "source": {**origin, "licence": "MIT", "extracted_by": "tests/jumpcloud/spec/extract_subset.py"},
        "apis": {
            name: extract(doc, [(m, p, use) for spec, m, p, use in OPERATIONS if spec == name])
            for name, doc in specs.items()
        },
    }
    args.output.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    count = sum(len(ops) for api in subset["apis"].values() for ops in api["paths"].values())
    print(f"{args.output}: {count} operations", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
