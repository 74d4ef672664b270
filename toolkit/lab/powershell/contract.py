"""The boundary between the lab's PowerShell engine and the simulated Windows machine it runs on.

The engine (``toolkit.lab.powershell``) knows the *language*: parsing, scopes, preference variables,
strict mode, pipelines, error records, ``ShouldProcess``, parameter binding. The machine
(``toolkit.lab.windows``) knows *Windows*: accounts, the registry with its WOW64 views, the file system
with owners and DACLs, processes and sessions, CIM classes, services, scheduled tasks, native programs.
They meet only through the types below, so each side can be written and tested on its own.

Fidelity rule for both sides: model what Windows PowerShell 5.1 and Windows do, cite the source in a
comment (the PowerShell engine source in PowerShell/PowerShell, Microsoft's docs, or the fact sheet in
``shared/research/windows-jumpcloud.md`` section 8), never what a jcfix template expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol


# --------------------------------------------------------------------------------------------- objects
class CaseInsensitiveDict(dict[str, Any]):
    """A dict whose keys compare without case (PowerShell member names); keeps the first spelling."""

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__()
        # Inlined __setitem__ and a plain-dict fast path: the engine builds hundreds of these per script run.
        keys: dict[str, str] = {}
        self._keys = keys
        if not items:
            return
        if isinstance(items, dict):
            # Built in C: when no two keys differ only in case, each key is its own first spelling.
            keys = dict(zip(map(str.lower, items), items, strict=True))
            if len(keys) == len(items):
                self._keys = keys
                dict.update(self, items)
                return
            keys = self._keys = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        store = dict.__setitem__
        for key, value in pairs:
            store(self, keys.setdefault(key.lower(), key), value)

    def _canonical(self, key: str) -> str:
        return self._keys.get(key.lower(), key)

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, self._keys.setdefault(key.lower(), key), value)

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self, self._keys.get(key.lower(), key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._keys

    def __delitem__(self, key: str) -> None:
        canonical = self._canonical(key)
        del self._keys[key.lower()]
        super().__delitem__(canonical)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 (self.get would recurse)


class _EmptyMembers(CaseInsensitiveDict):
    """An empty member table that refuses changes (shared by every object without methods)."""

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("this object has no method table to change")

    def __delitem__(self, key: str) -> None:
        raise KeyError(key)


NO_METHODS: CaseInsensitiveDict = _EmptyMembers()
NOTHING_SETTABLE: frozenset[str] = frozenset()


class DotNetObject:
    """A .NET object as a script sees it: type names, properties and methods, all matched without case.

    ``type_names`` is most derived first and ends with ``System.Object`` (what ``-is`` and
    ``$x.PSObject.TypeNames`` see). A property may be a plain value or a zero-argument callable (a getter
    computed on access, for live objects such as a registry key). A method is a Python callable taking the
    script's arguments positionally. ``to_string`` is what ``[string]$x`` and string expansion give.
    Missing members: reading a property that does not exist raises ``KeyError`` (the engine turns it into
    ``$null``, or ``PropertyNotFoundStrict`` under strict mode); calling a missing method raises ``KeyError``
    (the engine turns it into ``MethodNotFound``). ``lab`` holds what the simulated machine attaches to an
    object for its own later use (an ACL's state, a CIM instance's class): never a script-visible member.
    """

    def __init__(
        self,
        type_names: Iterable[str],
        properties: Mapping[str, Any] | None = None,
        methods: Mapping[str, Callable[..., Any]] | None = None,
        to_string: Callable[[], str] | str | None = None,
        settable: Iterable[str] = (),
    ) -> None:
        names = list(type_names)
        if not names or names[-1] != "System.Object":
            names.append("System.Object")
        self.type_names: tuple[str, ...] = tuple(names)
        self.properties = CaseInsensitiveDict(properties or {})
        # Most objects have no methods or settable properties: share one empty, read-only value for them.
        self.methods = CaseInsensitiveDict(methods) if methods else NO_METHODS
        self._to_string = to_string
        self.settable = frozenset(name.lower() for name in settable) if settable else NOTHING_SETTABLE
        self.lab: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        value = self.properties[name]  # KeyError: no such property
        return value() if callable(value) else value

    def set(self, name: str, value: Any) -> None:
        if name.lower() not in self.settable:
            raise KeyError(name)
        self.properties[name] = value

    def call(self, name: str, *args: Any) -> Any:
        return self.methods[name](*args)

    def __str__(self) -> str:
        if callable(self._to_string):
            return self._to_string()
        if isinstance(self._to_string, str):
            return self._to_string
        return self.type_names[0]

    def __repr__(self) -> str:
        return f"<{self.type_names[0]} {dict(self.properties)!r}>"


@dataclass(frozen=True)
class DotNetEnum:
    """An enum value: ``[string]`` gives ``name``; 5.1's ``ConvertTo-Json`` writes ``value`` (a number)."""

    type_name: str
    name: str
    value: int

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class NativeResult:
    """What a native program did: its exit code and the lines it wrote to stdout and stderr."""

    exit_code: int
    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class ErrorSpec:
    """An error record as a command raises or writes it.

    Attributes:
        message: ``$_.Exception.Message``.
        error_id: the id before the command name in ``FullyQualifiedErrorId`` (``GetItemPropertyNotFound``...);
            the engine appends ``,<command type name>`` as PowerShell does.
        category: the ``ErrorCategory`` name (``ObjectNotFound``, ``PermissionDenied``...).
        exception_type: the .NET exception type name.
        target: the target object (for ``$_.TargetObject``).
    """

    message: str
    error_id: str = "NotSpecified"
    category: str = "NotSpecified"
    exception_type: str = "System.Exception"
    target: Any = None


