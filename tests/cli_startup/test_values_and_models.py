"""What the start-up shortcuts must not change: the values a command receives, and each action's model."""

from __future__ import annotations

from typing import Annotated

import pytest
import typer
from pydantic import BaseModel

from toolkit.actions import Action, registry
from toolkit.cli.coercion import GivenRuntimeParam, take_values_as_given


def _command(seen: dict[str, object]) -> typer.main.TyperCommand:
    demo = typer.Typer()

    @demo.command()
    def probe(
        name: Annotated[str, typer.Option()] = "table",
        flag: Annotated[bool, typer.Option(envvar="JCFIX_PROBE_FLAG")] = False,
        count: Annotated[int, typer.Option()] = 1,
    ) -> None:
        seen.update(name=name, flag=flag, count=count)

    command = typer.main.get_command(demo)
    take_values_as_given(command)
    return command  # type: ignore[return-value]


def test_text_and_flags_arrive_unchanged_and_other_values_still_coerced(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    command = _command(seen)
    given = {p.name: p._runtime_param for p in command.params}  # type: ignore[attr-defined]
    assert isinstance(given["name"], GivenRuntimeParam) and isinstance(given["flag"], GivenRuntimeParam)
    assert given["count"] is None  # an int is typer's to coerce
    command.main(["--name", "json", "--count", "3"], standalone_mode=False)
    assert seen == {"name": "json", "flag": False, "count": 3}
    # A flag from the environment is text ("yes"): typer's own coercion still turns it into True.
    monkeypatch.setenv("JCFIX_PROBE_FLAG", "yes")
    command.main([], standalone_mode=False)
    assert seen == {"name": "table", "flag": True, "count": 1}


class _Data(BaseModel):
    value: int


def test_a_result_model_given_by_name_is_imported_when_needed() -> None:
    by_name = Action("probe", "probe.ps1.j2", 1, "", (), f"{__name__}:_Data", changes_state=False)
    assert by_name.data_model() is _Data
    for action in registry().values():  # every shipped declaration resolves to a pydantic model
        assert issubclass(action.data_model(), BaseModel), action.name
