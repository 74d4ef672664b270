"""Compiles statements, pipelines, assignments and commands into closures ``f(scope, out)``.

``out`` is the list the statement writes its output objects to. Output rules (about_Pipelines): an
expression statement writes its value, enumerating arrays one level (so ``@()`` writes nothing and ``,$x``
writes ``$x`` itself); assignments and ``[void]``/void methods write nothing; ``$null`` is written as one
object. A statement that fails with a statement-terminating error ends only itself unless a ``try`` is
active or ``$ErrorActionPreference`` is ``Stop`` (about_Preference_Variables, about_Try_Catch_Finally).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from toolkit.lab.powershell import members, operators
from toolkit.lab.powershell.commands import CompiledCommand, enumerate_input, invoke, write_error
from toolkit.lab.powershell.compile_cmd import emit
from toolkit.lab.powershell.compile_flow import FlowCompiler
from toolkit.lab.powershell.compile_literals import Expr, Node
from toolkit.lab.powershell.convert import convert_to
from toolkit.lab.powershell.errors import PSError, position_message
from toolkit.lab.powershell.runtime import Scope
from toolkit.lab.powershell.values import to_string, truthy, unwrap

Stmt = Callable[[Scope, list[Any]], None]
Setter = Callable[[Scope, Any], None]
_NULL_REDIRECT = re.compile(r"^[1-6*]?>\s*\$null$", re.IGNORECASE)


class StmtCompiler(FlowCompiler):
    """Statements and pipelines (the function/param half is :class:`~toolkit.lab.powershell.compile_defs`)."""

    # Compound statements the definitions layer (compile_defs.Compiler) implements; statement() dispatches to them.
    def switch_statement(self, node: Node) -> Stmt:
        raise NotImplementedError

    def try_statement(self, node: Node) -> Stmt:
        raise NotImplementedError

    def function_statement(self, node: Node) -> Stmt:
        raise NotImplementedError

    # ------------------------------------------------------------------------------- statement lists
    def statement_list_output(self, node: Node | None) -> Stmt:
        if node is None:
            return lambda s, out: None
        stmts = [self.statement(c) for c in self.named(node) if c.type not in ("empty_statement",)]
        if len(stmts) == 1:
            return stmts[0]

        def run(s: Scope, out: list[Any]) -> None:
            for stmt in stmts:
                stmt(s, out)

        return run

    def statements_value(self, node: Node) -> Expr:
        body = self.statement_list_output(node)

        def value(s: Scope) -> Any:
            out: list[Any] = []
            body(s, out)
            return unwrap(out)

        return value

    def block(self, node: Node) -> Stmt:
        """A ``statement_block`` (``{ ... }``)."""
        return self.statement_list_output(node.child_by_field_name("statement_list") or next(
            (c for c in node.children if c.type == "statement_list"), None))

    def statement(self, node: Node) -> Stmt:
        kind = node.type
        if kind == "pipeline":
            inner = self.pipeline_statement(node)
        elif kind == "if_statement":
            inner = self.if_statement(node)
        elif kind == "foreach_statement":
            inner = self.foreach_statement(node)
        elif kind == "for_statement":
            inner = self.for_statement(node)
        elif kind in ("while_statement", "do_statement"):
            inner = self.while_statement(node)
        elif kind == "switch_statement":
            inner = self.switch_statement(node)
        elif kind == "try_statement":
            inner = self.try_statement(node)
        elif kind == "flow_control_statement":
            inner = self.flow_control(node)
        elif kind == "function_statement":
            inner = self.function_statement(node)
        elif kind == "statement_block":
            inner = self.block(node)
        else:
            raise self.unsupported(node)
        return self.guard(inner, node)

    def guard(self, inner: Stmt, node: Node) -> Stmt:
        """Statement-terminating errors: recorded and the script goes on, unless try/Stop (module docstring)."""
        line, column = node.start_point[0] + 1, node.start_point[1] + 1
        length = node.end_byte - node.start_byte

        def run(s: Scope, out: list[Any]) -> None:
            try:
                inner(s, out)
            except PSError as exc:
                record = exc.record
                if not record.position:
                    record.position = position_message(s.rt.source, line, column, length)
                    record.line = line
                if exc.kind != "statement" or s.rt.try_depth > 0:
                    raise
                preference = s.preference("erroractionpreference", "Continue")
                if preference == "Stop":
                    exc.kind = "script"
                    raise
                write_error(s, record, "Continue" if preference not in ("SilentlyContinue", "Ignore") else preference)

        return run

    # ------------------------------------------------------------------------------------- pipelines
    def pipeline_statement(self, node: Node) -> Stmt:
        inner = self.strip(node)
        if inner.type == "assignment_expression":
            assign = self.assignment(inner)
            return lambda s, out: assign(s)
        if inner.type in ("post_increment_expression", "post_decrement_expression", "pre_increment_expression",
                          "pre_decrement_expression") or (inner.type == "expression_with_unary_operator" and
                                                          self.text(inner.children[0]) in ("++", "--")):
            bump = self.expr(inner)
            return lambda s, out: bump(s) and None
        stages = self.stages(node)
        if stages is None:
            value = self.expr_raw(inner)
            return lambda s, out: emit(out, value(s))
        return self.run_stages(stages)

    def stages(self, node: Node) -> list[Any] | None:
        """The pipeline's elements when it runs commands (None for a lone expression)."""
        chain = node
        while chain.type in ("pipeline", "pipeline_chain") and len(self.named(chain)) == 1 and \
                self.named(chain)[0].type in ("pipeline_chain", "pipeline"):
            chain = self.named(chain)[0]
        elements = [c for c in self.named(chain) if c.type != "comment"]
        if chain.type not in ("pipeline", "pipeline_chain"):
            elements = [chain]
        if len(elements) == 1 and self.strip(elements[0]).type != "command":
            return None
        out: list[Any] = []
        for index, element in enumerate(elements):
            element = self.strip(element)
            if element.type == "command":
                out.append(self.command(element))
            elif index == 0:
                out.append(self.expr(element))
            else:
                raise self.unsupported(element, f"{element.type} after '|'")
        return out

    def run_stages(self, stages: list[Any]) -> Stmt:
        first = stages[0]
        rest = stages[1:]

        last = rest[-1] if rest else first

        def run(s: Scope, out: list[Any]) -> None:
            if first is last:
                invoke(s, first, None, out)
                return
            items = invoke(s, first, None) if isinstance(first, CompiledCommand) else enumerate_input(first(s))
            for command in rest[:-1]:
                items = invoke(s, command, items)
            invoke(s, last, items, out)

        return run

    def pipeline_value(self, node: Node) -> Expr:
        """A pipeline (or statement) used as a value: an expression as is, commands collected and unwrapped."""
        inner = self.strip(node)
        if inner.type in ("if_statement", "foreach_statement", "for_statement", "while_statement", "do_statement",
                          "switch_statement", "try_statement"):
            body = self.statement(inner)

            def collected(s: Scope) -> Any:
                out: list[Any] = []
                body(s, out)
                return unwrap(out)

            return collected
        if inner.type == "assignment_expression":
            assign = self.assignment(inner)
            return assign
        stages = self.stages(node) if node.type in ("pipeline", "pipeline_chain", "command") else None
        if stages is None:
            return self.expr(inner)
        runner = self.run_stages(stages)

        def value(s: Scope) -> Any:
            out: list[Any] = []
            runner(s, out)
            return unwrap(out)

        return value

    def condition(self, node: Node) -> Callable[[Scope], bool]:
        value = self.pipeline_value(node)
        return lambda s: truthy(value(s))

    # ----------------------------------------------------------------------------------- assignments
    def assignment(self, node: Node) -> Expr:
        target_node = node.children[0]
        op = self.text(node.children[1]).strip()
        value_node = node.child_by_field_name("value") or node.children[-1]
        value = self.pipeline_value(value_node)
        setter = self.assigner(target_node)
        if op == "=":
            def assign(s: Scope) -> Any:
                new = value(s)
                setter(s, new)
                return new

            return assign
        getter = self.expr(target_node)
        arith = op[0]

        def compound(s: Scope) -> Any:
            right = value(s)
            current = getter(s)
            new = operators.add(current, right) if arith == "+" else operators.arithmetic(arith, current, right)
            setter(s, new)
            return new

        return compound

    def assigner(self, node: Node) -> Setter:
        node = self.strip(node)
        if node.type == "variable":
            prefix, name = self.split_variable(self.text(node))
            key = name.lower()
            if key == "null" and prefix is None:
                return lambda s, v: None
            if prefix == "env":
                return lambda s, v: s.rt.env_overrides.__setitem__(name, None if v is None else to_string(v))
            if prefix == "script":
                return lambda s, v: s.script_scope().set(key, v)
            if prefix == "global":
                return lambda s, v: s.global_scope().set(key, v)
            return lambda s, v: s.set(key, v)
        if node.type == "member_access":
            target = self.expr(node.children[0])
            name_fn = self.member_name(node.children[-1])
            return lambda s, v: members.set_member(target(s), to_string(name_fn(s)), v)
        if node.type == "element_access":
            kids = self.named(node)
            target, key_fn = self.expr(kids[0]), self.expr(kids[1])
            return lambda s, v: members.set_index(target(s), key_fn(s), v)
        if node.type == "array_literal_expression":
            targets = [self.assigner(c) for c in self.named(node)]

            def spread(s: Scope, v: Any) -> None:
                # $a, $b = ...: each target takes one item, the last one takes the rest (about_Assignment_Operators).
                items = list(v) if isinstance(v, (list, tuple)) else [v]
                for position, target in enumerate(targets):
                    if position == len(targets) - 1:
                        target(s, unwrap(items[position:]))
                    else:
                        target(s, items[position] if position < len(items) else None)

            return spread
        if node.type == "expression_with_unary_operator" and node.children[0].type == "cast_expression":
            node = node.children[0]
        if node.type == "cast_expression":
            type_text = self.type_name(self.named(node)[0])
            inner = self.assigner(self.named(node)[-1])
            return lambda s, v: inner(s, convert_to(v, type_text))
        raise self.unsupported(node, f"assignment to {node.type}")
