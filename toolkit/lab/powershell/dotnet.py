"""The pure .NET types the templates use: ``[Convert]``, ``[regex]``, ``[string]``, ``[System.IO.Path]``,
``[datetime]``, enums, exceptions, ``ErrorRecord``, generic lists; static members and constructors.

Machine-bound types (``[Environment]``, ``[IO.Directory]``, ``[Microsoft.Win32.RegistryKey]``, ACL types...)
are asked of the machine first, as the contract says; the pure ones below are the fallback.
"""

from __future__ import annotations

import base64
import binascii
import ntpath
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from toolkit.lab.powershell.contract import CommandError, DotNetEnum, DotNetObject, Machine
from toolkit.lab.powershell.convert import convert_to, full_type_name, new_list, to_int
from toolkit.lab.powershell.enums import enum_value
from toolkit.lab.powershell.errors import ErrorRecord, ExceptionObject, PSError, make_record
from toolkit.lab.powershell.netcall import invoke, method_invocation_error
from toolkit.lab.powershell.operators import dotnet_regex
from toolkit.lab.powershell.values import Hashtable, PSObject, to_string


def method_error(name: str, args: list[Any], exc_type: str, message: str) -> PSError:
    """``Exception calling "Name" with "N" argument(s): "message"`` (MethodInvocationException)."""
    return method_invocation_error(name, len(args), exc_type, message)


class TypeObject:
    """A ``System.Type`` as ``$x.GetType()`` gives it (``Name``, ``FullName``)."""

    def __init__(self, full_name: str) -> None:
        self.full_name = full_name
        self.type_names = ("System.RuntimeType", "System.Type", "System.Object")

    def __str__(self) -> str:
        return self.full_name


class RegexObject:
    """``[regex]'pattern'``: a .NET Regex (case-sensitive unless the pattern says otherwise)."""

    type_names = ("System.Text.RegularExpressions.Regex", "System.Object")

    def __init__(self, pattern: str, ignore_case: bool = False) -> None:
        self.pattern = pattern
        self.compiled = dotnet_regex(pattern, ignore_case)

    def __str__(self) -> str:
        return self.pattern


def match_object(found: Any) -> DotNetObject:
    """A ``System.Text.RegularExpressions.Match``: ``Success``, ``Value``, ``Index``, ``Groups[n|name]``."""
    if found is None:
        groups: list[Any] = [_group(None, 0)]
        return DotNetObject(["System.Text.RegularExpressions.Match"],
                            {"Success": False, "Value": "", "Index": 0, "Length": 0, "Groups": GroupCollection(groups)},
                            to_string="")
    groups = [_group(found, i) for i in range(found.re.groups + 1)]
    names = {name: index for name, index in found.re.groupindex.items()}
    return DotNetObject(
        ["System.Text.RegularExpressions.Match", "System.Text.RegularExpressions.Group"],
        {"Success": True, "Value": found.group(0), "Index": found.start(), "Length": len(found.group(0)),
         "Groups": GroupCollection(groups, names)},
        to_string=found.group(0),
    )


def _group(found: Any, index: int) -> DotNetObject:
    value = found.group(index) if found is not None else None
    return DotNetObject(["System.Text.RegularExpressions.Group"],
                        {"Success": value is not None, "Value": value or "",
                         "Index": found.start(index) if value is not None else 0}, to_string=value or "")


class GroupCollection(list[Any]):
    """``Match.Groups``: indexed by number or by group name."""

    def __init__(self, groups: list[Any], names: dict[str, int] | None = None) -> None:
        super().__init__(groups)
        self.names = names or {}

    def lookup(self, key: Any) -> Any:
        if isinstance(key, str) and not key.isdigit():
            index = self.names.get(key)
            return self[index] if index is not None else _group(None, 0)
        index = to_int(key)
        return self[index] if 0 <= index < len(self) else _group(None, 0)


