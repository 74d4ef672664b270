"""Compiles control flow: if/elseif/else, foreach, for, while, do, return/break/continue/throw/exit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolkit.lab.powershell.compile_cmd import CommandCompiler, emit
from toolkit.lab.powershell.compile_literals import Expr, Node
from toolkit.lab.powershell.errors import BreakFlow, ContinueFlow, ExitFlow, PSError, ReturnFlow
from toolkit.lab.powershell.runtime import Scope
from toolkit.lab.powershell.values import to_string, truthy

Stmt = Callable[[Scope, list[Any]], None]


class FlowCompiler(CommandCompiler):
    """Control-flow statements (statement lists and pipelines: :mod:`~toolkit.lab.powershell.compile_stmt`)."""

    def block(self, node: Node) -> Stmt:
        raise NotImplementedError

    def condition(self, node: Node) -> Callable[[Scope], bool]:
        raise NotImplementedError

    def assigner(self, node: Node) -> Callable[[Scope, Any], None]:
        raise NotImplementedError

    def stages(self, node: Node) -> list[Any] | None:
        raise NotImplementedError

    def if_statement(self, node: Node) -> Stmt:
        branches: list[tuple[Callable[[Scope], bool], Stmt]] = []
        cond = self.condition(self.field(node, "condition"))
        body = self.block(next(c for c in node.children if c.type == "statement_block"))
        branches.append((cond, body))
        otherwise: Stmt | None = None
        for child in node.children:
            if child.type == "elseif_clauses":
                for clause in self.named(child):
                    branches.append((self.condition(self.field(clause, "condition")),
                                     self.block(next(c for c in clause.children if c.type == "statement_block"))))
            elif child.type == "elseif_clause":
                branches.append((self.condition(self.field(child, "condition")),
                                 self.block(next(c for c in child.children if c.type == "statement_block"))))
            elif child.type == "else_clause":
                otherwise = self.block(next(c for c in child.children if c.type == "statement_block"))

        def run(s: Scope, out: list[Any]) -> None:
            for test, branch in branches:
                if test(s):
                    branch(s, out)
                    return
            if otherwise is not None:
                otherwise(s, out)

        return run

    def foreach_statement(self, node: Node) -> Stmt:
        variable = next(c for c in node.children if c.type == "variable")
        source = self.pipeline_value(next(c for c in node.children if c.type == "pipeline"))
        body = self.block(next(c for c in node.children if c.type == "statement_block"))
        setter = self.assigner(variable)

        def run(s: Scope, out: list[Any]) -> None:
            collection = source(s)
            if collection is None:
                return  # foreach over $null runs zero times (PowerShell 3+)
            items = list(collection) if isinstance(collection, (list, tuple, bytes, bytearray)) else [collection]
            for item in items:
                setter(s, item)
                try:
                    body(s, out)
                except BreakFlow:
                    break
                except ContinueFlow:
                    continue

        return run

    def for_statement(self, node: Node) -> Stmt:
        def part(field: str) -> Expr | None:
            found = node.child_by_field_name(field)
            return self.pipeline_value(self.named(found)[0]) if found is not None and self.named(found) else None

        init, cond, step = part("for_initializer"), part("for_condition"), part("for_iterator")
        body = self.block(next(c for c in node.children if c.type == "statement_block"))

        def run(s: Scope, out: list[Any]) -> None:
            if init is not None:
                init(s)
            while cond is None or truthy(cond(s)):
                try:
                    body(s, out)
                except BreakFlow:
                    break
                except ContinueFlow:
                    pass
                if step is not None:
                    step(s)

        return run

    def while_statement(self, node: Node) -> Stmt:
        cond = self.condition(self.named(self.field(node, "condition"))[0])
        body = self.block(next(c for c in node.children if c.type == "statement_block"))
        keyword = node.children[0].type
        until = any(c.type == "until" for c in node.children)

        def run(s: Scope, out: list[Any]) -> None:
            first = keyword == "do"
            while True:
                if not first:
                    holds = cond(s)
                    if holds == until:
                        return
                first = False
                try:
                    body(s, out)
                except BreakFlow:
                    return
                except ContinueFlow:
                    continue

        return run

    def flow_control(self, node: Node) -> Stmt:
        keyword = node.children[0].type
        value_node = next((c for c in self.named(node) if c.type == "pipeline"), None)
        value = self.pipeline_value(value_node) if value_node is not None else None
        if any(c.type == "label_expression" for c in node.children) or (
                keyword in ("break", "continue") and value_node is not None):
            raise self.unsupported(node, f"{keyword} with a label")
        if keyword == "return":
            if value_node is None or value is None:
                def ret(s: Scope, out: list[Any]) -> None:
                    raise ReturnFlow

                return ret
            raw = self.expr_raw(self.strip(value_node)) if self.stages(value_node) is None else value

            def ret_value(s: Scope, out: list[Any]) -> None:
                emit(out, raw(s))
                raise ReturnFlow

            return ret_value
        if keyword == "break":
            def brk(s: Scope, out: list[Any]) -> None:
                raise BreakFlow

            return brk
        if keyword == "continue":
            def cont(s: Scope, out: list[Any]) -> None:
                raise ContinueFlow

            return cont
        if keyword == "throw":
            return self.throw(value)
        if keyword == "exit":
            def leave(s: Scope, out: list[Any]) -> None:
                code = value(s) if value is not None else 0
                raise ExitFlow(int(code) if isinstance(code, int) else 0)

            return leave
        raise self.unsupported(node, keyword)

    def throw(self, value: Expr | None) -> Stmt:
        from toolkit.lab.powershell.errors import ErrorRecord, ExceptionObject

        def run(s: Scope, out: list[Any]) -> None:
            thrown = value(s) if value is not None else None
            if thrown is None and value is None:
                current = s.lookup("_")
                if isinstance(current, ErrorRecord):  # a bare 'throw' in a catch block rethrows
                    raise PSError(current, kind="script")
                thrown = "ScriptHalted"
            if isinstance(thrown, ErrorRecord):
                raise PSError(thrown, kind="script")
            if isinstance(thrown, ExceptionObject):
                # UNCONFIRMED: the id PowerShell gives a thrown exception object; the lab uses its type's name.
                record = ErrorRecord(thrown, thrown.type_name.rsplit(".", 1)[-1], "OperationStopped", None)
                raise PSError(record, kind="script")
            # throw 'text': a RuntimeException whose message and error id are the text (about_Throw).
            text = to_string(thrown)
            record = ErrorRecord(ExceptionObject("System.Management.Automation.RuntimeException", text), text,
                                 "OperationStopped", thrown)
            raise PSError(record, kind="script")

        return run