class CommandError(Exception):
    """Raised by a command implementation for a terminating error (``ThrowTerminatingError``)."""

    def __init__(self, spec: ErrorSpec) -> None:
        super().__init__(spec.message)
        self.spec = spec


# -------------------------------------------------------------------------------------------- commands
ParamType = Literal[
    "object", "string", "string[]", "int", "long", "bool", "switch", "scriptblock", "hashtable", "datetime",
    "timespan", "securestring", "object[]", "char[]",
]


@dataclass(frozen=True)
class CommandParameter:
    """One parameter of a command (as ``Get-Command X -Syntax`` would show it).

    ``position`` is the positional index (None: named only). ``pipeline``: takes pipeline input by value.
    ``aliases`` are accepted names besides ``name``; prefixes of names are resolved by the engine as
    PowerShell does (any unambiguous prefix). ``sets``: the parameter sets it belongs to (empty: all).
    """

    name: str
    type: ParamType = "object"
    position: int | None = None
    mandatory: bool = False
    pipeline: bool = False
    aliases: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandSpec:
    """A command the machine (or the engine) provides.

    Attributes:
        name: ``Verb-Noun`` as Windows spells it.
        module: the module it comes from (``Microsoft.PowerShell.LocalAccounts``, ``ScheduledTasks``...).
        kind: ``cmdlet`` (compiled: sees the caller's preference variables through its session state),
            ``cdxml`` (a CDXML function in its module's scope: sees only preferences passed as common
            parameters, not a caller's script-scope ``$ErrorActionPreference``/``$WhatIfPreference``),
            ``application`` (a native program; see :meth:`Machine.run_native`).
        parameters: its parameters; the engine binds arguments to them and to the common parameters.
        supports_should_process: whether it takes ``-WhatIf``/``-Confirm`` (and so is reached by
            ``$WhatIfPreference``).
        invoke: runs the command once for the whole pipeline input (see :class:`CommandCall`) and returns
            or yields its output objects, in order. It raises :class:`CommandError` for a terminating error
            and calls ``call.write_error`` for non-terminating ones.
        source: where its behaviour is documented (a URL or a source path), for reviewers.
    """

    name: str
    module: str
    kind: Literal["cmdlet", "cdxml", "application"]
    parameters: tuple[CommandParameter, ...]
    supports_should_process: bool
    invoke: Callable[[CommandCall], Iterable[Any] | None]
    source: str = ""