# name -> (Python codec, .NET type, WebName, CodePage, EncodingName, preamble). Encoding.Default is the ANSI code
# page, 1252 on the lab's (en-US) machines, an SBCSCodePageEncoding in .NET Framework (learn.microsoft.com/dotnet/api/
# system.text.encoding.default: "the active code page" on .NET Framework).
_ENCODINGS = {
    "utf8": ("utf-8", "System.Text.UTF8Encoding", "utf-8", 65001, "Unicode (UTF-8)", b"\xef\xbb\xbf"),
    "unicode": ("utf-16-le", "System.Text.UnicodeEncoding", "utf-16", 1200, "Unicode", b"\xff\xfe"),
    "bigendianunicode": ("utf-16-be", "System.Text.UnicodeEncoding", "utf-16BE", 1201, "Unicode (Big-Endian)",
                         b"\xfe\xff"),
    "utf32": ("utf-32-le", "System.Text.UTF32Encoding", "utf-32", 12000, "Unicode (UTF-32)", b"\xff\xfe\0\0"),
    "ascii": ("ascii", "System.Text.ASCIIEncoding", "us-ascii", 20127, "US-ASCII", b""),
    "default": ("cp1252", "System.Text.SBCSCodePageEncoding", "Windows-1252", 1252, "Western European (Windows)", b""),
}
ENCODING = {name: entry[0] for name, entry in _ENCODINGS.items()}


def _decode(data: bytes, codec: str) -> str:
    """Encoding.GetString with .NET's default replacement fallback: an invalid UTF-8/16 sequence is U+FFFD, a
    byte over 0x7F is '?' in ASCII, and cp1252's five undefined bytes map to the same code point (best fit)."""
    if codec == "ascii":
        return "".join(chr(b) if b < 0x80 else "?" for b in data)
    if codec == "cp1252":
        return "".join(data[i : i + 1].decode("cp1252", errors="ignore") or chr(data[i]) for i in range(len(data)))
    return data.decode(codec, errors="replace")


def encoding_object(name: str, *, preamble: bool = True) -> DotNetObject:
    """A System.Text.Encoding. ``[Text.Encoding]::UTF8`` has a BOM preamble, ``New-Object UTF8Encoding $false``
    none; GetBytes never writes the preamble (Encoding.GetPreamble docs); characters an encoding cannot hold
    become '?' (EncoderReplacementFallback)."""
    codec, type_name, web, code_page, display, bom = _ENCODINGS[name.lower()]
    bases = [type_name, "System.Text.EncodingNLS"] if code_page == 1252 else [type_name]

    def get_string(data: Any, index: Any = 0, count: Any = None) -> str:
        start = to_int(index)
        return _decode(bytes(data)[start : None if count is None else start + to_int(count)], codec)

    return DotNetObject(
        [*bases, "System.Text.Encoding"],
        {"WebName": web, "BodyName": web, "CodePage": code_page, "EncodingName": display},
        {"GetString": get_string,
         "GetBytes": lambda text: bytearray(to_string(text).encode(codec, errors="replace")),
         "GetByteCount": lambda text: len(to_string(text).encode(codec, errors="replace")),
         "GetPreamble": lambda: bytearray(bom if preamble else b"")},
        to_string=type_name,
    )


def _from_base64(text: Any) -> bytes:
    try:
        return base64.b64decode(to_string(text), validate=True)
    except (binascii.Error, ValueError):
        raise method_error("FromBase64String", [text], "System.FormatException",
                           "The input is not a valid Base-64 string as it contains a non-base 64 character, more "
                           "than two padding characters, or an illegal character among the padding characters. ") \
            from None


def _change_extension(path: Any, extension: Any) -> Any:
    if path is None:
        return None
    text = to_string(path)
    root, ext = ntpath.splitext(text)
    if extension is None:
        return root
    new = to_string(extension)
    if new and not new.startswith("."):
        new = "." + new
    return root + new if ext or not text.endswith(".") else text + new.lstrip(".")


def _path_combine(*parts: Any) -> str:
    out = ""
    for part in parts:
        text = to_string(part)
        if not text:
            continue
        joiner = "" if out.endswith(("\\", "/", ":")) else "\\"
        out = text if ntpath.isabs(text) or not out else out + joiner + text
    return out


def _string_join(separator: Any, *values: Any) -> str:
    items: list[Any] = []
    for value in values:
        items.extend(value if isinstance(value, (list, tuple)) else [value])
    return to_string(separator).join(to_string(v) for v in items)


def _is_null_or_whitespace(value: Any) -> bool:
    return value is None or to_string(value).strip() == ""


def _regex_match(value: Any, pattern: Any, options: Any = None) -> DotNetObject:
    ignore = options is not None and "ignorecase" in to_string(options).lower()
    return match_object(dotnet_regex(to_string(pattern), ignore).search(to_string(value)))


