"""Every action in the registry has a lab simulation whose documents pass the action's own result model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from toolkit.actions import Action, registry
from toolkit.lab.host import LabHost
from toolkit.lab.scenarios import RANDOM_SCENARIO, builtin_names, load_hosts
from toolkit.results import RawOutput

ALL_HOSTS = [h for n in builtin_names() if n != RANDOM_SCENARIO for h in load_hosts(n)]
ALL_HOSTS += load_hosts(RANDOM_SCENARIO, count=30, seed=3)


def sample_parameters(action: Action, host: LabHost) -> dict[str, Any]:
    """Plausible values for every parameter: a real local user where a name is asked for."""
    local = next((u.name for u in host.users if u.rid >= 1000), "alice")
    values: dict[str, Any] = {}
    for param in action.params:
        if param.kind == "string[]":
            values[param.name] = list(host.jc_users) or [local]
        elif param.kind == "int":
            values[param.name] = 5
        elif param.kind == "bool":
            values[param.name] = False
        elif param.name.lower() in ("newname",):
            values[param.name] = f"{local}-renamed"
        elif param.name.lower().endswith("id"):
            values[param.name] = "run-0001"
        else:
            values[param.name] = local
    return values


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_action_has_a_simulation_that_matches_its_result_model(action: Action) -> None:
    assert callable(action.simulate), f"{action.name} has no lab simulation"
    for host in ALL_HOSTS:
        for whatif in (True, False):
            copy = host.model_copy(deep=True)
            document = action.simulate(copy, sample_parameters(action, copy), whatif)
            assert isinstance(document, dict), f"{action.name} on {host.hostname}: not a document"
            result = action.parse(RawOutput(output=[json.dumps(document)]))
            assert not (result.error is not None and result.error.category == "invalid_result"), (
                f"{action.name} on {host.hostname} (whatif={whatif}): {result.error}"
            )
            assert result.action == action.name
            if whatif and action.changes_state:
                assert copy.model_dump() == host.model_dump(), f"{action.name} changed {host.hostname} under -WhatIf"
