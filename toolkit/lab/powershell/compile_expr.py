"""Compiles tree-sitter-powershell expression nodes into Python closures ``f(scope) -> value``.

Each node is compiled once per script text (the compiled script is cached), so running a script is only
closure calls: no tree walking, no dispatch on node types at run time. Wrapper nodes of the grammar's
precedence chain (``logical_expression`` → ... → ``unary_expression``) with one child compile to that child.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolkit.lab.powershell import methods, operators
from toolkit.lab.powershell.compile_literals import Expr, LiteralCompiler, Node
from toolkit.lab.powershell.convert import convert_to, full_type_name, to_int
from toolkit.lab.powershell.dotnet import TypeObject
from toolkit.lab.powershell.errors import PSError, make_record
from toolkit.lab.powershell.runtime import Scope
from toolkit.lab.powershell.values import Hashtable, PSObject, to_string, truthy

VOID: Any = methods._VOID  # a void method's result: nothing is written to the pipeline

WRAPPERS = frozenset([
    "logical_expression", "bitwise_expression", "comparison_expression", "additive_expression",
    "multiplicative_expression", "format_expression", "range_expression", "array_literal_expression",
    "unary_expression", "pipeline_chain", "logical_argument_expression", "bitwise_argument_expression",
    "comparison_argument_expression", "additive_argument_expression", "multiplicative_argument_expression",
    "format_argument_expression", "range_argument_expression", "argument_expression", "left_assignment_expression",
    "key_expression", "path_command_name",
])
BINARY = frozenset([
    "logical_expression", "bitwise_expression", "comparison_expression", "additive_expression",
    "multiplicative_expression", "format_expression", "range_expression", "logical_argument_expression",
    "bitwise_argument_expression", "comparison_argument_expression", "additive_argument_expression",
    "multiplicative_argument_expression", "format_argument_expression", "range_argument_expression",
])
def no_void(fn: Expr) -> Expr:
    def run(s: Scope) -> Any:
        value = fn(s)
        return None if value is VOID else value

    return run


def _constant(value: str) -> Expr:
    """An expression whose value is always ``value`` (a bare hashtable key)."""
    return lambda s: value


class ExprCompiler(LiteralCompiler):
    """Expression dispatcher and operators (members: :mod:`~toolkit.lab.powershell.compile_members`)."""

    def statements_value(self, node: Node) -> Expr:  # implemented by the statement compiler
        raise NotImplementedError

    def pipeline_value(self, node: Node) -> Expr:
        raise NotImplementedError

    def statement_list_output(self, node: Node | None) -> Callable[[Scope, list[Any]], None]:
        raise NotImplementedError

    def script_block(self, node: Node) -> Expr:
        raise NotImplementedError

    def member_access(self, node: Node) -> Expr:
        raise NotImplementedError

    def member_name(self, node: Node) -> Expr:
        raise NotImplementedError

    def invocation(self, node: Node) -> Expr:
        raise NotImplementedError

    def element_access(self, node: Node) -> Expr:
        raise NotImplementedError

    # --------------------------------------------------------------------------------------- dispatcher
    def expr(self, node: Node) -> Expr:
        """Compile any expression node (VOID from void methods becomes ``$null``)."""
        fn = self.expr_raw(node)
        inner = self.strip(node)
        return no_void(fn) if inner.type in ("invokation_expression", "cast_expression",
                                             "expression_with_unary_operator") else fn

    def strip(self, node: Node) -> Node:
        while node.type in WRAPPERS or node.type == "pipeline":
            kids = self.named(node)
            if len(kids) != 1 or len(node.children) != 1:
                break
            node = kids[0]
        return node

    def expr_raw(self, node: Node) -> Expr:
        node = self.strip(node)
        kind = node.type
        if kind in BINARY:
            return self.binary(node)
        if kind in ("array_literal_expression",):
            parts = [self.expr(c) for c in self.named(node)]
            return lambda s: [p(s) for p in parts]
        if kind == "variable":
            return self.variable(node)
        if kind == "integer_literal" or kind == "real_literal":
            value = self.number(node)
            return lambda s: value
        if kind == "string_literal":
            return self.string(node)
        if kind == "expandable_string_literal":
            return self.expandable(node, False)
        if kind == "member_access":
            return self.member_access(node)
        if kind == "invokation_expression":
            return self.invocation(node)
        if kind == "element_access":
            return self.element_access(node)
        if kind == "expression_with_unary_operator":
            return self.unary(node)
        if kind == "cast_expression":
            return self.cast(node)
        if kind == "hash_literal_expression":
            return self.hashtable(node, ordered=False)
        if kind == "array_expression":
            body = self.statement_list_output(node.child_by_field_name("statements"))

            def array(s: Scope) -> Any:
                out: list[Any] = []
                body(s, out)
                return out

            return array
        if kind == "sub_expression":
            return self.statements_value(node.child_by_field_name("statements") or node)
        if kind == "parenthesized_expression":
            inner = self.named(node)
            if not inner:
                raise self.unsupported(node, "empty parentheses")
            return self.pipeline_value(inner[0])
        if kind == "script_block_expression":
            return self.script_block(node)
        if kind == "type_literal":
            name = self.type_name(node)
            return lambda s: TypeObject(full_type_name(name))
        if kind in ("post_increment_expression", "post_decrement_expression", "pre_increment_expression",
                    "pre_decrement_expression"):
            return self.increment(node)
        if kind in ("pipeline", "assignment_expression", "pipeline_chain", "command"):
            return self.pipeline_value(node)
        raise self.unsupported(node)

    # --------------------------------------------------------------------------------------- operators
    def binary(self, node: Node) -> Expr:
        kids = node.children
        if len(kids) != 3:
            raise self.unsupported(node)
        left_node, op_node, right_node = kids
        op = self.text(op_node).lower()
        left = self.expr(left_node)
        if op in ("-is", "-isnot", "-as") and self.strip(right_node).type == "type_literal":
            type_text = self.type_name(self.strip(right_node))
            return lambda s: operators.comparison(op, left(s), type_text, _no_matches)
        right = self.expr(right_node)
        if op == "-and":
            return lambda s: truthy(left(s)) and truthy(right(s))
        if op == "-or":
            return lambda s: truthy(left(s)) or truthy(right(s))
        if op == "-xor":
            return lambda s: truthy(left(s)) != truthy(right(s))
        if op == "+":
            return lambda s: operators.add(left(s), right(s))
        if op in ("-", "*", "/", "%"):
            return lambda s: operators.arithmetic(op, left(s), right(s))
        if op == "-f":
            return lambda s: operators.format_operator(left(s), right(s))
        if op == "..":
            return lambda s: _range(left(s), right(s))
        if op in ("-band", "-bor", "-bxor"):
            fn = {"-band": int.__and__, "-bor": int.__or__, "-bxor": int.__xor__}[op]
            return lambda s: fn(to_int(left(s)), to_int(right(s)))
        if op.startswith("-"):

            def compare(s: Scope) -> Any:
                def set_matches(table: Hashtable) -> None:
                    s.set("matches", table)

                return operators.comparison(op, left(s), right(s), set_matches)

            return compare
        raise self.unsupported(node, f"operator {op}")

    def unary(self, node: Node) -> Expr:
        kids = node.children
        if kids[0].type == "cast_expression" and len(kids) == 1:
            return self.cast(kids[0])
        op = self.text(kids[0]).lower()
        operand = self.expr(kids[-1])
        if op in ("-not", "!"):
            return lambda s: not truthy(operand(s))
        if op == "-":
            return lambda s: operators.arithmetic("-", 0, operand(s))
        if op == "+":
            return lambda s: operators.add(0, operand(s))
        if op == ",":
            return lambda s: [operand(s)]
        if op == "-split":
            return lambda s: operators.unary_split(operand(s))
        if op == "-join":
            return lambda s: operators.join(operand(s), "")
        if op in ("++", "--"):
            return self.increment(node)
        raise self.unsupported(node, f"unary operator {op}")

    def type_name(self, node: Node) -> str:
        """The text inside ``[...]`` of a type literal (``System.Collections.Generic.List[string]``...)."""
        text = self.text(node).strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        return text.strip()

    def cast(self, node: Node) -> Expr:
        type_node, operand_node = self.named(node)[0], self.named(node)[-1]
        type_text = self.type_name(type_node)
        lowered = type_text.lower()
        target = self.strip(operand_node)
        if lowered == "ordered":
            if target.type != "hash_literal_expression":
                raise PSError(make_record("The ordered attribute can be specified only on a hash literal node.",
                                          "OrderedAttributeOnlyOnHashLiteralNode", "ParserError"))
            return self.hashtable(target, ordered=True)
        if lowered in ("pscustomobject", "system.management.automation.pscustomobject") and \
                target.type == "hash_literal_expression":
            table = self.hashtable(target, ordered=True)
            return lambda s: PSObject(table(s).items())
        operand = self.expr(operand_node)
        if lowered == "void":
            def void(s: Scope) -> Any:
                operand(s)
                return VOID

            return void
        return lambda s: convert_to(operand(s), type_text)

    def hashtable(self, node: Node, *, ordered: bool) -> Expr:
        entries: list[tuple[Expr, Expr]] = []
        body = next((c for c in node.children if c.type == "hash_literal_body"), None)
        for entry in self.named(body) if body is not None else []:
            if entry.type != "hash_entry":
                raise self.unsupported(entry)
            kids = self.named(entry)
            key_node, value_node = kids[0], kids[-1]
            key_inner = self.strip(key_node)
            if key_inner.type in ("simple_name", "generic_token"):
                key_text = self.text(key_inner)
                entries.append((_constant(key_text), self.pipeline_value(value_node)))
            else:
                entries.append((self.expr(key_inner), self.pipeline_value(value_node)))

        def build(s: Scope) -> Hashtable:
            table = Hashtable(ordered=ordered)
            for key_fn, value_fn in entries:
                key = key_fn(s)
                key_text = key if isinstance(key, str) else to_string(key)
                if key_text in table:
                    raise PSError(make_record(
                        f"Duplicate keys '{key_text}' are not allowed in hash literals.", "DuplicateKeyInHashLiteral",
                        "ParserError"))
                table[key_text] = value_fn(s)
            return table

        return build

    def increment(self, node: Node) -> Expr:
        kids = node.children
        op_first = not kids[0].is_named
        op = self.text(kids[0] if op_first else kids[-1])
        target = kids[-1] if op_first else kids[0]
        delta = 1 if op == "++" else -1
        getter = self.expr(target)
        setter = self.assigner(target)

        def bump(s: Scope) -> Any:
            old = getter(s)
            new = operators.add(0 if old is None else old, delta)
            setter(s, new)
            return new if op_first else old

        return bump

    def assigner(self, node: Node) -> Callable[[Scope, Any], None]:
        raise NotImplementedError


def _no_matches(_table: Hashtable) -> None:
    return None


def _range(start: Any, end: Any) -> list[int]:
    a, b = to_int(start), to_int(end)
    return list(range(a, b + 1)) if a <= b else list(range(a, b - 1, -1))
