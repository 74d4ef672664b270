"""A fix's input, completed from its declaration: the run id when it declares one, and its secrets.

``jcfix fix NAME`` passes what the admin typed; :func:`fix_values` checks it (before any secret is asked
for), adds the run's id only to an action that declares ``RunId`` (a read-only action with ``command=``
gets none), and fills in each secret the declaration needs from ``read_secret``. The run itself is
:func:`toolkit.services.run_action.run_planned`, like every other action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from toolkit.actions import RUN_ID_PARAM, Action
from toolkit.errors import UsageError
from toolkit.secrets import Secret

SecretReader = Callable[[str, str], Secret]  # (environment variable, prompt) -> the secret


@dataclass(frozen=True)
class FixInput:
    """A fix's checked parameter values, the run's id, and the warnings to show before anything connects."""

    values: dict[str, Any]
    run_id: str
    warnings: tuple[str, ...]


def fix_values(
    action: Action, given: Mapping[str, Any], *, run_id: str | None, read_secret: SecretReader | None
) -> FixInput:
    """Check ``given`` against ``action``'s declaration and complete it (run id, secrets).

    ``read_secret`` None: a dry run, where a secret shows as ``******`` and is never asked for.
    """
    from toolkit.actions._fixbase import new_run_id

    values = {k: v for k, v in given.items() if v is not None}
    rid = run_id or new_run_id()
    if action.needs_run_id:  # declared by the action's parameters, never assumed
        values[RUN_ID_PARAM] = rid
    action.bind(values, secrets=False)  # bad input stops here, before a secret is asked for
    for param in action.params:
        if not param.secret or not param.needed(values):
            continue
        if param.env is None:
            raise UsageError(f"{action.name}: secret {param.name} declares no environment variable")
        values[param.name] = Secret("") if read_secret is None else read_secret(param.env, param.help or param.name)
    warnings = tuple(p.warning for p in action.params if p.flags and p.warning and values.get(p.name))
    return FixInput(values, rid, warnings)
