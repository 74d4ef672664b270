"""Compiles member access, method calls (instance and static) and indexing into closures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolkit.lab.powershell import members, methods
from toolkit.lab.powershell.compile_expr import ExprCompiler, no_void
from toolkit.lab.powershell.compile_literals import Expr, Node
from toolkit.lab.powershell.convert import full_type_name
from toolkit.lab.powershell.dotnet import new_object, static_member, type_not_found
from toolkit.lab.powershell.errors import PSError, make_record
from toolkit.lab.powershell.netcall import get_property, invoke
from toolkit.lab.powershell.runtime import Scope
from toolkit.lab.powershell.values import to_string


class MemberCompiler(ExprCompiler):
    """``$x.Name``, ``$x.Method()``, ``[Type]::Member``, ``[Type]::new()``, ``$x[i]``."""

    def member_name(self, node: Node) -> Expr:
        inner = self.named(node)[0] if self.named(node) else node
        if inner.type == "simple_name":
            name = self.text(inner)
            return lambda s: name
        return no_void(self.expr(inner))

    def member_access(self, node: Node) -> Expr:
        target_node, op_node, name_node = node.children[0], node.children[1], node.children[-1]
        name_fn = self.member_name(name_node)
        if self.text(op_node) == "::":
            type_text = self.type_name(target_node)

            def static(s: Scope) -> Any:
                name = to_string(name_fn(s))
                try:
                    # A static property computed by the machine: what it throws is wrapped (netcall.get_property).
                    return get_property(lambda: static_member(s.rt.machine, type_text, name), name)
                except KeyError:
                    raise type_not_found(type_text) from None

            return static
        target = self.expr(target_node)

        def get(s: Scope) -> Any:
            return members.get_member(target(s), to_string(name_fn(s)), s.strict_version())

        return get

    def arguments(self, node: Node | None) -> list[Expr]:
        if node is None:
            return []
        listed = node.child_by_field_name("argument_expression_list")
        return [self.expr(c) for c in self.named(listed)] if listed is not None else []

    def invocation(self, node: Node) -> Expr:
        target_node, op_node = node.children[0], node.children[1]
        name_node = next(c for c in node.children if c.type == "member_name")
        arg_node = next((c for c in node.children if c.type == "argument_list"), None)
        return self.method_call(target_node, self.text(op_node), name_node, arg_node)

    def method_call(self, target_node: Node, op: str, name_node: Node, arg_node: Node | None) -> Expr:
        """``target.name(args)`` or ``[type]::name(args)``."""
        args = self.arguments(arg_node)
        name_fn = self.member_name(name_node)
        if op == "::":
            type_text = self.type_name(target_node)

            def call_static(s: Scope) -> Any:
                name = to_string(name_fn(s))
                values = [a(s) for a in args]
                if name.lower() == "new":
                    try:
                        return new_object(s.rt.machine, type_text, values)
                    except KeyError:
                        raise type_not_found(type_text) from None
                try:
                    method = static_member(s.rt.machine, type_text, name)
                except KeyError:
                    raise PSError(make_record(
                        f"Method invocation failed because [{full_type_name(type_text)}] does not contain a method "
                        f"named '{name}'.", "MethodNotFound", "InvalidOperation")) from None
                if not callable(method):
                    return methods.call_method(method, "Invoke", values)
                return _call_python(method, name, values)

            return call_static
        target = self.expr(target_node)

        def call(s: Scope) -> Any:
            obj = target(s)
            name = to_string(name_fn(s))
            values = [a(s) for a in args]
            return self.invoke_method(s, obj, name, values)

        return call

    def invoke_method(self, s: Scope, obj: Any, name: str, values: list[Any]) -> Any:
        """Instance method call; script-aware objects ($PSCmdlet, script blocks) get the scope."""
        hook = getattr(obj, "call_in_scope", None)
        if hook is not None:
            return hook(s, name, values)
        # Exceptions of the method itself are wrapped in call_method (netcall.invoke, or the engine's own methods).
        return methods.call_method(obj, name, values)

    def element_access(self, node: Node) -> Expr:
        kids = self.named(node)
        target, key = self.expr(kids[0]), self.expr(kids[1])
        return lambda s: members.index(target(s), key(s), s.strict_version())


def _call_python(method: Callable[..., Any], name: str, values: list[Any]) -> Any:
    return invoke(method, name, values)