def _regex_matches(value: Any, pattern: Any) -> list[DotNetObject]:
    return [match_object(m) for m in dotnet_regex(to_string(pattern), False).finditer(to_string(value))]


def _now(machine: Machine) -> datetime:
    return machine.now()


PURE_STATICS: dict[str, dict[str, Any]] = {
    "system.convert": {
        "tobase64string": lambda data, offset=0, length=None: base64.b64encode(bytes(data)[
            to_int(offset): None if length is None else to_int(offset) + to_int(length)]).decode("ascii"),
        "frombase64string": _from_base64,
        "toint32": lambda value, base=10: int(to_string(value), to_int(base)) if isinstance(value, str) else
        to_int(value),
        "tostring": lambda value, *rest: to_string(value),
    },
    "system.text.regularexpressions.regex": {
        "match": _regex_match,
        "matches": _regex_matches,
        "ismatch": lambda value, pattern: dotnet_regex(to_string(pattern), False).search(to_string(value)) is not None,
        "escape": lambda text: _regex_escape(to_string(text)),
        "replace": lambda value, pattern, replacement: dotnet_regex(to_string(pattern), False).sub(
            to_string(replacement).replace("\\", "\\\\"), to_string(value)),
    },
    "system.string": {
        "isnullorempty": lambda value: value is None or to_string(value) == "",
        "isnullorwhitespace": _is_null_or_whitespace,
        "join": _string_join,
        "empty": "",
        "concat": lambda *values: "".join(to_string(v) for v in values),
        "format": lambda template, *args: __import__(
            "toolkit.lab.powershell.operators", fromlist=["format_operator"]).format_operator(template, list(args)),
    },
    "system.io.path": {
        "changeextension": _change_extension,
        "getfilename": lambda path: ntpath.basename(to_string(path)) if path is not None else None,
        "getfilenamewithoutextension": lambda path: ntpath.splitext(ntpath.basename(to_string(path)))[0],
        "getextension": lambda path: ntpath.splitext(to_string(path))[1],
        "getdirectoryname": lambda path: ntpath.dirname(to_string(path)) or None,
        "combine": _path_combine,
        "directoryseparatorchar": "\\",
        "isabsolute": lambda path: ntpath.isabs(to_string(path)),
    },
    "system.int32": {"maxvalue": 2**31 - 1, "minvalue": -(2**31), "parse": lambda text: to_int(to_string(text))},
    "system.int64": {"maxvalue": 2**63 - 1, "minvalue": -(2**63)},
    "system.uint32": {"maxvalue": 2**32 - 1, "minvalue": 0},
    "system.double": {"nan": float("nan"), "positiveinfinity": float("inf"), "negativeinfinity": float("-inf"),
                      "maxvalue": 1.7976931348623157e308, "minvalue": -1.7976931348623157e308,
                      "epsilon": 5e-324},
    "system.math": {"min": min, "max": max, "abs": abs, "floor": lambda v: float(int(v // 1)),
                    "ceiling": lambda v: float(-int(-v // 1)), "round": lambda v, d=0: round(v, to_int(d))},
    "system.text.encoding": {name: encoding_object(name) for name in _ENCODINGS},
    "system.environment": {"newline": "\r\n"},
    "system.timespan": {"zero": timedelta(0)},
    "system.guid": {"empty": "00000000-0000-0000-0000-000000000000"},
}


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\*+?|{[()^$.# \t\n\r\f" else c for c in text).replace("\\\n", "\\n")


def static_member(machine: Machine, type_text: str, member: str) -> Any:
    """``[Type]::Member``: the machine's, else a pure type's value or method (a callable), else enum values.

    Raises KeyError when neither knows it.
    """
    full = full_type_name(type_text)
    try:
        return machine.static_member(full, member)
    except KeyError:
        pass
    lowered = full.lower()
    if lowered == "system.datetime":
        if member.lower() == "utcnow":
            return machine.now().astimezone(timezone.utc)
        if member.lower() == "now":
            return machine.now()
        if member.lower() == "parse":
            return lambda text, *rest: convert_to(text, "datetime")
    statics = PURE_STATICS.get(lowered)
    if statics is not None and member.lower() in statics:
        return statics[member.lower()]
    enum = enum_value(full, member)
    if enum is not None:
        return enum
    raise KeyError(f"{full}::{member}")


def new_exception(type_name: str, args: list[Any]) -> ExceptionObject:
    message = to_string(args[0]) if args else f"Exception of type '{type_name}' was thrown."
    inner = args[1] if len(args) > 1 else None
    return ExceptionObject(type_name, message, inner)


def new_error_record(args: list[Any]) -> ErrorRecord:
    """``New-Object System.Management.Automation.ErrorRecord -ArgumentList exception, id, category, target``."""
    if len(args) != 4:
        raise PSError(make_record(
            f'Cannot find an overload for "ErrorRecord" and the argument count: "{len(args)}".',
            "ConstructorInvokedThrowException,Microsoft.PowerShell.Commands.NewObjectCommand", "InvalidOperation",
            "System.Management.Automation.MethodException"))
    exception, error_id, category, target = args
    if not isinstance(exception, ExceptionObject):
        exception = ExceptionObject("System.Exception", to_string(exception))
    category_name = category.name if isinstance(category, DotNetEnum) else to_string(category) or "NotSpecified"
    return ErrorRecord(exception, to_string(error_id), category_name, target)


PURE_CONSTRUCTORS: dict[str, Callable[[list[Any]], Any]] = {
    "system.text.utf8encoding": lambda args: encoding_object("UTF8", preamble=bool(args and args[0] is True)),
    # UnicodeEncoding(bigEndian, byteOrderMark); UTF8Encoding(encoderShouldEmitUTF8Identifier), no BOM by default.
    "system.text.unicodeencoding": lambda args: encoding_object(
        "BigEndianUnicode" if args and args[0] is True else "Unicode", preamble=len(args) < 2 or args[1] is True),
    "system.management.automation.errorrecord": new_error_record,
    "system.collections.hashtable": lambda args: Hashtable(),
    "system.collections.specialized.ordereddictionary": lambda args: Hashtable(ordered=True),
    "system.management.automation.pscustomobject": lambda args: PSObject(),
    "system.management.automation.psobject": lambda args: PSObject(),
    "system.text.regularexpressions.regex": lambda args: RegexObject(to_string(args[0]) if args else ""),
    "system.timespan": lambda args: timedelta(hours=to_int(args[0]), minutes=to_int(args[1]),
                                              seconds=to_int(args[2])) if len(args) == 3 else timedelta(0),
}


def is_exception_type(full: str) -> bool:
    return full.lower().endswith("exception") and full.lower().startswith("system.")


def new_object(machine: Machine, type_text: str, args: list[Any]) -> Any:
    """``New-Object TYPE -ArgumentList args`` / ``[TYPE]::new(args)``: pure types first, else the machine.

    Pure types are the engine's own (lists, exceptions, ErrorRecord); everything else is machine-bound.
    Raises KeyError when neither knows the type.
    """
    created = new_list(type_text)
    if created is not None:
        for item in args[0] if args and isinstance(args[0], (list, tuple)) else []:
            created.append(item)
        return created
    full = full_type_name(type_text)
    if full.endswith("[]"):
        # New-Object T[] -ArgumentList n: a zeroed array of n elements (byte[] is mutable: streams fill it).
        size = to_int(args[0]) if args else 0
        return bytearray(size) if full.lower() == "system.byte[]" else [None] * size
    constructor = PURE_CONSTRUCTORS.get(full.lower())
    if constructor is not None:
        return invoke(lambda *values: constructor(list(values)), ".ctor", args)
    if is_exception_type(full):
        return new_exception(full, args)
    try:
        return machine.new_object(full, args)
    except CommandError as exc:
        # A constructor that throws: MethodInvocationException 'Exception calling ".ctor" ...' (netcall docstring).
        raise method_invocation_error(".ctor", len(args), exc.spec.exception_type, exc.spec.message) from None


def type_not_found(type_text: str, command: str | None = None) -> PSError:
    """``Cannot find type [X]: verify that the assembly containing this type is loaded.``"""
    suffix = f",{command}" if command else ""
    return PSError(make_record(
        f"Cannot find type [{type_text}]: verify that the assembly containing this type is loaded.",
        f"TypeNotFound{suffix}", "InvalidType", "System.Management.Automation.PSArgumentException"))
