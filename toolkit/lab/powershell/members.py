"""Instance members: ``$x.Prop``, ``$x.Prop = v``, ``$x.Method(args)``, ``$x[i]``, ``$x.PSObject``.

Rules (engine binders ``PSGetMemberBinder``/``PSInvokeMemberBinder``, about_Hash_Tables, about_Properties):

* a hashtable's keys come before its own properties (PowerShell/PowerShell#7758, "by design");
* an array without the member enumerates it over its elements (member enumeration, PowerShell 3+);
* a missing property is ``$null``, or under ``Set-StrictMode -Version 2``+ ``PropertyNotFoundStrict``
  ("The property 'X' cannot be found on this object. Verify that the property exists."), for hashtable keys
  too (lukesampson/psutils#22 shows the 5.1 message for a missing key); ``$null.X`` likewise;
* a method call on ``$null`` is always ``InvokeMethodOnNull``; a missing method is ``MethodNotFound``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from toolkit.lab.powershell.contract import CaseInsensitiveDict, DotNetEnum, DotNetObject
from toolkit.lab.powershell.convert import to_int
from toolkit.lab.powershell.dotnet import GroupCollection, TypeObject
from toolkit.lab.powershell.errors import PSError, make_record
from toolkit.lab.powershell.netcall import get_property
from toolkit.lab.powershell.values import (
    Char,
    PSObject,
    PSProperty,
    to_string,
    type_name,
    type_names,
    unwrap,
)

_MISSING = object()


def property_not_found(name: str) -> PSError:
    return PSError(make_record(
        f"The property '{name}' cannot be found on this object. Verify that the property exists.",
        "PropertyNotFoundStrict", "NotSpecified", "System.Management.Automation.PropertyNotFoundException"))


def null_method(name: str) -> PSError:
    return PSError(make_record("You cannot call a method on a null-valued expression.", "InvokeMethodOnNull",
                               "InvalidOperation", "System.Management.Automation.RuntimeException"))


def method_not_found(value: Any, name: str) -> PSError:
    return PSError(make_record(
        f"Method invocation failed because [{type_name(value)}] does not contain a method named '{name}'.",
        "MethodNotFound", "InvalidOperation", "System.Management.Automation.RuntimeException"))


class PropertyCollection(list[Any]):
    """``$x.PSObject.Properties``: enumerable, and ``['name']`` gives one property or ``$null``."""

    def lookup(self, key: Any) -> Any:
        wanted = to_string(key).lower()
        for prop in self:
            if prop.name.lower() == wanted:
                return prop
        return None


def properties_of(value: Any) -> PropertyCollection:
    """The adapted properties of a value, as ``.PSObject.Properties`` lists them."""
    if isinstance(value, PSObject):
        return PropertyCollection(PSProperty(k, v) for k, v in value.props.items())
    if isinstance(value, DotNetObject):
        return PropertyCollection(PSProperty(k, value.get(k), "Property") for k in list(value.properties))
    if isinstance(value, dict):
        # A hashtable's PSObject shows the .NET type's properties, not its keys.
        return PropertyCollection(PSProperty(k, v, "Property") for k, v in (
            ("IsReadOnly", False), ("IsFixedSize", False), ("IsSynchronized", False), ("Keys", list(value.keys())),
            ("Values", list(value.values())), ("SyncRoot", value), ("Count", len(value))))
    if isinstance(value, str):
        return PropertyCollection([PSProperty("Length", len(value), "Property")])
    if isinstance(value, (list, tuple)):
        return PropertyCollection([PSProperty("Count", len(value), "Property"),
                                   PSProperty("Length", len(value), "Property")])
    return PropertyCollection()


def psobject_view(value: Any) -> DotNetObject:
    return DotNetObject(["System.Management.Automation.PSObject"],
                        {"Properties": lambda: properties_of(value), "TypeNames": list(type_names(value)),
                         "BaseObject": value, "ImmediateBaseObject": value})


def _datetime_property(value: datetime, name: str) -> Any:
    lowered = name.lower()
    simple = {"year": value.year, "month": value.month, "day": value.day, "hour": value.hour,
              "minute": value.minute, "second": value.second, "millisecond": value.microsecond // 1000}
    if lowered in simple:
        return simple[lowered]
    if lowered == "kind":
        return DotNetEnum("System.DateTimeKind", "Utc" if value.utcoffset() == timedelta(0) else "Local",
                          1 if value.utcoffset() == timedelta(0) else 2)
    if lowered == "date":
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    if lowered == "ticks":
        epoch = datetime(1, 1, 1, tzinfo=value.tzinfo)
        delta = value - epoch
        return (delta.days * 86400 + delta.seconds) * 10**7 + delta.microseconds * 10
    if lowered == "dayofweek":
        names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        return DotNetEnum("System.DayOfWeek", names[value.weekday()], (value.weekday() + 1) % 7)
    return _MISSING


def _timespan_property(value: timedelta, name: str) -> Any:
    total = value.total_seconds()
    table = {"totalseconds": total, "totalmilliseconds": total * 1000, "totalminutes": total / 60,
             "totalhours": total / 3600, "totaldays": total / 86400, "days": value.days,
             "hours": value.seconds // 3600, "minutes": value.seconds // 60 % 60, "seconds": value.seconds % 60,
             "milliseconds": value.microseconds // 1000}
    return table.get(name.lower(), _MISSING)


def _raw_member(value: Any, name: str) -> Any:
    """The member's value, or ``_MISSING``."""
    lowered = name.lower()
    if isinstance(value, dict):
        found = dict_get(value, name)
        if found is not _MISSING:
            return found
        if lowered == "count":
            return len(value)
        if lowered == "keys":
            return list(value.keys())
        if lowered == "values":
            return list(value.values())
        return _intrinsic(value, lowered)
    if isinstance(value, PSObject):
        return value.props[name] if name in value.props else _intrinsic(value, lowered)
    if isinstance(value, DotNetObject):
        if name not in value.properties:
            return _intrinsic(value, lowered)
        raw = value.properties[name]
        # A computed property: what its getter throws is wrapped as PowerShell does (netcall.get_property).
        return get_property(raw, name) if callable(raw) else raw
    if isinstance(value, str):
        return len(value) if lowered == "length" else _intrinsic(value, lowered)
    if isinstance(value, (list, tuple, bytes, bytearray)):
        if lowered in ("count", "length", "longlength"):
            return len(value)
        if lowered == "psobject":
            return psobject_view(value)
        # Member enumeration: the member of each element that has it.
        found = [m for m in (_raw_member(item, name) for item in value) if m is not _MISSING]
        if not found and value:
            return _MISSING
        return unwrap(found)
    if isinstance(value, datetime):
        found = _datetime_property(value, name)
        return found if found is not _MISSING else _intrinsic(value, lowered)
    if isinstance(value, timedelta):
        found = _timespan_property(value, name)
        return found if found is not _MISSING else _intrinsic(value, lowered)
    if isinstance(value, PSProperty):
        table = {"name": value.name, "value": value.value, "membertype": value.member_type,
                 "typenameofvalue": type_name(value.value) if value.value is not None else "System.Object"}
        return table.get(lowered, _MISSING)
    if isinstance(value, DotNetEnum):
        if lowered == "value__":
            return value.value
        return _intrinsic(value, lowered)
    if isinstance(value, TypeObject):
        return {"fullname": value.full_name, "name": value.full_name.rsplit(".", 1)[-1]}.get(lowered, _MISSING)
    return _intrinsic(value, lowered)


