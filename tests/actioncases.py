"""What the template tests render: every action, every combination of its switches, valid filler values."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from toolkit.actions import Action, Param, registry
from toolkit.secrets import Secret

# Plain values tried in order for a required parameter until one passes its validator.
FILLER_CANDIDATES: dict[str, list[Any]] = {
    "string": ["jcfixtest", "alice", "run-1", "x"],
    "string[]": [["jcfixtest"], ["alice"]],
    "int": [1, 10, 100, 0],
    "bool": [True, False],
    "secret": [Secret("jcfix-test-password")],
}


def option_combinations(action: Action) -> list[dict[str, Any]]:
    """Every combination of the action's boolean options (other options keep their defaults)."""
    switches = [name for name, default in action.options.items() if isinstance(default, bool)]
    return [
        {**action.options, **dict(zip(switches, values, strict=True))}
        for values in itertools.product((True, False), repeat=len(switches))
    ]


def option_id(options: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in options.items()) or "defaults"


def filler(param: Param) -> Any:
    """A value the declaration accepts for ``param``."""
    for candidate in FILLER_CANDIDATES[param.kind]:
        try:
            value = param.convert(candidate)
            if param.validate is not None:
                param.validate(value)
        except ValueError:
            continue
        return value
    raise RuntimeError(f"no filler value passes {param.name}'s validator: add one to FILLER_CANDIDATES")


def required_fillers(action: Action, skip: str | None = None) -> dict[str, Any]:
    """Values for the action's required parameters (except ``skip``)."""
    return {p.name: filler(p) for p in action.params if p.required and p.name != skip}


def all_renderings() -> list[tuple[Action, dict[str, Any]]]:
    return [(action, options) for action in registry().values() for options in option_combinations(action)]
