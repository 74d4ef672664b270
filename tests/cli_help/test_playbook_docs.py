"""docs/playbooks.md cannot rot: its YAML loads with the real loader, its expression table evaluates as
written, and it names every step key, scope name and function the language has.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from toolkit.expression_tree import FUNCTIONS
from toolkit.expressions import parse_expression
from toolkit.playbook import SCOPE_NAMES, PlaybookSpec, StepSpec, parse_playbook

DOC = Path(__file__).resolve().parents[2] / "docs" / "playbooks.md"
TEXT = DOC.read_text(encoding="utf-8")
YAML_BLOCKS = re.findall(r"^```yaml\n(.*?)^```", TEXT, flags=re.M | re.S)
PLAYBOOKS = [block for block in YAML_BLOCKS if not block.startswith("# sample scope")]


def test_every_yaml_block_is_a_playbook_or_the_sample_scope() -> None:
    assert len(YAML_BLOCKS) == len(PLAYBOOKS) + 1
    assert len(PLAYBOOKS) >= 4


@pytest.mark.parametrize("index", range(len(PLAYBOOKS)))
def test_each_playbook_in_the_doc_loads_with_the_real_loader(index: int) -> None:
    playbook = parse_playbook(PLAYBOOKS[index], f"{DOC.name} block {index + 1}")
    assert playbook.steps


def test_the_worked_example_is_what_the_doc_says() -> None:
    (text,) = [block for block in PLAYBOOKS if block.startswith("name: Berlin takeover")]
    playbook = parse_playbook(text, "worked example")
    assert [s.name for s in playbook.steps] == [
        "Diagnose",
        "Show the accounts involved",
        "Rename to the JumpCloud username",
        "Remove Windows Hello PINs",
        "Diagnose again",
    ]
    rename, pins = playbook.steps[2], playbook.steps[3]
    assert rename.for_each is not None and rename.for_each.severity == "blocker"
    assert (rename.timeout, pins.timeout, pins.continue_on_error) == (60, 120, True)
    assert playbook.can_change  # so it runs in check mode unless --apply, as the doc says
    last = playbook.steps[4].when
    assert last is not None
    base = {"vars": {}, "host": {}, "run": {}, "findings": [], "blockers": 0}
    changed = {"renames": {"changed": True}, "pins": {"changed": False}}
    assert last.test({**base, **changed, "check_mode": False})
    assert not last.test({**base, **changed, "check_mode": True})


def _examples() -> list[tuple[str, Any]]:
    table = TEXT.split("<!-- expression-examples -->")[1].split("<!-- /expression-examples -->")[0]
    rows = re.findall(r"^\| `(.+)` \| `(.+)` \|$", table, flags=re.M)
    return [(expr, json.loads(value)) for expr, value in rows]


def test_every_expression_example_has_the_documented_value() -> None:
    (scope_text,) = [block for block in YAML_BLOCKS if block.startswith("# sample scope")]
    scope = yaml.safe_load(scope_text)
    examples = _examples()
    assert len(examples) >= 10
    for expression, expected in examples:
        assert parse_expression(expression).evaluate(scope) == expected, expression


def test_the_doc_names_every_function_step_key_and_scope_name() -> None:
    for name in FUNCTIONS:
        assert f"`{name}(" in TEXT, f"function {name} is not documented"
    keys = [f.alias or name for name, f in StepSpec.model_fields.items()] + list(PlaybookSpec.model_fields)
    for key in keys:
        assert f"`{key}`" in TEXT, f"key {key} is not documented"
    for name in SCOPE_NAMES | {"item"}:
        assert f"`{name}`" in TEXT, f"scope name {name} is not documented"