def _intrinsic(value: Any, lowered: str) -> Any:
    if lowered == "psobject":
        return psobject_view(value)
    return _MISSING


def dict_get(value: dict[Any, Any], name: Any) -> Any:
    """A dictionary entry by key (keys compare without case, as PowerShell's hashtables do), or ``_MISSING``."""
    if isinstance(value, CaseInsensitiveDict):
        return value.get(name, _MISSING)
    found = value.get(name, _MISSING)
    if found is not _MISSING:
        return found
    if isinstance(name, str):
        for key, item in value.items():
            if isinstance(key, str) and key.lower() == name.lower():
                return item
    return _MISSING


def get_member(value: Any, name: str, strict: int) -> Any:
    """``$value.name`` (see the module docstring for missing members and strict mode)."""
    if value is None:
        if strict >= 2:
            raise property_not_found(name)
        # $null has an intrinsic Count/Length of 0 (PowerShell 3+, about_Properties).
        return 0 if name.lower() in ("count", "length") else None
    found = _raw_member(value, name)
    if found is _MISSING:
        if strict >= 2:
            raise property_not_found(name)
        if name.lower() in ("count", "length"):
            # Scalars have an intrinsic Count/Length of 1 (PowerShell 3+, about_Properties); under strict mode
            # 5.1 throws instead (PowerShell/PowerShell#2798, fixed only in 7.x: UNCONFIRMED for every 5.1 build).
            return 1
        return None
    return found


