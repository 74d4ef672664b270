"""``extract_subset.py``: what it keeps and drops, and that the checked-in subset is what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import extract_subset
import pytest

HERE = Path(__file__).resolve().parent
MIRROR = Path("/work/.mirror/TheJumpCloud+jcapi-powershell/repo")  # where the fetch tool puts the repository

TINY = {
    "basePath": "/api/",
    "parameters": {"trait:limit": {"in": "query", "name": "limit", "type": "integer", "description": "prose"}},
    "paths": {
        "/things/{id}": {
            "parameters": [{"in": "path", "name": "id", "required": True, "type": "string"}],
            "get": {
                "operationId": "Thing_Get",
                "description": "prose",
                "x-codeSamples": [{"lang": "Shell", "source": "curl"}],
                "parameters": [{"$ref": "#/parameters/trait:limit"}],
                "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/thing"}}},
            },
        }
    },
    "definitions": {
        "thing": {
            "properties": {
                "description": {"type": "string", "description": "prose"},
                "part": {"$ref": "#/definitions/part"},
            },
            "type": "object",
        },
        "part": {"properties": {"n": {"type": "integer"}}, "type": "object", "title": "Part"},
        "unused": {"type": "object"},
    },
}


def test_parameters_are_merged_and_resolved_and_prose_dropped() -> None:
    subset = extract_subset.extract(TINY, [("GET", "/things/{id}", "a test")])
    op = subset["paths"]["/things/{id}"]["get"]
    assert subset["basePath"] == "/api"
    assert [(p["in"], p["name"]) for p in op["parameters"]] == [("path", "id"), ("query", "limit")]
    assert "description" not in op and "x-codeSamples" not in op and "description" not in op["parameters"][1]
    assert op["responses"] == {"200": {"schema": {"$ref": "#/definitions/thing"}}}


def test_definitions_are_collected_transitively_and_a_property_named_description_stays() -> None:
    subset = extract_subset.extract(TINY, [("GET", "/things/{id}", "a test")])
    assert sorted(subset["definitions"]) == ["part", "thing"]
    assert subset["definitions"]["thing"]["properties"]["description"] == {"type": "string"}
    assert "title" not in subset["definitions"]["part"]


def test_an_operation_the_spec_lacks_stops_the_extraction() -> None:
    with pytest.raises(SystemExit, match=r"no POST /things/\{id\}"):
        extract_subset.extract(TINY, [("POST", "/things/{id}", "a test")])


def test_the_checked_in_subset_has_every_listed_operation() -> None:
    subset = json.loads((HERE / "jumpcloud_spec_subset.json").read_text("utf-8"))
    listed = {(api, method.lower(), path) for api, method, path, _ in extract_subset.OPERATIONS}
    present = {(api, m, p) for api, doc in subset["apis"].items() for p, ops in doc["paths"].items() for m in ops}
    assert listed == present


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no local copy of TheJumpCloud/jcapi-powershell")
def test_a_rerun_from_the_recorded_commit_gives_the_same_file(tmp_path: Path) -> None:
    commit = json.loads((HERE / "jumpcloud_spec_subset.json").read_text("utf-8"))["source"]["commit"]
    out = tmp_path / "subset.json"
    script = HERE / "extract_subset.py"
    args = ["--git-dir", str(MIRROR), "--commit", commit, "--output", str(out)]
    subprocess.run([sys.executable, str(script), *args], check=True, capture_output=True)
    assert out.read_text("utf-8") == (HERE / "jumpcloud_spec_subset.json").read_text("utf-8")
