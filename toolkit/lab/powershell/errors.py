"""Error records, .NET exceptions and control flow of the lab PowerShell engine.

An :class:`ErrorRecord` is the object ``$_`` holds in a ``catch`` block (``Exception.Message``,
``FullyQualifiedErrorId``, ``CategoryInfo``, ``TargetObject``, ``InvocationInfo.PositionMessage``), shaped
after ``System.Management.Automation.ErrorRecord`` (engine source ``src/System.Management.Automation/engine/
ErrorPackage.cs``). Python exceptions carry records through the interpreter:

* :class:`PSError` is a terminating error. ``kind`` says how far it goes when nothing catches it:
  ``statement`` (a cmdlet's ``ThrowTerminatingError``, a binding failure, a .NET method exception: the
  statement ends, the script goes on unless ``$ErrorActionPreference`` is ``Stop`` or a ``try`` is active),
  ``script`` (``throw``, and any error raised as ``ActionPreferenceStopException``: the run ends).
* :class:`BreakFlow`, :class:`ContinueFlow`, :class:`ReturnFlow`, :class:`ExitFlow` are the keywords.
* :class:`UnsupportedConstruct` is the engine's own refusal: syntax this lab does not interpret.
"""

from __future__ import annotations

from typing import Any

from toolkit.lab.powershell.contract import DotNetObject


class UnsupportedConstruct(Exception):
    """A construct the lab engine does not interpret (never silently skipped)."""

    def __init__(self, what: str, line: int) -> None:
        super().__init__(f"lab PowerShell engine: unsupported construct {what} at line {line}")


class ExceptionObject(DotNetObject):
    """A .NET exception object: ``Message``, ``InnerException``, ``GetType().FullName``."""

    def __init__(self, type_name: str, message: str, inner: Any = None, record: ErrorRecord | None = None) -> None:
        bases = [type_name]
        while bases[-1] in _BASES:
            bases.append(_BASES[bases[-1]])
        if bases[-1] != "System.Exception":
            if type_name.startswith("System.Management.Automation.") and type_name.endswith("Exception") and \
                    "System.Management.Automation.RuntimeException" not in bases:
                bases.append("System.Management.Automation.RuntimeException")
            if "System.SystemException" not in bases:
                bases.append("System.SystemException")
            bases.append("System.Exception")
        super().__init__(bases, {"Message": message, "InnerException": inner, "HResult": -2146233087})
        self.message = message
        self.type_name = type_name
        self.record = record
        self.properties["ErrorRecord"] = lambda: self.record

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}"


# Base classes of the exception types the lab raises, most derived first (.NET Framework 4.8 reference source,
# learn.microsoft.com/dotnet/api/<type>: the "Inheritance" line; PowerShell engine source for the S.M.A types).
_BASES = {
    "System.IO.FileNotFoundException": "System.IO.IOException",
    "System.IO.DirectoryNotFoundException": "System.IO.IOException",
    "System.IO.PathTooLongException": "System.IO.IOException",
    "System.IO.EndOfStreamException": "System.IO.IOException",
    "System.IO.IOException": "System.SystemException",
    "System.ArgumentNullException": "System.ArgumentException",
    "System.ArgumentOutOfRangeException": "System.ArgumentException",
    "System.ArgumentException": "System.SystemException",
    "System.ObjectDisposedException": "System.InvalidOperationException",
    "System.InvalidOperationException": "System.SystemException",
    "System.UnauthorizedAccessException": "System.SystemException",
    "System.Security.SecurityException": "System.SystemException",
    "System.FormatException": "System.SystemException",
    "System.InvalidCastException": "System.SystemException",
    "System.ComponentModel.Win32Exception": "System.Runtime.InteropServices.ExternalException",
    "System.Runtime.InteropServices.ExternalException": "System.SystemException",
    "System.Runtime.InteropServices.COMException": "System.Runtime.InteropServices.ExternalException",
    "System.Management.Automation.MethodInvocationException": "System.Management.Automation.MethodException",
    "System.Management.Automation.MethodException": "System.Management.Automation.ExtendedTypeSystemException",
    "System.Management.Automation.GetValueInvocationException": "System.Management.Automation.GetValueException",
    "System.Management.Automation.GetValueException": "System.Management.Automation.ExtendedTypeSystemException",
    "System.Management.Automation.ExtendedTypeSystemException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.ItemNotFoundException": "System.Management.Automation.SessionStateException",
    "System.Management.Automation.SessionStateException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.PSInvalidCastException": "System.InvalidCastException",
    "System.Management.Automation.RuntimeException": "System.SystemException",
    "System.SystemException": "System.Exception",
}


