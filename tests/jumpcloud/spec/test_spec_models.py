"""Every field jcfix's API models read is declared by the spec's schema for it, or listed in offspec.py."""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel
from spec_validator import Spec

from toolkit.jumpcloud import api
from toolkit.jumpcloud.offspec import off_spec_fields

SPEC = Spec.load()
# Each model of toolkit/jumpcloud/api.py and the answers it is built from: (api, definition name).
MODEL_SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "JcUser": [("v1", "systemuserreturn"), ("v1", "systemuserSearchReturn")],
    "JcSystem": [("v1", "JcSystem"), ("v1", "systemSearch")],
    "ScheduledState": [("v2", "scheduled-userstate-result")],
}


def _declared(api_name: str, definition: str) -> set[str]:
    return set(SPEC.document["apis"][api_name]["definitions"][definition].get("properties", {}))


def _models() -> list[type[BaseModel]]:
    return [
        cls
        for _, cls in inspect.getmembers(api, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == api.__name__ and not cls.__name__.startswith("_")
    ]


def test_every_model_is_mapped_to_its_schemas() -> None:
    names = {cls.__name__ for cls in _models()}
    assert names and names <= set(MODEL_SCHEMAS), f"map these to their spec schemas here: {names - set(MODEL_SCHEMAS)}"


@pytest.mark.parametrize("model", _models(), ids=lambda cls: cls.__name__)
def test_the_fields_a_model_reads_are_in_the_spec_or_off_spec(model: type[BaseModel]) -> None:
    wire = {info.alias or name for name, info in model.model_fields.items()}
    for api_name, definition in MODEL_SCHEMAS[model.__name__]:
        listed = {name for schema, name in off_spec_fields() if schema == definition}
        missing = wire - _declared(api_name, definition) - listed
        assert not missing, f"{model.__name__} reads {sorted(missing)}, which {definition} does not declare"


def test_the_check_would_catch_an_undeclared_field() -> None:
    declared = _declared("v1", "systemuserreturn")
    assert "account_locked" in declared and "systemUsername" not in declared and "localName" not in declared
