"""Rewriting each host's fixes builds the CLI's command tree once per process, not once per host (issue 14)."""

from __future__ import annotations

import pytest
import typer

from toolkit.cli import invocation
from toolkit.cli.invocation import Invocation


def test_fixes_for_many_hosts_build_the_command_tree_once(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[object] = []
    real = typer.main.get_command

    def counting(app: typer.Typer) -> object:
        builds.append(app)
        return real(app)

    monkeypatch.setattr(typer.main, "get_command", counting)
    invocation._root_command.cache_clear()
    invocation._accepted_options.cache_clear()
    carried = Invocation("inv.yaml", {}, (("--port", "5986"),))
    commands = [carried.command(f"jcfix fix convert-msa --host lab-{n} --user maria") for n in range(100)]
    assert commands[7] == "jcfix fix convert-msa -i inv.yaml --limit @=lab-7 --user maria --port 5986"
    assert len(set(commands)) == 100
    assert len(builds) == 1  # one per host before: each build re-imports and re-builds the command asked for
    invocation._root_command.cache_clear()  # later tests build their own, from the real get_command