class ErrorRecord(DotNetObject):
    """``System.Management.Automation.ErrorRecord``."""

    def __init__(
        self,
        exception: ExceptionObject,
        error_id: str,
        category: str,
        target: Any = None,
        *,
        position: str = "",
        activity: str = "",
        line: int = 0,
    ) -> None:
        self.exception = exception
        # True for the record an exception made of itself (a RuntimeException such as MethodInvocationException):
        # it holds a ParentContainsErrorRecordException, which a catch block's $_ replaces by the exception the
        # catch matched (ErrorRecord(ErrorRecord, Exception) constructor, ErrorPackage.cs).
        self.parent_contains = False
        self.fully_qualified_error_id = error_id
        self.category = category
        self.target = target
        self.position = position
        self.activity = activity
        self.line = line
        reason = exception.type_name.rsplit(".", 1)[-1]
        target_name = "" if target is None else str(target)
        category_info = DotNetObject(
            ["System.Management.Automation.ErrorCategoryInfo"],
            {"Category": category, "Reason": reason, "TargetName": target_name, "Activity": activity,
             "TargetType": "" if target is None else type(target).__name__},
            to_string=f"{category}: ({target_name}:{''}) [{activity}], {reason}",
        )
        invocation = DotNetObject(
            ["System.Management.Automation.InvocationInfo"],
            {"PositionMessage": lambda: self.position, "ScriptLineNumber": lambda: self.line, "ScriptName": "",
             "Line": ""},
        )
        super().__init__(
            ["System.Management.Automation.ErrorRecord"],
            {
                "Exception": exception,
                "FullyQualifiedErrorId": lambda: self.fully_qualified_error_id,
                "CategoryInfo": category_info,
                "TargetObject": target,
                "InvocationInfo": invocation,
                "ErrorDetails": None,
                "ScriptStackTrace": "",
            },
            {"ToString": lambda: exception.message},
            to_string=lambda: exception.message,
        )
        if exception.record is None:
            exception.record = self


def copy_with_exception(record: ErrorRecord, exception: ExceptionObject) -> ErrorRecord:
    """``new ErrorRecord(record, exception)``: the same record showing another exception (ErrorPackage.cs)."""
    copy = ErrorRecord(exception, record.fully_qualified_error_id, record.category, record.target,
                       position=record.position, activity=record.activity, line=record.line)
    return copy


def make_record(message: str, error_id: str, category: str = "NotSpecified",
                exception_type: str = "System.Management.Automation.RuntimeException", target: Any = None,
                activity: str = "") -> ErrorRecord:
    """A record for an error the engine itself raises."""
    return ErrorRecord(ExceptionObject(exception_type, message), error_id, category, target, activity=activity)


class PSError(Exception):
    """A terminating error travelling up the interpreter (see the module docstring for ``kind``)."""

    def __init__(self, record: ErrorRecord, kind: str = "statement", *, stopped_by_preference: bool = False) -> None:
        super().__init__(record.exception.message)
        self.record = record
        self.kind = kind
        # Raised because -ErrorAction/$ErrorActionPreference was Stop (ActionPreferenceStopException).
        self.stopped_by_preference = stopped_by_preference


class BreakFlow(Exception):
    """``break``."""


class ContinueFlow(Exception):
    """``continue``."""


class ReturnFlow(Exception):
    """``return`` (its value is already written to the output)."""


class ExitFlow(Exception):
    """``exit [code]``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def position_message(source: str, line: int, column: int, length: int) -> str:
    """``InvocationInfo.PositionMessage`` for a script without a file (``At line:L char:C`` and the line)."""
    lines = source.split("\n")
    text = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
    width = max(1, min(length, len(text) - column + 1))
    return f"At line:{line} char:{column}\n+ {text}\n+ {' ' * (column - 1)}{'~' * width}"
