"""Compiles functions, script blocks, ``param()`` blocks, ``try``/``switch``, and whole scripts.

Attributes modelled on parameters: ``[Parameter(Mandatory, Position, ValueFromPipeline, ParameterSetName)]``,
``[ValidatePattern]``, ``[ValidateRange]``, ``[ValidateSet]``, ``[ValidateNotNullOrEmpty]``,
``[AllowEmptyString]``, ``[AllowNull]``, ``[Alias]`` and a type constraint; on the block:
``[CmdletBinding(SupportsShouldProcess, DefaultParameterSetName, PositionalBinding)]``; ``[OutputType]`` is
documentation only. Any other attribute is refused as unsupported (it could change behaviour).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import tree_sitter
import tree_sitter_powershell

from toolkit.lab.powershell import binding
from toolkit.lab.powershell.compile_literals import Expr, Node
from toolkit.lab.powershell.compile_stmt import Stmt, StmtCompiler
from toolkit.lab.powershell.convert import full_type_name, is_type
from toolkit.lab.powershell.errors import (
    BreakFlow,
    ContinueFlow,
    ErrorRecord,
    ExceptionObject,
    PSError,
    UnsupportedConstruct,
    copy_with_exception,
)
from toolkit.lab.powershell.functions import FunctionDef, ScriptBlock
from toolkit.lab.powershell.operators import equals
from toolkit.lab.powershell.runtime import Scope
from toolkit.lab.powershell.values import truthy

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
DOC_ATTRIBUTES = frozenset({"outputtype", "diagnostics.codeanalysis.suppressmessageattribute",
                            "system.diagnostics.codeanalysis.suppressmessageattribute"})


class Compiler(StmtCompiler):
    """The whole compiler: expressions, statements and definitions."""

    # ------------------------------------------------------------------------------------ try / switch
    def try_statement(self, node: Node) -> Stmt:
        body = self.block(next(c for c in node.children if c.type == "statement_block"))
        clauses: list[tuple[list[str], Stmt]] = []
        final: Stmt | None = None
        for child in node.children:
            if child.type == "catch_clauses":
                for clause in self.named(child):
                    types_node = next((c for c in clause.children if c.type == "catch_type_list"), None)
                    types = [self.type_name(t) for t in self.named(types_node)] if types_node is not None else []
                    clauses.append((types, self.block(next(c for c in clause.children if c.type == "statement_block"))))
            elif child.type == "finally_clause":
                final = self.block(next(c for c in child.children if c.type == "statement_block"))

        def run(s: Scope, out: list[Any]) -> None:
            rt = s.rt
            try:
                rt.try_depth += 1
                try:
                    body(s, out)
                finally:
                    rt.try_depth -= 1
            except PSError as exc:
                picked = _pick(clauses, exc.record)
                if picked is None:
                    raise
                handler, current = picked
                saved = s.vars.get("_", _UNSET)
                s.vars["_"] = current
                try:
                    handler(s, out)
                finally:
                    if saved is _UNSET:
                        s.vars.pop("_", None)
                    else:
                        s.vars["_"] = saved
            finally:
                if final is not None:
                    final(s, out)

        return run

    def switch_statement(self, node: Node) -> Stmt:
        options = next((c for c in node.children if c.type == "switch_parameters"), None)
        if options is not None:
            raise self.unsupported(options, f"switch option {self.text(options)}")
        condition = next(c for c in node.children if c.type == "switch_condition")
        value = self.pipeline_value(self.named(condition)[0])
        body = next(c for c in node.children if c.type == "switch_body")
        clauses: list[tuple[Expr | None, bool, Stmt]] = []
        for clauses_node in self.named(body):
            for clause in self.named(clauses_node):
                cond_node = next(c for c in clause.children if c.type == "switch_clause_condition")
                stmt = self.block(next(c for c in clause.children if c.type == "statement_block"))
                if self.text(cond_node).lower() == "default":
                    clauses.append((None, False, stmt))
                    continue
                if not self.named(cond_node):
                    clauses.append((_leaf_condition(self.text(cond_node)), False, stmt))
                    continue
                inner = self.named(cond_node)[0]
                is_block = self.strip(inner).type == "script_block_expression"
                clauses.append((self.expr(inner), is_block, stmt))

        def run(s: Scope, out: list[Any]) -> None:
            subject = value(s)
            items = subject if isinstance(subject, (list, tuple)) else [subject]
            saved = s.vars.get("_", _UNSET)
            try:
                for item in items:
                    s.vars["_"] = item
                    matched = False
                    try:
                        for test, is_block, stmt in clauses:
                            if test is None:
                                continue
                            probe = test(s)
                            hit = truthy(probe.run_dot_sourced(s, item)) if is_block else equals(item, probe)
                            if hit:
                                matched = True
                                stmt(s, out)
                        if not matched:
                            for test, _, stmt in clauses:
                                if test is None:
                                    stmt(s, out)
                    except ContinueFlow:
                        continue
            except BreakFlow:
                pass
            finally:
                if saved is _UNSET:
                    s.vars.pop("_", None)
                else:
                    s.vars["_"] = saved

        return run

    # ------------------------------------------------------------------------------------- functions
    def function_statement(self, node: Node) -> Stmt:
        name = self.text(next(c for c in node.children if c.type == "function_name"))
        is_filter = node.children[0].type == "filter"
        block = next((c for c in node.children if c.type == "script_block"), None)
        declared = next((c for c in node.children if c.type == "function_parameter_declaration"), None)
        definition = self.definition(name, block, declared, is_filter=is_filter)
        key = name.lower()

        def define(s: Scope, out: list[Any]) -> None:
            s.functions[key] = definition

        return define

    def script_block(self, node: Node) -> Expr:
        param_block = next((c for c in node.children if c.type == "param_block"), None)
        block = next((c for c in node.children if c.type == "script_block"), None)
        definition = self.definition("<ScriptBlock>", block, param_block, source=self.text(node)[1:-1])
        value = ScriptBlock(definition)
        return lambda s: value

    def definition(self, name: str, block: Node | None, params_node: Node | None, *, is_filter: bool = False,
                   source: str = "") -> FunctionDef:
        """A FunctionDef from a ``script_block`` (its own param block, or one given beside it)."""
        fdef = FunctionDef(name, [], is_filter=is_filter, source_text=source)
        param_block = params_node
        body = None
        if block is not None:
            for child in block.children:
                if child.type == "param_block":
                    param_block = child
                elif child.type == "script_block_body":
                    body = child
                elif child.type in ("statement_list", "named_block_list"):
                    body = block
        if param_block is not None:
            self.param_block(fdef, param_block)
        self.bodies(fdef, body)
        return fdef

    def bodies(self, fdef: FunctionDef, body: Node | None) -> None:
        if body is None:
            return
        named_blocks = next((c for c in body.children if c.type == "named_block_list"), None)
        if named_blocks is None:
            statements = next((c for c in body.children if c.type == "statement_list"), None)
            fdef.end = self.statement_list_output(statements)
            if fdef.is_filter:
                fdef.process, fdef.end = fdef.end, None
            return
        for named in self.named(named_blocks):
            label = self.text(named.children[0]).lower()
            stmt = self.block(next(c for c in named.children if c.type == "statement_block"))
            if label not in ("begin", "process", "end"):
                raise self.unsupported(named, f"{label} block")
            setattr(fdef, label, stmt)

    def param_block(self, fdef: FunctionDef, node: Node) -> None:
        for attributes in (c for c in node.children if c.type == "attribute_list"):
            for attribute in self.named(attributes):
                attr_name, args = self.attribute(attribute)
                if attr_name == "cmdletbinding":
                    fdef.advanced = True
                    fdef.should_process = _flag(args, "supportsshouldprocess")
                    default_set = args.get("defaultparametersetname")
                    fdef.default_set = default_set(_CONSTANT_SCOPE) if callable(default_set) else None
                    fdef.attributes["positional"] = args.get("positionalbinding", True) is True or bool(
                        _flag(args, "positionalbinding"))
                elif attr_name not in DOC_ATTRIBUTES:
                    raise self.unsupported(attribute, f"attribute [{attr_name}] on a param block")
        parameters = next((c for c in node.children if c.type == "parameter_list"), None)
        for index, parameter in enumerate(self.named(parameters) if parameters is not None else []):
            fdef.params.append(self.parameter(fdef, parameter, index))
        if any(p.mandatory or p.pipeline or p.sets for p in fdef.params) and not fdef.advanced:
            # A [Parameter()] attribute makes the script/function advanced (about_Functions_Advanced).
            fdef.advanced = True
        # Without any explicit Position, parameters are positional in declaration order, switches excepted
        # (about_Functions_CmdletBindingAttribute, PositionalBinding).
        if fdef.attributes.get("positional", True) and all(p.position is None for p in fdef.params):
            for position, param in enumerate(p for p in fdef.params if not p.is_switch):
                param.position = position

    def attribute(self, node: Node) -> tuple[str, dict[str, Any]]:
        name_node = next((c for c in node.children if c.type == "attribute_name"), None)
        if name_node is None:  # a type constraint [string]
            return "", {"type": self.type_name(self.named(node)[0])}
        args: dict[str, Any] = {}
        positional: list[Expr] = []
        arguments = next((c for c in node.children if c.type == "attribute_arguments"), None)
        for argument in self.named(arguments) if arguments is not None else []:
            kids = self.named(argument)
            if len(kids) == 1 and kids[0].type == "simple_name" and len(argument.children) == 1:
                args[self.text(kids[0]).lower()] = True
            elif kids and kids[0].type == "simple_name" and any(c.type == "=" for c in argument.children):
                args[self.text(kids[0]).lower()] = self.expr(kids[-1])
            else:
                positional.append(self.expr(argument if len(kids) != 1 else kids[0]))
        args["__positional"] = positional
        return self.text(name_node).lower(), args

    def parameter(self, fdef: FunctionDef, node: Node, index: int) -> binding.ParamInfo:
        variable = next(c for c in node.children if c.type == "variable")
        info = binding.ParamInfo(self.split_variable(self.text(variable))[1])
        for attributes in (c for c in node.children if c.type == "attribute_list"):
            for attribute in self.named(attributes):
                self.parameter_attribute(fdef, info, attribute)
        default = next((c for c in node.children if c.type == "script_parameter_default"), None)
        if default is not None:
            info.default = self.pipeline_value(self.named(default)[-1])
        return info

    def parameter_attribute(self, fdef: FunctionDef, info: binding.ParamInfo, attribute: Node) -> None:
        name, args = self.attribute(attribute)
        scope = _CONSTANT_SCOPE
        values = [fn(scope) for fn in args.get("__positional", [])]
        if name == "":
            info.type = binding.type_for_declared(args["type"])
        elif name == "parameter":
            info.mandatory = _flag(args, "mandatory")
            info.pipeline = _flag(args, "valuefrompipeline")
            if "position" in args:
                info.position = int(args["position"](scope))
            if "parametersetname" in args:
                info.sets = (*info.sets, str(args["parametersetname"](scope)))
        elif name == "validatepattern":
            info.validators.append(binding.validate_pattern(str(values[0])))
        elif name == "validaterange":
            info.validators.append(binding.validate_range(values[0], values[1]))
        elif name == "validateset":
            info.validators.append(binding.validate_set([str(v) for v in values]))
        elif name == "validatenotnullorempty":
            info.validators.append(binding.validate_not_null_or_empty)
        elif name == "allowemptystring":
            info.allow_empty_string = True
        elif name == "allownull":
            info.allow_null = True
        elif name == "alias":
            info.aliases = (*info.aliases, *(str(v) for v in values))
        elif name not in DOC_ATTRIBUTES:
            raise self.unsupported(attribute, f"parameter attribute [{name}]")

    # ----------------------------------------------------------------------------------------- program
    def program(self, root: Node) -> FunctionDef:
        for node in _walk(root):
            if node.type == "ERROR" or node.is_missing:
                raise UnsupportedConstruct(f"parse error ({'missing ' + node.type if node.is_missing else 'ERROR'})",
                                           node.start_point[0] + 1)
        fdef = FunctionDef("", [])  # binding errors of a script carry no command name
        param_block = next((c for c in root.children if c.type == "param_block"), None)
        if param_block is not None:
            self.param_block(fdef, param_block)
        statements = next((c for c in root.children if c.type == "statement_list"), None)
        named = next((c for c in root.children if c.type == "named_block_list"), None)
        if named is not None:
            self.bodies(fdef, root)
        else:
            fdef.end = self.statement_list_output(statements)
        return fdef


def _flag(args: dict[str, Any], name: str) -> bool:
    value = args.get(name, False)
    return bool(value(_CONSTANT_SCOPE)) if callable(value) else bool(value)


def _pick(clauses: list[tuple[list[str], Stmt]], record: ErrorRecord) -> tuple[Stmt, ErrorRecord] | None:
    """The catch block for ``record`` and the record its ``$_`` holds.

    Engine source (5.1) ``ExceptionHandlingOps.FindMatchingHandler``: the thrown exception's InnerException is
    tried first, then the exception itself, then (a cmdlet's terminating error) the inner exception's own inner
    one; within each, an exact type beats a base type, and a bare ``catch`` only takes what no typed clause does.
    In the lab a record an exception made of itself (``parent_contains``: MethodInvocationException...)
    is the thrown exception itself; a cmdlet's record's exception is the inner exception of the
    CmdletInvocationException PowerShell throws, so its own InnerException comes next.
    """
    outer = record.exception
    inner = outer.properties.get("InnerException") if isinstance(outer, ExceptionObject) else None
    inner = inner if isinstance(inner, ExceptionObject) else None
    candidates = [inner, outer] if record.parent_contains else [outer, inner]
    for candidate in candidates:
        if candidate is None:
            continue
        handler = _typed_handler(clauses, candidate)
        if handler is not None:
            if record.parent_contains and candidate is not outer:
                return handler, copy_with_exception(record, candidate)
            return handler, record
    catch_all = next((handler for types, handler in clauses if not types), None)
    return (catch_all, record) if catch_all is not None else None


def _typed_handler(clauses: list[tuple[list[str], Stmt]], exception: ExceptionObject) -> Stmt | None:
    """FindMatchingHandlerByType: the first clause naming the exact type, else the first naming a base type."""
    exact = exception.type_name.lower()
    for types, handler in clauses:
        if any(full_type_name(t).lower() == exact for t in types):
            return handler
    for types, handler in clauses:
        if types and any(is_type(exception, t) for t in types):
            return handler
    return None


def _leaf_condition(text: str) -> Expr:
    """A switch clause condition the grammar leaves as one token: a double-quoted (expandable) string, compiled
    as an expression of its own, or a bare word, which is a string (about_Switch)."""
    if not text.startswith(('"', "\u201c", "\u201d")):
        return lambda s: text
    tree = PARSER.parse(text.encode("utf-8"))
    node = tree.root_node
    while node.named_child_count and node.type not in ("string_literal", "expandable_string_literal"):
        node = node.named_children[0]
    return Compiler(text).expr(node)


def _walk(node: Node) -> Any:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


class _ConstantRuntime:
    """Attribute arguments are constants: they are evaluated without a runspace."""

    automatic: dict[str, Any] = {}  # noqa: RUF012


# A stand-in for a Runtime: a constant reads at most the automatic variables, never the machine.
_CONSTANT_SCOPE = Scope(None, _ConstantRuntime())  # type: ignore[arg-type]
_UNSET = object()


@lru_cache(maxsize=256)
def compile_script(source: str) -> FunctionDef:
    """Parse and compile a script once per text (PowerShell too caches compiled script blocks)."""
    tree = PARSER.parse(source.encode("utf-8"))
    return Compiler(source).program(tree.root_node)


Compile = Callable[[str], FunctionDef]
