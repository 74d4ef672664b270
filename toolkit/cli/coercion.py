"""Text and flag values taken as given, without building a pydantic validator for each.

typer (0.29) coerces parameter values through a pydantic ``TypeAdapter``, so every command that takes a
plain ``--output table`` (or merely has ``--install-completion``, whose unset value is None) imports
pydantic (~50 ms) and builds an adapter that returns the value unchanged. For a ``str`` parameter whose
value is a string, a ``bool`` one whose value is a bool, and None for either, the adapter's answer is the
value itself: this module gives such parameters a runtime coercion that returns it, and hands any other
value (bytes, ``"yes"`` from an environment variable) to typer's own coercion, so what a command receives
never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typer import _click as click
from typer._coercion import RuntimeParam, build_runtime_param
from typer.core import TyperArgument, TyperOption


@dataclass(frozen=True)
class GivenRuntimeParam(RuntimeParam):
    """A ``str`` or ``bool`` parameter: a value of that type is returned as is (None never gets here)."""

    def _coerce_value(self, value: Any, param: Any, ctx: click.Context) -> Any:
        if type(value) is self.annotation:
            return value
        return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)


def _plain(param: click.Parameter) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or descriptor.annotation not in (str, bool) or descriptor.file_annotation is not None:
        return False
    info = descriptor.parameter_info
    return getattr(info, "parser", None) is None and getattr(info, "click_type", None) is None


def _take_as_given(param: click.Parameter | None) -> None:
    # Only where typer has not built its own yet (``_runtime_param`` is typer's lazily built coercion).
    if isinstance(param, (TyperOption, TyperArgument)) and _plain(param) and param._runtime_param is None:
        descriptor = param.type_descriptor
        param._runtime_param = GivenRuntimeParam(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
        )


def take_values_as_given(command: click.Command) -> click.Command:
    """Give ``command``'s plain ``str`` and ``bool`` parameters :class:`GivenRuntimeParam` (in place); returns it.

    ``--help`` included: click builds that option on first use (from the context's help option names),
    so it gets its coercion when it is built.
    """
    for param in command.params:
        _take_as_given(param)
    build_help_option = command.get_help_option

    def get_help_option(ctx: click.Context) -> Any:
        option = build_help_option(ctx)
        _take_as_given(option)
        return option

    command.get_help_option = get_help_option  # type: ignore[method-assign]
    return command
