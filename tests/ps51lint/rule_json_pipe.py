"""Rule PS51-JSON-PIPE: ConvertFrom-Json (or Invoke-RestMethod) output sent down a pipeline, wrapped in ``@()``
or written to the caller's pipeline, where Windows PowerShell 5.1 passes a JSON array as ONE object."""

from __future__ import annotations

from collections.abc import Iterator

from .tree import Node, Script, ancestors


def rule_json_pipe(script: Script) -> Iterator[tuple[Node, str]]:
    """Flag parsed JSON that reaches a pipeline, an ``@()`` or the caller's output as one object."""
    # Fact sheet §8 (PowerShell/PowerShell#3424, fixed in 6+): 5.1 writes a JSON array as ONE pipeline object,
    # so a following command, @() around the pipeline or a function's caller sees one item. Assign first, or
    # wrap the command in parentheses, which enumerates (#3424). Invoke-RestMethod parses JSON the same way
    # (reported in #15272).
    for cmd, name in script.commands():
        if name not in ("convertfrom-json", "invoke-restmethod"):
            continue
        chain = (
            [c for c in cmd.parent.children if c.type == "command"] if cmd.parent.type == "pipeline_chain" else [cmd]
        )
        outer = next(a for a in ancestors(cmd) if a.type not in ("pipeline_chain", "pipeline", "statement_list"))
        if chain[-1] != cmd:
            yield cmd, f"{name} output sent down the pipeline: in 5.1 a JSON array arrives as one object"
        elif outer.type == "array_expression":
            yield outer, f"@(... | {name}) holds a JSON array as one element in 5.1: assign first"
        elif outer.type in ("program", "script_block_body", "statement_block", "flow_control_statement"):
            # Written to the function's (or script block's) output: the caller's pipeline sees one object.
            yield cmd, f"{name} output written to the caller's pipeline: in 5.1 a JSON array goes as one object"