class CommandCall(Protocol):
    """What a command implementation receives for one invocation.

    Attributes:
        machine: the simulated Windows machine.
        bound: the bound parameters by canonical name (switches as bool); absent ones are missing.
        input: the pipeline input objects (already enumerated by the engine), or None when the command is
            not fed by a pipeline.
        whatif: the effective WhatIf for this command (its own ``-WhatIf``, else, for a ``cmdlet`` that
            supports ShouldProcess, the caller's ``$WhatIfPreference``; a ``cdxml`` command sees only an
            explicit ``-WhatIf``).
        error_action: the effective ErrorAction (``Stop``, ``Continue``, ``SilentlyContinue``, ``Ignore``);
            for a ``cdxml`` command only an explicit ``-ErrorAction`` counts, else ``Continue``.
    """

    machine: Machine
    bound: Mapping[str, Any]
    input: list[Any] | None
    whatif: bool
    error_action: str

    def should_process(self, target: str, action: str) -> bool:
        """PowerShell's ShouldProcess: False (and a 'What if:' line) under WhatIf, else True."""

    def write_error(self, spec: ErrorSpec) -> None:
        """A non-terminating error: the engine records it, or stops the pipeline under ``Stop``."""

    def write_warning(self, message: str) -> None:
        """The warning stream."""


# ------------------------------------------------------------------------------------------- the machine
class Machine(Protocol):
    """The simulated Windows machine a script runs on, as the engine needs it.

    The engine asks the machine for the commands it has (:meth:`commands`, which decides for example that
    ``Get-LocalUser`` is missing in a 32-bit process), for environment variables as *this process* sees
    them (WOW64: ``ProgramFiles`` is ``C:\\Program Files (x86)`` in a 32-bit process), for the static
    members and constructors of machine-bound .NET types (``[IO.Directory]``, ``[Microsoft.Win32.RegistryKey]``,
    ``[Environment]``, ``New-Object System.Security.AccessControl.DirectorySecurity``...), and to run native
    programs. Pure .NET types (``[Convert]``, ``[regex]``, ``[string]``, ``[datetime]``, generic lists,
    exceptions, ``ErrorRecord``...) belong to the engine.
    """

    def commands(self) -> Mapping[str, CommandSpec]:
        """The commands this machine has, keyed by lower-cased name."""

    def environment(self) -> Mapping[str, str]:
        """Environment variables as this PowerShell process sees them (names compared without case)."""

    def automatic_variables(self) -> Mapping[str, Any]:
        """``PSHOME``, ``PSVersionTable`` (a mapping), ``Host``... as this process sees them."""

    def static_member(self, type_name: str, member: str) -> Any:
        """``[Type]::Member`` for a machine-bound type: a value, or a callable for a method.

        Raises ``KeyError`` when the machine does not provide that type or member (the engine then tries
        its own pure types).
        """

    def new_object(self, type_name: str, args: list[Any]) -> Any:
        """``New-Object TYPE -ArgumentList args`` / ``[TYPE]::new(args)`` for a machine-bound type.

        Raises ``KeyError`` when the machine does not provide that type.
        """

    def run_native(self, path: str, args: list[str]) -> NativeResult:
        """Run a native program (``& $path args``) as this session's user, as Windows would."""

    def now(self) -> datetime:
        """The machine's clock (UTC-aware)."""

    # Optional: ``sleep(seconds)``. When the machine has it, ``Start-Sleep`` calls it (a virtual clock, and a
    # chance for the machine to run what happens meanwhile, such as a scheduled task finishing); else
    # ``Start-Sleep`` returns at once. Not part of the Protocol so machines without a clock still conform.


# A convenience for command implementations that yield lazily.
Output = Iterator[Any]

__all__ = [
    "CaseInsensitiveDict",
    "CommandCall",
    "CommandError",
    "CommandParameter",
    "CommandSpec",
    "DotNetEnum",
    "DotNetObject",
    "ErrorSpec",
    "Machine",
    "NativeResult",
    "Output",
]