def set_member(value: Any, name: str, new: Any) -> None:
    """``$value.name = new``."""
    if isinstance(value, dict):
        value[name] = new
        return
    if isinstance(value, PSObject):
        if name not in value.props:
            raise _cannot_set(name)
        value.props[name] = new
        return
    if isinstance(value, DotNetObject):
        try:
            value.set(name, new)
        except KeyError:
            raise _cannot_set(name) from None
        return
    if value is None:
        raise PSError(make_record(f"The property '{name}' cannot be found on this object. Verify that the property "
                                  "exists and can be set.", "PropertyNotFound", "InvalidOperation"))
    raise _cannot_set(name)


def _cannot_set(name: str) -> PSError:
    return PSError(make_record(
        f"The property '{name}' cannot be found on this object. Verify that the property exists and can be set.",
        "PropertyAssignmentException", "InvalidOperation",
        "System.Management.Automation.SetValueInvocationException"))


def index(value: Any, key: Any, strict: int) -> Any:
    """``$value[key]``: arrays (negative and multiple indexes), strings, hashtables, property collections."""
    if value is None:
        raise PSError(make_record("Cannot index into a null array.", "NullArray", "InvalidOperation"))
    if isinstance(value, dict):
        keys = key if isinstance(key, (list, tuple)) else [key]
        found = [dict_get(value, k if isinstance(k, str) else to_string(k)) for k in keys]
        found = [None if f is _MISSING else f for f in found]
        return found if isinstance(key, (list, tuple)) else found[0]
    if isinstance(value, (PropertyCollection, GroupCollection)):
        return value.lookup(key)
    if isinstance(value, DotNetObject) and "get_Item" in value.methods:
        return value.call("get_Item", key)
    if isinstance(value, (list, tuple, str, bytes, bytearray)):
        if isinstance(key, (list, tuple)):
            return [item for item in (_one_index(value, k, strict) for k in key) if item is not None]
        return _one_index(value, key, strict)
    # Any other scalar: $x[0] is the object itself (PowerShell 3+), other indexes $null (strict 3: an error).
    if to_int(key) in (0, -1):
        return value
    if strict >= 3:
        raise PSError(make_record("Index was outside the bounds of the array.", "System.IndexOutOfRangeException",
                                  "NotSpecified", "System.IndexOutOfRangeException"))
    return None


def _one_index(value: Any, key: Any, strict: int) -> Any:
    position = to_int(key)
    size = len(value)
    if -size <= position < size:
        item = value[position]
        return Char(item) if isinstance(value, str) else item
    if strict >= 3:
        raise PSError(make_record("Index was outside the bounds of the array.", "System.IndexOutOfRangeException",
                                  "NotSpecified", "System.IndexOutOfRangeException"))
    return None


def set_index(value: Any, key: Any, new: Any) -> None:
    """``$value[key] = new``."""
    if isinstance(value, dict):
        value[to_string(key) if not isinstance(key, str) else key] = new
        return
    if isinstance(value, list):
        position = to_int(key)
        if not -len(value) <= position < len(value):
            raise PSError(make_record("Index was outside the bounds of the array.", "System.IndexOutOfRangeException",
                                      "NotSpecified", "System.IndexOutOfRangeException"))
        value[position] = new
        return
    if value is None:
        raise PSError(make_record("Cannot index into a null array.", "NullArray", "InvalidOperation"))
    raise PSError(make_record(f"Unable to index into an object of type {type_name(value)}.", "CannotIndex",
                              "InvalidOperation"))
