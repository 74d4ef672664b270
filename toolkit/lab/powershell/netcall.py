""".NET member invocation: how an exception thrown by a method, constructor or property getter reaches a script.

Windows PowerShell 5.1 wraps what a .NET member throws (engine source ``ExceptionHandlingOps
.ConvertToMethodInvocationException`` and ``DotNetAdapter.ConstructorInvokeDotNet``, ``Adapter.BasePropertyGet``):

* a method or constructor: ``MethodInvocationException`` with the error id the inner exception's type name
  (``UnauthorizedAccessException``), the message ``Exception calling "Name" with "N" argument(s): "inner
  message"`` (``ExtendedTypeSystem.MethodInvocationException``; a constructor's name is ``.ctor``) and the
  .NET exception as ``InnerException``;
* a property getter: ``GetValueInvocationException`` (``Exception getting "Name": "inner message"``, error id
  ``CatchFromBaseAdapterGetValueTI``), the .NET exception as ``InnerException``.

Such a record's ``Exception`` is a ParentContainsErrorRecordException, so a ``catch [T]`` that matches the
inner exception hands the block a record whose ``Exception`` is that inner exception
(``ExceptionHandlingOps.FindMatchingHandler`` and the ``ErrorRecord(ErrorRecord, Exception)`` constructor).

A machine implementation signals a .NET exception by raising :class:`~toolkit.lab.powershell.contract
.CommandError`. Any other Python exception from machine code is a bug of the lab, never a Windows behaviour:
it is left to propagate, and ``Runspace.run_script`` turns it into a terminating ``LabBug`` record that no
``catch`` in the script can swallow.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from toolkit.lab.powershell.contract import CommandError
from toolkit.lab.powershell.errors import ErrorRecord, ExceptionObject, PSError, make_record

# Python exceptions that the engine's OWN pure .NET members raise for bad arguments (int('x'), a missing
# dictionary key...): an approximation of .NET's ArgumentException kept from the engine's first version.
_ENGINE_ARGUMENT_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)
_ENGINE_MODULES = ("toolkit.lab.powershell", "builtins")


def wrapped_error(wrapper_type: str, error_id: str, message: str, inner: ExceptionObject) -> PSError:
    """A RuntimeException-derived error whose record contains its own exception (see the module docstring)."""
    record = ErrorRecord(ExceptionObject(wrapper_type, message, inner), error_id, "NotSpecified", None)
    record.parent_contains = True
    return PSError(record)


def method_invocation_error(name: str, argc: int, exception_type: str, message: str) -> PSError:
    """``Exception calling "Name" with "N" argument(s): "message"`` wrapping a .NET ``exception_type``."""
    inner = ExceptionObject(exception_type, message)
    return wrapped_error("System.Management.Automation.MethodInvocationException", exception_type.rsplit(".", 1)[-1],
                         f'Exception calling "{name}" with "{argc}" argument(s): "{message}"', inner)


def overload_error(name: str, argc: int) -> PSError:
    """No overload takes that many arguments (``ExtendedTypeSystem.MethodCountCouldNotFindBest``)."""
    return PSError(make_record(
        f'Cannot find an overload for "{name}" and the argument count: "{argc}".', "MethodCountCouldNotFindBest",
        "NotSpecified", "System.Management.Automation.MethodException"))


def _is_engine_code(fn: Callable[..., Any]) -> bool:
    module = getattr(fn, "__module__", None) or getattr(getattr(fn, "__func__", None), "__module__", "") or ""
    return module.startswith(_ENGINE_MODULES)


def invoke(fn: Callable[..., Any], name: str, args: list[Any]) -> Any:
    """Call a .NET method or constructor implementation ``fn`` as PowerShell's method binder would."""
    try:
        return fn(*args)
    except PSError:
        raise
    except CommandError as exc:
        spec = exc.spec
        raise method_invocation_error(name, len(args), spec.exception_type, spec.message) from None
    except TypeError as exc:
        if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
            # Raised by the call itself (the implementation takes another number of arguments): PowerShell finds
            # no overload for that argument count.
            raise overload_error(name, len(args)) from None
        if not _is_engine_code(fn):
            raise
        raise method_invocation_error(name, len(args), "System.ArgumentException", str(exc)) from None
    except _ENGINE_ARGUMENT_ERRORS as exc:
        if not _is_engine_code(fn):
            raise
        raise method_invocation_error(name, len(args), "System.ArgumentException", str(exc)) from None


def get_property(getter: Callable[[], Any], name: str) -> Any:
    """Call a property getter; a .NET exception becomes ``GetValueInvocationException`` (module docstring)."""
    try:
        return getter()
    except CommandError as exc:
        spec = exc.spec
        inner = ExceptionObject(spec.exception_type, spec.message)
        raise wrapped_error("System.Management.Automation.GetValueInvocationException",
                            "CatchFromBaseAdapterGetValueTI", f'Exception getting "{name}": "{spec.message}"',
                            inner) from None


def lab_bug_message(exc: BaseException) -> str:
    """What a Python exception from machine or engine code says: its type, text and where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"lab bug: {type(exc).__name__}: {exc} (at {where})"
